/**
 * The operator page (`GET /dashboard`): polls `GET /metrics` (Prometheus
 * text, parsed here), `GET /ws/status` and `GET /v1/mcp/servers` every 2 s
 * (the key as Bearer when one is remembered) and shows connections,
 * messages/s, running replies, time to first chunk, errors by code, MCP
 * servers and cluster nodes. A metric the server does not export shows as
 * "—"; without `/metrics` the page falls back to `/ws/status`.
 * @module
 */
import { ApiError, apiFetch, apiJson, loadKey, saveKey } from "./api.js";
import { drawChart } from "./chart.js";
import { describeError, errorLine } from "./error_text.js";
import { KeyDialog } from "./key_dialog.js";
import {
  byLabel,
  histogram,
  histogramDelta,
  parsePrometheus,
  quantile,
  series,
  total,
} from "./prometheus.js";
import { setUpTheme } from "./theme.js";

const POLL_MS = 2000;
const HIDDEN_POLL_MS = 10_000;
const CHART_WINDOW_MS = 180_000;
const TTFC_WINDOW_MS = 30_000;
const TILE_WINDOW_MS = 60_000;
const TTFC = "yychat_time_to_first_chunk_seconds";

/** @param {string} id */
const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));

let key = loadKey();

/**
 * One poll's figures, kept for rates and windows (bounded to the chart window).
 * @typedef {{t: number, messages?: number, ttfc?: import("./prometheus.js").Histogram}} Point
 */
/** @type {Point[]} */
const history = [];
/** @type {{t: number, v: number | null}[]} */
const rateSeries = [];
/** @type {{t: number, v: number | null}[]} */
const p50Series = [];
/** @type {{t: number, v: number | null}[]} */
const p95Series = [];

/** @param {string | undefined} newKey */
function useKey(newKey) {
  key = newKey || undefined;
  saveKey(key);
  pollNow();
}

const keyDialog = new KeyDialog({ onSave: useKey, onForget: () => useKey(undefined) });
$("key-button").addEventListener("click", () => keyDialog.open(key));
setUpTheme(/** @type {HTMLButtonElement} */ ($("theme")));

// ------------------------------------------------------------------ poll

/** @type {ReturnType<typeof setTimeout> | undefined} */
let timer;
let polling = false;

function pollNow() {
  clearTimeout(timer);
  poll();
}

async function poll() {
  if (polling) return;
  polling = true;
  try {
    const [metrics, status, mcp] = await Promise.allSettled([
      apiFetch("/metrics", { key, accept: "text/plain" }).then(async (r) =>
        parsePrometheus(await r.text())
      ),
      apiJson("/ws/status"),
      apiJson("/v1/mcp/servers", { key }),
    ]);
    render(
      metrics.status === "fulfilled" ? metrics.value : asApiError(metrics.reason),
      status.status === "fulfilled" ? status.value?.data : asApiError(status.reason),
      mcp.status === "fulfilled" ? mcp.value : asApiError(mcp.reason),
    );
  } catch (err) {
    console.error("dashboard: render failed", err);
  } finally {
    polling = false;
    timer = setTimeout(poll, document.hidden ? HIDDEN_POLL_MS : POLL_MS);
  }
}

document.addEventListener("visibilitychange", () => {
  if (!document.hidden) pollNow();
});

/** @param {unknown} err */
function asApiError(err) {
  return err instanceof ApiError ? err : new ApiError(0, "network_error", String(err));
}

// ---------------------------------------------------------------- render

/**
 * @param {import("./prometheus.js").Metrics | ApiError} metricsOr
 * @param {Record<string, any> | ApiError} statusOr
 * @param {Record<string, any> | ApiError} mcpOr
 */
function render(metricsOr, statusOr, mcpOr) {
  const now = Date.now();
  const metrics = metricsOr instanceof ApiError ? undefined : metricsOr;
  const status = statusOr instanceof ApiError || !statusOr ? undefined : statusOr;

  // Which problems to tell the operator about, most important first.
  const authError = [metricsOr, mcpOr].find((r) => r instanceof ApiError && r.status === 401);
  const down = statusOr instanceof ApiError && statusOr.status === 0 ? statusOr : undefined;
  showProblem(down ?? authError);
  if (authError && !keyDialog.isOpen && !problemShownFor.has(String(key))) {
    problemShownFor.add(String(key));
    keyDialog.open(key, describeError(authError.code, authError.message));
  }

  const conn = $("conn");
  conn.dataset.state = down ? "failed" : "open";
  $("conn-text").textContent = down
    ? "Server unreachable"
    : `Live · updated ${new Date(now).toLocaleTimeString()}`;

  // History for rates and windows.
  const messages = metrics ? total(metrics, "yychat_ws_messages_total") : undefined;
  /** @type {Point} */
  const point = {
    t: now,
    messages: messages ??
      (typeof status?.total_messages === "number" ? status.total_messages : undefined),
    ttfc: metrics ? histogram(metrics, TTFC) : undefined,
  };
  const prev = history.at(-1);
  history.push(point);
  while (history.length > 0 && history[0].t < now - CHART_WINDOW_MS - TILE_WINDOW_MS) {
    history.shift();
  }

  let rate = null;
  if (
    prev && prev.messages !== undefined && point.messages !== undefined &&
    point.messages >= prev.messages
  ) {
    rate = (point.messages - prev.messages) / ((point.t - prev.t) / 1000);
  }
  pushBounded(rateSeries, { t: now, v: rate }, now);
  const windowTtfc = ttfcOver(TTFC_WINDOW_MS, point);
  pushBounded(p50Series, { t: now, v: windowTtfc ? quantile(0.5, windowTtfc) ?? null : null }, now);
  pushBounded(
    p95Series,
    { t: now, v: windowTtfc ? quantile(0.95, windowTtfc) ?? null : null },
    now,
  );

  // Tiles.
  const connections = metrics ? total(metrics, "yychat_ws_connections") : undefined;
  const accepted = metrics ? total(metrics, "yychat_ws_connections_accepted_total") : undefined;
  setTile(
    "connections",
    connections ?? status?.active_connections,
    [
      typeof status?.max_connections === "number" ? `of ${fmtInt(status.max_connections)} max` : "",
      accepted !== undefined ? `${fmtInt(accepted)} accepted` : "",
    ],
  );
  setTile("rate", rate === null ? undefined : rate, [
    point.messages !== undefined ? `${fmtInt(point.messages)} in all` : "",
  ], fmtRate);
  const generations = metrics ? total(metrics, "yychat_generations_total") : undefined;
  setTile("running", metrics ? total(metrics, "yychat_generations_running") : undefined, [
    generations !== undefined ? `${fmtInt(generations)} in all` : "",
  ]);
  const tileTtfc = ttfcOver(TILE_WINDOW_MS, point);
  const recent = tileTtfc && tileTtfc.count > 0;
  const shown = recent ? tileTtfc : point.ttfc;
  const p50 = shown ? quantile(0.5, shown) : undefined;
  const p95 = shown ? quantile(0.95, shown) : undefined;
  setTile("ttfc", p50, [
    p95 !== undefined ? `p95 ${fmtSeconds(p95)}` : "",
    shown && shown.count > 0
      ? (recent ? `${fmtInt(shown.count)} in the last minute` : "all time")
      : "",
  ], fmtSeconds);
  const tokensIn = metrics ? total(metrics, "yychat_tokens_total", { direction: "in" }) : undefined;
  const tokensOut = metrics
    ? total(metrics, "yychat_tokens_total", { direction: "out" })
    : undefined;
  setTile("tokens", tokensOut, [
    tokensIn !== undefined ? `out · ${fmtInt(tokensIn)} in` : tokensOut !== undefined ? "out" : "",
  ]);
  const nodes = (metrics ? total(metrics, "yychat_cluster_nodes") : undefined) ??
    (typeof status?.nodes === "number" ? status.nodes : undefined);
  setTile("nodes", nodes, [nodes === undefined ? "single node" : "in the cluster"]);

  // Charts.
  drawChart(/** @type {SVGSVGElement} */ (/** @type {unknown} */ ($("chart-rate"))), [rateSeries], {
    windowMs: CHART_WINDOW_MS,
    format: fmtRate,
    label: "Messages per second",
    scale: $("scale-rate"),
  });
  drawChart(
    /** @type {SVGSVGElement} */ (/** @type {unknown} */ ($("chart-ttfc"))),
    [p50Series, p95Series],
    {
      windowMs: CHART_WINDOW_MS,
      format: fmtSeconds,
      label: "Time to first chunk p50, p95",
      scale: $("scale-ttfc"),
    },
  );

  // Tables.
  renderErrors(metrics, metricsOr);
  renderMcp(mcpOr, metrics);
  renderOutcomes(metrics, metricsOr);
  renderTypes(metrics, metricsOr);
  renderHttp(metrics, metricsOr);
  renderNodes(status, nodes);

  const uptime = typeof status?.uptime === "number"
    ? ` · server up ${fmtDuration(status.uptime)}`
    : "";
  const source = metrics
    ? "Sources: /metrics, /ws/status, /v1/mcp/servers"
    : `Sources: /ws/status, /v1/mcp/servers (/metrics: ${metricsProblem(metricsOr)})`;
  $("sources").textContent = `${source}. Updated every ${POLL_MS / 1000} s${uptime}.`;
}

/** Keys for which the dialog was opened automatically (once each). */
const problemShownFor = new Set();

/** @param {ApiError | undefined} problem */
function showProblem(problem) {
  const banner = $("banner");
  if (!problem) {
    banner.hidden = true;
    return;
  }
  banner.replaceChildren(errorLine(problem.code, problem.message));
  banner.hidden = false;
}

/**
 * Observations of time to first chunk within the last `windowMs`.
 * @param {number} windowMs
 * @param {Point} point
 */
function ttfcOver(windowMs, point) {
  if (!point.ttfc) return undefined;
  const base = history.findLast((p) => p.t <= point.t - windowMs) ?? history[0];
  if (!base || base === point) return undefined;
  return histogramDelta(point.ttfc, base.ttfc);
}

/**
 * @param {{t: number, v: number | null}[]} list
 * @param {{t: number, v: number | null}} entry
 * @param {number} now
 */
function pushBounded(list, entry, now) {
  list.push(entry);
  while (list.length > 0 && list[0].t < now - CHART_WINDOW_MS) list.shift();
}

/**
 * @param {string} id
 * @param {number | undefined} value
 * @param {string[]} sub
 * @param {(v: number) => string} [format]
 */
function setTile(id, value, sub, format = fmtInt) {
  $(`v-${id}`).textContent = value === undefined || value === null || Number.isNaN(value)
    ? "—"
    : format(value);
  $(`s-${id}`).textContent = sub.filter(Boolean).join(" · ") || "\u00a0";
}

/**
 * @param {import("./prometheus.js").Metrics | ApiError} metricsOr
 */
function metricsProblem(metricsOr) {
  if (!(metricsOr instanceof ApiError)) return "ok";
  if (metricsOr.status === 404) return "not offered by this server";
  if (metricsOr.status === 401) return "needs the key";
  return metricsOr.code;
}

/**
 * @param {string} id
 * @param {import("./prometheus.js").Metrics | undefined} metrics
 * @param {import("./prometheus.js").Metrics | ApiError} metricsOr
 */
function needsMetrics(id, metrics, metricsOr) {
  if (metrics) return false;
  $(id).replaceChildren(muted(`Needs /metrics (${metricsProblem(metricsOr)}).`));
  return true;
}

/**
 * @param {import("./prometheus.js").Metrics | undefined} metrics
 * @param {import("./prometheus.js").Metrics | ApiError} metricsOr
 */
function renderErrors(metrics, metricsOr) {
  if (needsMetrics("errors", metrics, metricsOr) || !metrics) return;
  /** @type {(string | number)[][]} */
  const rows = [];
  // Every known code is exported from the start at 0: only those that happened are worth a row.
  for (const [code, n] of byLabel(metrics, "yychat_errors_total", "code")) {
    if (n > 0) rows.push([code, "server", n]);
  }
  for (const [code, n] of byLabel(metrics, "yychat_upstream_errors_total", "code")) {
    if (n > 0) rows.push([code, "provider", n]);
  }
  rows.sort((a, b) => Number(b[2]) - Number(a[2]));
  $("errors").replaceChildren(
    rows.length === 0 ? muted("No errors so far.") : table(["code", "from", "count"], rows, [2], 0),
  );
}

/**
 * @param {Record<string, any> | ApiError} mcpOr
 * @param {import("./prometheus.js").Metrics | undefined} metrics
 */
function renderMcp(mcpOr, metrics) {
  const el = $("mcp");
  if (mcpOr instanceof ApiError) {
    const states = metrics ? series(metrics, "yychat_mcp_servers") : [];
    el.replaceChildren(
      states.length > 0
        ? table(["state", "servers"], states.map((s) => [s.labels.state ?? "", s.value]), [1])
        : muted(`${describeError(mcpOr.code, mcpOr.message)} (${mcpOr.code})`),
    );
    return;
  }
  /** @type {any[]} */
  const servers = Array.isArray(mcpOr?.data) ? mcpOr.data : [];
  if (servers.length === 0) {
    el.replaceChildren(muted("No MCP servers configured."));
    return;
  }
  const rows = servers.map((s) => [
    String(s.name ?? ""),
    String(s.transport ?? ""),
    badge(String(s.state ?? "unknown")),
    Number(s.tool_count ?? 0),
    Number(s.failures ?? 0),
    String(s.last_error ?? ""),
  ]);
  el.replaceChildren(
    table(["name", "transport", "state", "tools", "failures", "last error"], rows, [3, 4]),
  );
}

/**
 * @param {import("./prometheus.js").Metrics | undefined} metrics
 * @param {import("./prometheus.js").Metrics | ApiError} metricsOr
 */
function renderOutcomes(metrics, metricsOr) {
  if (needsMetrics("outcomes", metrics, metricsOr) || !metrics) return;
  const gens = series(metrics, "yychat_generations_total")
    .map((s) => [s.labels.door ?? "", s.labels.outcome ?? "", s.value])
    .sort((a, b) => Number(b[2]) - Number(a[2]));
  const resumes = [...byLabel(metrics, "yychat_resumes_total", "outcome")]
    .map(([outcome, n]) => ["resume", outcome, n]);
  const rows = [...gens, ...resumes].filter((row) => Number(row[2]) > 0);
  $("outcomes").replaceChildren(
    rows.length === 0 ? muted("No replies yet.") : table(["door", "outcome", "count"], rows, [2]),
  );
}

/**
 * @param {import("./prometheus.js").Metrics | undefined} metrics
 * @param {import("./prometheus.js").Metrics | ApiError} metricsOr
 */
function renderTypes(metrics, metricsOr) {
  if (needsMetrics("types", metrics, metricsOr) || !metrics) return;
  const rows = [...byLabel(metrics, "yychat_ws_messages_total", "type")]
    .sort((a, b) => b[1] - a[1]);
  $("types").replaceChildren(
    rows.length === 0 ? muted("No messages yet.") : table(["type", "count"], rows, [1], 0),
  );
}

/**
 * @param {import("./prometheus.js").Metrics | undefined} metrics
 * @param {import("./prometheus.js").Metrics | ApiError} metricsOr
 */
function renderHttp(metrics, metricsOr) {
  if (needsMetrics("http", metrics, metricsOr) || !metrics) return;
  const rows = series(metrics, "yychat_http_requests_total")
    .map((s) => [s.labels.method ?? "", s.labels.route ?? "", s.labels.status ?? "", s.value])
    .sort((a, b) => Number(b[3]) - Number(a[3]))
    .slice(0, 12);
  $("http").replaceChildren(
    rows.length === 0
      ? muted("No requests yet.")
      : table(["method", "route", "status", "count"], rows, [3]),
  );
}

/**
 * @param {Record<string, any> | undefined} status
 * @param {number | undefined} nodes
 */
function renderNodes(status, nodes) {
  const el = $("nodes");
  if (nodes === undefined) {
    el.replaceChildren(muted("Single node: cluster mode is off (no YYCHAT_REDIS_URL)."));
    return;
  }
  const parts = [muted(`${fmtInt(nodes)} node${nodes === 1 ? "" : "s"} in the cluster.`)];
  const node = status?.node;
  if (node && typeof node === "object") {
    const rows = Object.entries(node)
      .filter(([, v]) => typeof v === "number" || typeof v === "string")
      .map(([k, v]) => [k, typeof v === "number" ? v : String(v)]);
    if (rows.length > 0) parts.push(table(["this node", "value"], rows, [1]));
  }
  el.replaceChildren(...parts);
}

// --------------------------------------------------------------- helpers

/** @param {string} text */
function muted(text) {
  const p = document.createElement("p");
  p.className = "muted";
  p.textContent = text;
  return p;
}

/** @param {string} state */
function badge(state) {
  const span = document.createElement("span");
  span.className = `state ${state}`;
  span.textContent = state;
  return span;
}

/**
 * @param {string[]} headers
 * @param {(string | number | Node)[][]} rows
 * @param {number[]} numeric column indexes shown as numbers
 * @param {number} [codeColumn] a column shown as `<code>`
 */
function table(headers, rows, numeric, codeColumn) {
  const t = document.createElement("table");
  t.className = "data";
  const head = t.createTHead().insertRow();
  headers.forEach((text, i) => {
    const th = document.createElement("th");
    th.scope = "col";
    th.textContent = text;
    if (numeric.includes(i)) th.className = "num";
    head.append(th);
  });
  const body = t.createTBody();
  for (const row of rows) {
    const tr = body.insertRow();
    row.forEach((cell, i) => {
      const td = tr.insertCell();
      if (numeric.includes(i)) td.className = "num";
      if (cell instanceof Node) td.append(cell);
      else if (i === codeColumn) {
        const code = document.createElement("code");
        code.textContent = String(cell);
        td.append(code);
      } else td.textContent = typeof cell === "number" ? fmtInt(cell) : cell;
    });
  }
  return t;
}

/** @param {number} n */
function fmtInt(n) {
  return Number.isFinite(n) ? Math.round(n).toLocaleString("en") : "—";
}

/** @param {number} n */
function fmtRate(n) {
  return n >= 10 ? n.toFixed(0) : n.toFixed(1);
}

/** @param {number} s */
function fmtSeconds(s) {
  if (s < 1) return `${Math.round(s * 1000)} ms`;
  return `${s.toFixed(s < 10 ? 2 : 1)} s`;
}

/** @param {number} s */
function fmtDuration(s) {
  if (s < 60) return `${Math.floor(s)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86400)} d ${Math.floor((s % 86400) / 3600)} h`;
}

poll();
