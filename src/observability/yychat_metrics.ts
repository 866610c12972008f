/**
 * yychat's metrics: every name, type, label and bucket in one place. The
 * names are a contract (the dashboard and operators' alerts read them, and
 * docs/OBSERVABILITY.md lists them): never rename one.
 *
 * Created once per server in `src/server/app.ts` and passed down through
 * constructors and options; no module holds a global instance. Label values
 * come from closed lists given here or by the server (message types, error
 * codes, route patterns…), so every label set is bounded.
 */
import { FINISH_REASONS, type FinishReason, type Usage } from "../core/chat.ts";
import { ERROR_CODES } from "../core/errors.ts";
import { type Counter, type Gauge, type Histogram, MetricsRegistry } from "./registry.ts";

/** Provider failures, by the codes the provider adapter maps them to. */
export const UPSTREAM_ERROR_CODES = ["rate_limited", "upstream_timeout", "upstream_error"] as const;
/** The two front doors a generation can come through. */
export const DOORS = ["ws", "rest"] as const;
export type Door = (typeof DOORS)[number];
/** How a resume ended (§9): replayed from the log, from a snapshot, or refused. */
export const RESUME_OUTCOMES = ["recovered", "snapshot", "unavailable"] as const;
/** HTTP methods counted by name; anything else is `other`. */
export const HTTP_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] as const;
/** Every status code the server could answer with (the server picks them, clients cannot). */
const HTTP_STATUSES = Array.from({ length: 500 }, (_, i) => String(100 + i));
/** The type label of inbound WebSocket frames that could not be decoded. */
export const INVALID_MESSAGE_TYPE = "invalid";

/** Latency to the first streamed chunk: tens of milliseconds to tens of seconds. */
const TTFC_BUCKETS = [0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 20, 30];
/** Whole replies: short answers to long tool-using runs. */
const GENERATION_BUCKETS = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600];
/** HTTP requests: a health check to a long SSE stream. */
const HTTP_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

export interface YychatMetricsOptions {
  /** Inbound WebSocket message types (`yychat_ws_messages_total{type}`); `invalid` is added. */
  messageTypes?: readonly string[];
  /** Every error code a client may receive, both doors; default: the core table. */
  errorCodes?: readonly string[];
  /** HTTP route patterns (`yychat_http_requests_total{route}`). */
  routes?: readonly string[];
  /** WebSocket close codes counted by number (`yychat_ws_closes_total{code}`). */
  closeCodes?: readonly number[];
  /** MCP server states (`yychat_mcp_servers{state}`). */
  mcpStates?: readonly string[];
}

/** Every yychat metric, registered on one registry. */
export class YychatMetrics {
  readonly registry: MetricsRegistry;

  /** Open WebSocket connections (computed at scrape time by the supervisor). */
  readonly wsConnections: Gauge;
  /** WS_MAX_CONNECTIONS, for "how close to the limit" alerts. */
  readonly wsConnectionsLimit: Gauge;
  readonly wsConnectionsAccepted: Counter;
  /** Closes by close code (peer's or ours). */
  readonly wsCloses: Counter;
  /** Inbound frames by message type; undecodable ones as `invalid`. */
  readonly wsMessages: Counter;
  readonly generationsRunning: Gauge;
  /** Finished generations by door and outcome (finish reason, or `error`). */
  readonly generations: Counter;
  readonly timeToFirstChunk: Histogram;
  readonly generationDuration: Histogram;
  /** Errors sent to clients by stable code (WS `error` events, HTTP error bodies, SSE error events). */
  readonly errors: Counter;
  readonly upstreamErrors: Counter;
  readonly tokens: Counter;
  readonly httpRequests: Counter;
  readonly httpRequestDuration: Histogram;
  readonly resumes: Counter;
  readonly mcpServers: Gauge;
  readonly clusterNodes: Gauge;

  constructor(options: YychatMetricsOptions = {}) {
    const r = this.registry = new MetricsRegistry();
    const errorCodes = options.errorCodes ?? Object.keys(ERROR_CODES);
    const messageTypes = [...(options.messageTypes ?? []), INVALID_MESSAGE_TYPE];

    this.wsConnections = r.gauge({
      name: "yychat_ws_connections",
      help: "WebSocket connections open now",
    });
    this.wsConnectionsLimit = r.gauge({
      name: "yychat_ws_connections_limit",
      help: "Most WebSocket connections admitted at once (WS_MAX_CONNECTIONS)",
    });
    this.wsConnectionsAccepted = r.counter({
      name: "yychat_ws_connections_accepted_total",
      help: "WebSocket connections admitted since start",
    });
    this.wsCloses = r.counter({
      name: "yychat_ws_closes_total",
      help: "WebSocket connections closed, by close code (ours or the peer's)",
      labels: { code: (options.closeCodes ?? []).map(String) },
    });
    this.wsMessages = r.counter({
      name: "yychat_ws_messages_total",
      help: 'Inbound WebSocket messages by type; undecodable frames as type="invalid"',
      labels: { type: messageTypes },
    });
    this.generationsRunning = r.gauge({
      name: "yychat_generations_running",
      help: "Replies being generated now, both doors",
    });
    this.generations = r.counter({
      name: "yychat_generations_total",
      help: "Finished replies by door and outcome (finish reason, or error)",
      labels: { door: DOORS, outcome: FINISH_REASONS },
    });
    this.timeToFirstChunk = r.histogram({
      name: "yychat_time_to_first_chunk_seconds",
      help: "Time from a streamed request to its first content chunk",
      buckets: TTFC_BUCKETS,
    });
    this.generationDuration = r.histogram({
      name: "yychat_generation_duration_seconds",
      help: "Time from a request to the end of its reply, however it ended",
      buckets: GENERATION_BUCKETS,
    });
    this.errors = r.counter({
      name: "yychat_errors_total",
      help: "Errors sent to clients by stable code, both doors",
      labels: { code: errorCodes },
    });
    this.upstreamErrors = r.counter({
      name: "yychat_upstream_errors_total",
      help: "Model provider failures by code",
      labels: { code: UPSTREAM_ERROR_CODES },
    });
    this.tokens = r.counter({
      name: "yychat_tokens_total",
      help: "Tokens reported by the provider: in = prompt, out = completion",
      labels: { direction: ["in", "out"] },
    });
    this.httpRequests = r.counter({
      name: "yychat_http_requests_total",
      help: "HTTP requests by route pattern, method and status",
      labels: { route: options.routes ?? [], method: HTTP_METHODS, status: HTTP_STATUSES },
    });
    this.httpRequestDuration = r.histogram({
      name: "yychat_http_request_duration_seconds",
      help: "HTTP request duration by route pattern (an SSE stream: until its end)",
      labels: { route: options.routes ?? [] },
      buckets: HTTP_BUCKETS,
    });
    this.resumes = r.counter({
      name: "yychat_resumes_total",
      help: "Resume requests by outcome",
      labels: { outcome: RESUME_OUTCOMES },
    });
    this.mcpServers = r.gauge({
      name: "yychat_mcp_servers",
      help: "Configured MCP servers by connection state",
      labels: { state: options.mcpStates ?? [] },
    });
    this.clusterNodes = r.gauge({
      name: "yychat_cluster_nodes",
      help: "Live nodes of the cluster (1 without cluster mode)",
    });
    this.clusterNodes.set(1);

    // Known label values start at zero, so rates and dashboards see them before the first event.
    for (const t of messageTypes) this.wsMessages.labels(t);
    for (const door of DOORS) for (const o of FINISH_REASONS) this.generations.labels(door, o);
    for (const code of errorCodes) this.errors.labels(code);
    for (const code of UPSTREAM_ERROR_CODES) this.upstreamErrors.labels(code);
    for (const d of ["in", "out"]) this.tokens.labels(d);
    for (const o of RESUME_OUTCOMES) this.resumes.labels(o);
    for (const s of options.mcpStates ?? []) this.mcpServers.labels(s);
  }

  /** Counts one error sent to a client. */
  error(code: string): void {
    this.errors.labels(code).inc();
  }

  /** Counts one finished HTTP request. `route` is a pattern (or `other`), never a raw path. */
  httpRequest(route: string, method: string, status: number, seconds: number): void {
    this.httpRequests.labels(route, method, String(status)).inc();
    this.httpRequestDuration.labels(route).observe(seconds);
  }

  /** Starts timing one reply: the running gauge goes up until `finish` or `fail`. */
  startGeneration(door: Door): GenerationMetrics {
    return new GenerationMetrics(this, door);
  }
}

/**
 * The metrics of one reply. Call `firstChunk()` when its first content chunk
 * goes out (streamed replies), then exactly one of `finish()` or `fail()`;
 * later calls are ignored, so every exit path may call them.
 */
export class GenerationMetrics {
  readonly #metrics: YychatMetrics;
  readonly #door: Door;
  readonly #startedMs = performance.now();
  #sawFirstChunk = false;
  #ended = false;

  constructor(metrics: YychatMetrics, door: Door) {
    this.#metrics = metrics;
    this.#door = door;
    metrics.generationsRunning.inc();
  }

  /** The first content chunk went out: observes the time to first chunk (once). */
  firstChunk(): void {
    if (this.#sawFirstChunk || this.#ended) return;
    this.#sawFirstChunk = true;
    this.#metrics.timeToFirstChunk.observe((performance.now() - this.#startedMs) / 1000);
  }

  /** The reply ended with `reason` (`cancelled` included); counts the provider's usage. */
  finish(reason: FinishReason, usage?: Usage): void {
    if (!this.#end(reason)) return;
    if (usage === undefined) return;
    // Provider data: a missing or nonsensical count is skipped, never thrown on.
    const { prompt_tokens: tokensIn, completion_tokens: tokensOut } = usage;
    if (tokensIn >= 0 && tokensIn < Infinity) this.#metrics.tokens.labels("in").inc(tokensIn);
    if (tokensOut >= 0 && tokensOut < Infinity) this.#metrics.tokens.labels("out").inc(tokensOut);
  }

  /**
   * The reply failed with the stable `code` sent to the client; `cancelled`
   * counts as the outcome `cancelled`, not as an error.
   */
  fail(code: string): void {
    if (!this.#end(code === "cancelled" ? "cancelled" : "error")) return;
    if ((UPSTREAM_ERROR_CODES as readonly string[]).includes(code)) {
      this.#metrics.upstreamErrors.labels(code).inc();
    }
  }

  #end(outcome: FinishReason): boolean {
    if (this.#ended) return false;
    this.#ended = true;
    const m = this.#metrics;
    m.generationsRunning.dec();
    m.generations.labels(this.#door, outcome).inc();
    m.generationDuration.observe((performance.now() - this.#startedMs) / 1000);
    return true;
  }
}
