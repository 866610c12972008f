/**
 * Micro-benchmarks of yychat's ping → pong hot path, piece by piece, to say
 * what costs what inside the server's per-message CPU time (the gateway
 * benchmark measures the total from `/proc`). Run with
 * `deno bench --allow-env --allow-read bench/hot_path_bench.ts`.
 *
 * Stages: frame in → rate limit (token bucket) → `decodeFrame` (JSON.parse +
 * zod) → mailbox → `Router.dispatch` (AuthGate, PingHandler) → `Connection.send`
 * (JSON.stringify + stamp) → `socket.send`. The socket is a sink, so the
 * numbers are the JS work only; Deno's WebSocket I/O is the same for yychat
 * and the bare echo baseline.
 */
import { loadSettings } from "../config/settings.ts";
import { systemClock } from "../src/core/clock.ts";
import { Connection } from "../src/actors/connection.ts";
import { Logger } from "../src/core/logger.ts";
import { decodeFrame } from "../src/protocol/decode.ts";
import { Ping } from "../src/protocol/messages.ts";
import type { ConnectionContext } from "../src/router/router.ts";
import { createApp } from "../src/server/app.ts";
import { Attachments } from "../src/generations/mod.ts";
import { renderPrometheus } from "../src/observability/text_format.ts";

const FRAME = '{"type":"ping"}';
const FRAME_WITH_ID = '{"type":"ping","request_id":"r-123"}';
const CLIENT_ID = crypto.randomUUID();
const ID_SUFFIX = `,"client_id":${JSON.stringify(CLIENT_ID)}}`;
let sink = 0;

const logger = new Logger("silent");
// The real router, built the way the server builds it (empty MCP config, temp data dir).
const dataDir = await Deno.makeTempDir({ prefix: "yychat_hot_path_" });
await Deno.writeTextFile(`${dataDir}/mcp.json`, '{"mcpServers":{}}');
const app = await createApp(
  loadSettings({
    LOG_LEVEL: "silent",
    WS_MESSAGES_PER_SECOND: "1000000",
    YYCHAT_DATA_DIR: dataDir,
    YYCHAT_MCP_CONFIG: `${dataDir}/mcp.json`,
  }),
  { logger },
);
const router = app.router;
const isKnown = router.has;

/** The connection as the router sees it, sending what `Connection.send` would. */
const ctx: ConnectionContext = {
  clientId: CLIENT_ID,
  principal: "",
  authenticated: true,
  signal: new AbortController().signal,
  attachments: new Attachments(),
  send(body) {
    const json = JSON.stringify(body);
    sink += `${json.slice(0, -1)},"timestamp":${Date.now() / 1000}${ID_SUFFIX}`.length;
    return true;
  },
  authenticate: () => Promise.resolve(true),
  close() {},
};

/** A server-side socket that swallows what is sent. */
class SinkSocket {
  readyState: number = WebSocket.OPEN;
  bufferedAmount = 0;
  onopen: ((ev: Event) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onclose: ((ev: CloseEvent) => void) | null = null;
  onerror: ((ev: Event) => void) | null = null;
  send(data: string): void {
    sink += data.length;
  }
  close(): void {
    this.readyState = WebSocket.CLOSED;
  }
}

const socket = new SinkSocket();
const conn = new Connection({
  socket: socket as unknown as WebSocket,
  clientId: CLIENT_ID,
  router,
  clock: systemClock,
  logger,
  limits: {
    maxMessageBytes: 1024 * 1024,
    maxOutboundBytes: 16 * 1024 * 1024,
    messagesPerSecond: 1_000_000,
    maxBufferedBytes: 8 * 1024 * 1024,
    mailboxCapacity: 64,
    authTimeoutMs: 5000,
  },
  address: "127.0.0.1",
  principal: undefined,
  authRequired: false,
  onFrame: () => {},
  onAuthenticated: () => Promise.resolve(true),
  onStopped: () => {},
  metrics: app.metrics,
});
socket.onopen?.(new Event("open"));
const pingEvent = { data: FRAME };

// ------------------------------------------------------------ the pieces

Deno.bench("JSON.parse(ping frame)", { group: "decode", baseline: true }, () => {
  sink += JSON.parse(FRAME).type.length;
});

Deno.bench("decodeFrame(ping) — JSON.parse + checks + zod", { group: "decode" }, () => {
  const d = decodeFrame(FRAME, isKnown);
  if (d.ok) sink++;
});

Deno.bench("decodeFrame(ping with request_id)", { group: "decode" }, () => {
  const d = decodeFrame(FRAME_WITH_ID, isKnown);
  if (d.ok) sink++;
});

const parsedPing = JSON.parse(FRAME);
Deno.bench("Ping.safeParse(object) — zod alone", { group: "decode" }, () => {
  if (Ping.safeParse(parsedPing).success) sink++;
});

Deno.bench("hand-written ping check (proposed fast path)", { group: "decode" }, () => {
  const o = JSON.parse(FRAME);
  if (
    o.type === "ping" && (o.request_id === undefined ||
      (typeof o.request_id === "string" && o.request_id.length > 0 &&
        o.request_id.length <= 128)) &&
    (o.timestamp === undefined || typeof o.timestamp === "number") &&
    (o.client_id === undefined || o.client_id === null || typeof o.client_id === "string")
  ) sink++;
});

Deno.bench(
  "JSON.stringify(pong) + stamp (Connection.send)",
  { group: "encode", baseline: true },
  () => {
    const json = JSON.stringify({ type: "pong" });
    sink += `${json.slice(0, -1)},"timestamp":${Date.now() / 1000}${ID_SUFFIX}`.length;
  },
);

Deno.bench("JSON.stringify(pong with 3 fields) (echo baseline)", { group: "encode" }, () => {
  sink += JSON.stringify({ type: "pong", timestamp: Date.now() / 1000, client_id: CLIENT_ID })
    .length;
});

const decodedPing = decodeFrame(FRAME, isKnown);
if (!decodedPing.ok) throw new Error("ping did not decode");
Deno.bench("Router.dispatch(ping) — AuthGate + PingHandler + send", {
  group: "route",
}, () => {
  router.dispatch(decodedPing.msg, ctx);
});

// ------------------------------------------------------------ end to end

Deno.bench("echo baseline: JSON.parse + JSON.stringify", { group: "total", baseline: true }, () => {
  const msg = JSON.parse(FRAME);
  if (msg.type !== "ping") return;
  sink += JSON.stringify({ type: "pong", timestamp: Date.now() / 1000, client_id: CLIENT_ID })
    .length;
});

Deno.bench("yychat Connection: frame in → pong out (JS only)", { group: "total" }, () => {
  socket.onmessage!(pingEvent);
});

Deno.bench("MessageEvent allocation (paid per frame by both servers)", { group: "total" }, () => {
  sink += new MessageEvent("message", { data: FRAME }).type.length;
});

// ------------------------------------------------------------ metrics

const plain = { n: 0 };
Deno.bench("plain property add", { group: "metrics", baseline: true }, () => {
  plain.n++;
});

const messages = app.metrics.wsMessages;
Deno.bench("ws_messages_total.labels(type).inc() — per frame", { group: "metrics" }, () => {
  messages.labels("ping").inc();
});

Deno.bench("ws_messages_total.labels(unknown).inc() — counted as other", {
  group: "metrics",
}, () => {
  messages.labels("no_such_type").inc();
});

Deno.bench("GET /metrics: render the whole registry", { group: "render" }, () => {
  sink += renderPrometheus(app.metrics.registry).length;
});

globalThis.addEventListener("unload", () => {
  if (sink === 0) console.log("unreachable");
  conn.stop();
  Deno.removeSync(dataDir, { recursive: true });
});
