/**
 * All configured MCP servers as one `ToolSource`. Each server is connected
 * on its own (stdio child process, Streamable HTTP or SSE) so a slow or
 * broken server never delays or hides the tools of the others: failures are
 * logged, shown in `servers()`, and retried in the background with bounded
 * exponential backoff. Tool schemas are passed through untouched; tool names
 * are made valid and unique for providers, and calls map back to the real ones.
 * How one connection is opened and closed lives in `mcp_connection.ts`.
 */
import {
  closeMcpConnection,
  listMcpTools,
  type McpConnection,
  openMcpConnection,
  type SdkCallResult,
  type SdkTool,
} from "./mcp_connection.ts";
import type { CallOptions, ToolSource, ToolSpec } from "./tool.ts";
import type { McpServerConfig } from "./mcp_config.ts";
import { mcpToolNames } from "./mcp_tool_names.ts";
import { type Logger, silentLogger } from "../core/logger.ts";
import { errorMessage, spawn } from "../core/spawn.ts";

/** An offered MCP tool: the name the model sees, and where a call goes. */
export interface McpToolSpec extends ToolSpec {
  /** Configured name of the server that owns the tool. */
  server: string;
  /** The tool's own name on that server (what `tools/call` sends). */
  mcpName: string;
}

export type McpServerState = "connecting" | "connected" | "failed" | "closed";

/** One server's health, for `GET /v1/mcp/servers` and logs. */
export interface McpServerStatus {
  name: string;
  transport: McpServerConfig["transport"];
  state: McpServerState;
  toolCount: number;
  /** Consecutive failed connection attempts since the last success. */
  failures: number;
  lastError?: string;
}

export interface McpRetryOptions {
  initialDelayMs: number;
  maxDelayMs: number;
  /** Consecutive failures after which a server stays `failed` until restart. */
  maxAttempts: number;
}

export interface McpManagerOptions {
  servers: McpServerConfig[];
  /** Names already offered (built-in tools); MCP tools never get one of them. */
  reservedNames?: Iterable<string>;
  logger?: Logger;
  /** Bound for spawning/handshaking with one server. */
  connectTimeoutMs?: number;
  /** Default per-call timeout (settings.toolTimeoutMs). */
  callTimeoutMs?: number;
  retry?: Partial<McpRetryOptions>;
}

interface ServerEntry {
  config: McpServerConfig;
  state: McpServerState;
  /** Last listed tools; kept while disconnected so exposed names stay stable. */
  tools: SdkTool[];
  failures: number;
  /** Connections in a row that closed within `STABLE_CONNECTION_MS`. */
  crashes: number;
  lastError?: string;
  conn?: McpConnection;
  retryTimer?: ReturnType<typeof setTimeout>;
  stderrTail: string;
  /** Bumped per connection so events from an old connection are ignored. */
  generation: number;
}

interface Route {
  server: ServerEntry;
  tool: SdkTool;
}

/** Stderr kept per stdio server, for the error shown in `servers()`. */
const STDERR_TAIL_CHARS = 2000;
/** A connection that lasted this long counts as healthy; shorter ones back off. */
const STABLE_CONNECTION_MS = 10_000;

/**
 * Connects to every configured MCP server and exposes their tools. Call
 * `start()` once, then `list()`/`call()`; `close()` ends children and sockets.
 */
export class McpManager implements ToolSource {
  readonly #servers: ServerEntry[];
  readonly #reserved: Set<string>;
  readonly #logger: Logger;
  readonly #connectTimeoutMs: number;
  readonly #callTimeoutMs: number;
  readonly #retry: McpRetryOptions;
  readonly #closing = new AbortController();
  #routes = new Map<string, Route>();
  #specs: McpToolSpec[] = [];

  constructor(options: McpManagerOptions) {
    const names = new Set<string>();
    for (const s of options.servers) {
      if (names.has(s.name)) throw new TypeError(`Duplicate MCP server name "${s.name}"`);
      names.add(s.name);
    }
    this.#servers = options.servers.map((config) => ({
      config,
      state: "connecting",
      tools: [],
      failures: 0,
      crashes: 0,
      stderrTail: "",
      generation: 0,
    }));
    this.#reserved = new Set(options.reservedNames ?? []);
    this.#logger = options.logger ?? silentLogger;
    this.#connectTimeoutMs = options.connectTimeoutMs ?? 30_000;
    this.#callTimeoutMs = options.callTimeoutMs ?? 60_000;
    this.#retry = {
      initialDelayMs: options.retry?.initialDelayMs ?? 1000,
      maxDelayMs: options.retry?.maxDelayMs ?? 60_000,
      maxAttempts: options.retry?.maxAttempts ?? 8,
    };
  }

  /**
   * Connects all servers concurrently. Resolves once every server has either
   * connected or failed its first attempt (never rejects); failed ones keep
   * retrying in the background.
   */
  async start(options: { signal?: AbortSignal } = {}): Promise<void> {
    await Promise.all(this.#servers.map((s) => this.#connect(s, options.signal)));
  }

  /**
   * Tools of connected servers under names every provider accepts (valid,
   * unique, stable; see `mcp_tool_names.ts`), with untouched schemas.
   */
  list(): McpToolSpec[] {
    return this.#specs;
  }

  /** Health of each server. */
  servers(): McpServerStatus[] {
    return this.#servers.map((s) => {
      const status: McpServerStatus = {
        name: s.config.name,
        transport: s.config.transport,
        state: s.state,
        toolCount: s.state === "connected" ? s.tools.length : 0,
        failures: s.failures,
      };
      if (s.lastError !== undefined) status.lastError = s.lastError;
      return status;
    });
  }

  /**
   * Calls a tool by its exposed name. Returns `structuredContent` when the
   * server sends it, else the text items joined by newlines (or the raw
   * content list when there is no text).
   *
   * @throws {RangeError} for a name not in `list()`
   * @throws {Error} when the server is down, the call times out or is
   *   aborted, or the tool reports `isError` (message = the tool's text)
   */
  async call(
    name: string,
    args: Record<string, unknown>,
    options: CallOptions & { timeoutMs?: number },
  ): Promise<unknown> {
    const route = this.#routes.get(name);
    if (!route) throw new RangeError(`Unknown MCP tool "${name}"`);
    options.signal.throwIfAborted();
    const { server, tool } = route;
    const conn = server.conn;
    if (server.state !== "connected" || !conn) {
      throw new Error(`MCP server "${server.config.name}" is not connected (${server.state})`);
    }
    const timeoutMs = options.timeoutMs ?? this.#callTimeoutMs;
    let result: SdkCallResult;
    try {
      result = await conn.client.callTool({ name: tool.name, arguments: args }, undefined, {
        signal: options.signal,
        timeout: timeoutMs,
        maxTotalTimeout: timeoutMs,
      });
    } catch (err) {
      // Errors without a JSON-RPC code (fetch failures, HTTP 404 for an
      // expired session) mean the transport is broken: reconnect in the
      // background; the watcher notices the close.
      const code = (err as { code?: unknown })?.code;
      if (!options.signal.aborted && !(typeof code === "number" && code < 0)) {
        if (server.conn === conn) {
          spawn(this.#logger, `mcp drop ${server.config.name}`, conn.client.close());
        }
      }
      if (options.signal.aborted) {
        throw new Error(`MCP tool "${name}" was cancelled`, { cause: err });
      }
      const message = errorMessage(err);
      if (/timed? ?out/i.test(message)) {
        throw new Error(`MCP tool "${name}" timed out after ${timeoutMs} ms`, { cause: err });
      }
      throw new Error(`MCP tool "${name}" failed: ${message}`, { cause: err });
    }
    const texts = (result.content ?? []).filter((c) => c.type === "text" && c.text !== undefined)
      .map((c) => c.text!);
    if (result.isError) {
      throw new Error(texts.join("\n") || `MCP tool "${name}" reported an error`);
    }
    if (result.structuredContent !== undefined) return result.structuredContent;
    if (result.toolResult !== undefined) return result.toolResult;
    if (texts.length > 0) return texts.join("\n");
    return result.content ?? [];
  }

  /** Disconnects every server and ends stdio children. Idempotent. */
  async close(): Promise<void> {
    if (this.#closing.signal.aborted) return;
    this.#closing.abort();
    await Promise.all(this.#servers.map(async (s) => {
      clearTimeout(s.retryTimer);
      s.state = "closed";
      s.generation++;
      const conn = s.conn;
      s.conn = undefined;
      if (conn) await closeMcpConnection(conn, { logger: this.#logger });
    }));
    this.#rebuild();
  }

  async #connect(server: ServerEntry, signal?: AbortSignal): Promise<void> {
    if (this.#closing.signal.aborted) return;
    const generation = ++server.generation;
    server.state = "connecting";
    this.#rebuild();
    const name = server.config.name;
    const started = performance.now();
    const attempt = AbortSignal.any([
      this.#closing.signal,
      AbortSignal.timeout(this.#connectTimeoutMs),
      ...(signal ? [signal] : []),
    ]);
    let conn: McpConnection | undefined;
    try {
      server.stderrTail = "";
      conn = await openMcpConnection(server.config, {
        signal: attempt,
        connectTimeoutMs: this.#connectTimeoutMs,
        logger: this.#logger,
        onStderr: (text) => {
          server.stderrTail = (server.stderrTail + text).slice(-STDERR_TAIL_CHARS);
          if (this.#logger.enabled("debug")) {
            this.#logger.debug("mcp_stderr", { server: name, text: text.slice(0, 500) });
          }
        },
        onToolsChanged: (c) => spawn(this.#logger, `mcp relist ${name}`, this.#relist(server, c)),
      });
      if (generation !== server.generation) throw new Error("superseded");
      const tools = await listMcpTools(conn.client, {
        signal: attempt,
        timeoutMs: this.#connectTimeoutMs,
      });
      if (generation !== server.generation) throw new Error("superseded");
      server.conn = conn;
      server.tools = tools;
      server.state = "connected";
      server.failures = 0;
      server.lastError = undefined;
      this.#rebuild();
      this.#logger.info("mcp_connected", {
        server: name,
        transport: server.config.transport,
        tools: tools.length,
        ms: Math.round(performance.now() - started),
      });
      spawn(this.#logger, `mcp watch ${name}`, this.#watch(server, conn, generation));
    } catch (err) {
      if (conn) await closeMcpConnection(conn, { logger: this.#logger });
      if (generation !== server.generation || this.#closing.signal.aborted) return;
      server.failures++;
      const reason = attempt.aborted && !this.#closing.signal.aborted
        ? `connect timed out after ${this.#connectTimeoutMs} ms`
        : errorMessage(err);
      const stderr = server.stderrTail.trim().split("\n").at(-1);
      server.lastError = stderr ? `${reason} (stderr: ${stderr})` : reason;
      server.state = "failed";
      this.#rebuild();
      this.#scheduleRetry(server);
    }
  }

  #scheduleRetry(server: ServerEntry, attempt = server.failures): void {
    const name = server.config.name;
    if (attempt >= this.#retry.maxAttempts) {
      this.#logger.error("mcp_gave_up", {
        server: name,
        attempts: attempt,
        error: server.lastError,
      });
      return;
    }
    const delayMs = Math.min(
      this.#retry.maxDelayMs,
      this.#retry.initialDelayMs * 2 ** (attempt - 1),
    );
    this.#logger.warn("mcp_connect_failed", {
      server: name,
      attempt,
      retryInMs: delayMs,
      error: server.lastError,
    });
    clearTimeout(server.retryTimer);
    server.retryTimer = setTimeout(() => {
      server.retryTimer = undefined;
      spawn(this.#logger, `mcp connect ${name}`, this.#connect(server));
    }, delayMs);
  }

  /**
   * Waits for the connection to drop, then reconnects: at once after a
   * stable connection, with backoff after a quick crash, so a server that
   * dies right after every handshake cannot make us respawn it in a loop.
   */
  async #watch(server: ServerEntry, conn: McpConnection, generation: number): Promise<void> {
    const connectedAt = performance.now();
    await conn.closed;
    if (generation !== server.generation || this.#closing.signal.aborted) return;
    server.conn = undefined;
    server.state = "failed";
    server.lastError = "connection closed";
    this.#rebuild();
    this.#logger.warn("mcp_disconnected", { server: server.config.name });
    await closeMcpConnection(conn, { logger: this.#logger });
    if (generation !== server.generation || this.#closing.signal.aborted) return;
    const livedMs = performance.now() - connectedAt;
    server.crashes = livedMs >= STABLE_CONNECTION_MS ? 0 : server.crashes + 1;
    if (server.crashes === 0) {
      await this.#connect(server);
      return;
    }
    server.lastError =
      `connection closed ${server.crashes} time(s) within ${STABLE_CONNECTION_MS} ms of connecting`;
    this.#scheduleRetry(server, server.crashes);
  }

  async #relist(server: ServerEntry, conn: McpConnection): Promise<void> {
    if (server.conn !== conn) return;
    const tools = await listMcpTools(conn.client, {
      signal: AbortSignal.any([this.#closing.signal, AbortSignal.timeout(this.#connectTimeoutMs)]),
      timeoutMs: this.#connectTimeoutMs,
    });
    if (server.conn !== conn) return;
    server.tools = tools;
    this.#rebuild();
    this.#logger.info("mcp_tools_changed", { server: server.config.name, tools: tools.length });
  }

  /**
   * Recomputes offered names (`mcp_tool_names.ts`): every known tool counts,
   * connected or not, so a server going down does not rename the others.
   */
  #rebuild(): void {
    const names = mcpToolNames({
      reserved: this.#reserved,
      servers: this.#servers.map((s) => ({
        server: s.config.name,
        tools: s.tools.map((t) => t.name),
      })),
    });
    const routes = new Map<string, Route>();
    const specs: McpToolSpec[] = [];
    this.#servers.forEach((s, i) => {
      if (s.state !== "connected") return;
      s.tools.forEach((tool, j) => {
        const exposed = names[i]![j];
        if (exposed === undefined) return;
        routes.set(exposed, { server: s, tool });
        specs.push({
          name: exposed,
          description: tool.description ?? "",
          parameters: tool.inputSchema ?? { type: "object", properties: {} },
          server: s.config.name,
          mcpName: tool.name,
        });
      });
    });
    this.#routes = routes;
    this.#specs = specs;
  }
}
