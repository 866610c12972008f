#!/usr/bin/env bash
# Installs every real peer the test suite talks to, where missing: Debian
# packages (needs root or sudo, and the Debian archive) and the npm MCP
# server the MCP tests start. Safe to run again: what is there is skipped.
# Tests whose peer is still missing are ignored, loudly, never passed.
#   deno task peers        (or: bash scripts/install_peers.sh)
set -uo pipefail

SUDO=()
[ "$(id -u)" -eq 0 ] || SUDO=(sudo)
apt_updated=""
apt_install() {
  [ -n "$apt_updated" ] || { "${SUDO[@]}" apt-get update -qq >/dev/null 2>&1; apt_updated=1; }
  echo "installing $*"
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null 2>&1 ||
    echo "warning: could not install $*; the tests that need it will be ignored"
}

# The stage-1 Python client, and the browser.
/usr/bin/python3 -c "import websockets" >/dev/null 2>&1 || apt_install python3-websockets
[ -x /usr/bin/chromium ] || apt_install chromium
# promtool checks /metrics; a real Prometheus scrapes yychat.
command -v promtool >/dev/null 2>&1 || apt_install prometheus
# Private PostgreSQL 15 and Redis servers (memory and cluster tests), nginx in front of a cluster.
{ [ -x /usr/lib/postgresql/15/bin/initdb ] && [ -x /usr/lib/postgresql/15/bin/pg_ctl ]; } ||
  apt_install postgresql
[ -x /usr/bin/redis-server ] || apt_install redis-server
[ -x /usr/sbin/nginx ] || apt_install nginx
# The offline speech engines (voice tests; the audio routes answer 503 without them).
command -v espeak-ng >/dev/null 2>&1 || apt_install espeak-ng
command -v pocketsphinx_continuous >/dev/null 2>&1 || apt_install pocketsphinx
[ -d /usr/share/pocketsphinx/model/en-us ] || apt_install pocketsphinx-en-us
command -v sox >/dev/null 2>&1 || apt_install sox
sox -h 2>/dev/null | grep -q 'AUDIO FILE FORMATS:.* mp3' || apt_install libsox-fmt-mp3

# Real MCP servers used by the MCP tests, fetched once so test time stays bounded.
for pkg in @modelcontextprotocol/server-everything; do
  timeout 300 npm exec -y --package="$pkg" -- true >/dev/null 2>&1 ||
    echo "warning: could not prefetch $pkg"
done
