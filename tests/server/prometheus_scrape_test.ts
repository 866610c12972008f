/**
 * A real Prometheus (Debian package `prometheus`) scrapes a real yychat with
 * the scrape config of docs/prometheus/prometheus.yml (Bearer key from a
 * file), and its query API then answers with yychat's series.
 */
import assert from "node:assert/strict";
import { freePort } from "../helpers/server_process.ts";
import { startTestServer } from "../helpers/test_server.ts";
import { TestClient } from "../helpers/ws_client.ts";

const PROMETHEUS = "/usr/bin/prometheus";
const hasPrometheus = (() => {
  try {
    return Deno.statSync(PROMETHEUS).isFile;
  } catch {
    return false;
  }
})();
if (!hasPrometheus) {
  console.warn(
    "prometheus not found: the real-scrape test is IGNORED. " +
      "Install it with `apt-get install prometheus` (.ci/run does).",
  );
}

const KEY = "sk-prometheus-scrape-1";

/** One instant query; the first sample's value, or undefined while there is none. */
async function query(api: string, promql: string): Promise<number | undefined> {
  try {
    const res = await fetch(`${api}/api/v1/query?query=${encodeURIComponent(promql)}`);
    const body = await res.json();
    const first = body?.data?.result?.[0]?.value?.[1];
    return first === undefined ? undefined : Number(first);
  } catch {
    return undefined; // not listening yet
  }
}

Deno.test({
  name: "Prometheus scrapes /metrics with the documented config and a Bearer key file",
  ignore: !hasPrometheus,
  fn: async () => {
    const server = await startTestServer({ LOG_LEVEL: "silent", YYCHAT_API_KEY: KEY });
    const dir = await Deno.makeTempDir({ prefix: "yychat-prometheus-" });
    let child: Deno.ChildProcess | undefined;
    try {
      const { client } = await TestClient.connect(server.ws, ["yychat", `bearer.${KEY}`]);
      client.send({ type: "ping" });
      await client.next();
      const documented = await Deno.readTextFile(
        new URL("../../docs/prometheus/prometheus.yml", import.meta.url),
      );
      // The documented config, pointed at this server and scraping every second.
      const config = documented
        .replace("scrape_interval: 15s", "scrape_interval: 1s")
        .replace('"127.0.0.1:9800"', `"${new URL(server.http).host}"`)
        .replace(/rule_files:\n(\s+- .*\n)+/, "");
      assert.notEqual(config, documented);
      await Deno.writeTextFile(`${dir}/prometheus.yml`, config);
      await Deno.writeTextFile(`${dir}/yychat.key`, `${KEY}\n`);
      const port = freePort();
      child = new Deno.Command(PROMETHEUS, {
        args: [
          `--config.file=${dir}/prometheus.yml`,
          `--storage.tsdb.path=${dir}/data`,
          `--web.listen-address=127.0.0.1:${port}`,
        ],
        stdin: "null",
        stdout: "null",
        stderr: "null",
      }).spawn();
      const api = `http://127.0.0.1:${port}`;
      let accepted: number | undefined;
      let up: number | undefined;
      const deadline = Date.now() + 60_000;
      while (Date.now() < deadline) {
        up = await query(api, 'up{job="yychat"}');
        accepted = await query(api, 'yychat_ws_connections_accepted_total{job="yychat"}');
        if (up === 1 && accepted !== undefined) break;
        await new Promise((r) => setTimeout(r, 250));
      }
      assert.equal(up, 1, "Prometheus reached /metrics with the key");
      assert.equal(accepted, 1);
      assert.equal(await query(api, 'yychat_ws_messages_total{type="ping"}'), 1);
      await client.close();
    } finally {
      if (child) {
        child.kill("SIGTERM");
        await child.status;
      }
      await server.close();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
