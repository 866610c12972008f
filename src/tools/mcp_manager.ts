/**
 * All configured MCP servers as one `ToolSource`. Each server is connected
 * on its own (stdio child process, Streamable HTTP or SSE) so a slow or
 * broken server never delays or hides the tools of the others: failures are
 * logged, shown in `servers()`, and retried in the background with bounded
 * exponential backoff. Tool schemas are passed through untouched.
 *
 * The `@modelcontextprotocol/sdk` imports resolve without type information
 * under Deno (they type as `any`), so the shapes this module relies on are
 * declared locally and checked at runtime where it matters.
 */
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { SSEClientTransport } from "@modelcontextprotocol/sdk/client/sse.js";
import { ToolListChangedNotificationSchema } from "@modelcontextprotocol/sdk/types.js";
import type { CallOptions, ToolSource, ToolSpec } from "./tool.ts";
import type { McpServerConfig } from "./mcp_config.ts";
import { type Logger, silentLogger } from "../logger.ts";
import { errorMessage, spawn } from "../actors/spawn.ts";

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
  /** Names already taken (built-in tools); MCP tools with these names get a `server__` prefix. */
  reservedNames?: Iterable<string>;
  logger?: Logger;
  /** Bound for spawning/handshaking with one server. */
  connectTimeoutMs?: number;
  /** Default per-call timeout (settings.toolTimeoutMs). */
  callTimeoutMs?: number;
  retry?: Partial<McpRetryOptions>;
}

interface SdkTool {
  name: string;
  description?: string;
  inputSchema?: Record<string, unknown>;
}

interface SdkContent {
  type: string;
  text?: string;
}

interface SdkCallResult {
  content?: SdkContent[];
  structuredContent?: unknown;
  isError?: boolean;
  toolResult?: unknown;
}

interface SdkTransport {
  onclose?: () => void;
  start(): Promise<void>;
  close(): Promise<void>;
}

interface Connection {
  client: Client;
  transport: SdkTransport;
  /** Resolves when the transport reports closed. */
  closed: Promise<void>;
  stdioChild?: { stdin?: { end(): void } | null; exitCode: number | null; pid?: number };
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
  conn?: Connection;
  retryTimer?: ReturnType<typeof setTimeout>;
  stderrTail: string;
  /** Bumped per connection so events from an old connection are ignored. */
  generation: number;
}

interface Route {
  server: ServerEntry;
  tool: SdkTool;
}

const STDERR_TAIL_CHARS = 2000;
/** A connection that lasted this long counts as healthy; shorter ones back off. */
const STABLE_CONNECTION_MS = 10_000;
const CLIENT_INFO = { name: "yychat", version: "0.1.0" };

/**
 * The child process of a stdio transport. Private in the SDK, but the only
 * way to close its stdin, which is how a stdio server is asked to exit
 * (signalling `npx` would orphan the real server, its grandchild).
 */
function stdioProcess(transport: SdkTransport): Connection["stdioChild"] {
  if (!(transport instanceof StdioClientTransport)) return undefined;
  return (transport as unknown as { _process?: Connection["stdioChild"] })._process;
}

/** Tool names models accept (OpenAI: `^[a-zA-Z0-9_-]{1,64}$`). */
function safeName(name: string): string {
  return name.replace(/[^a-zA-Z0-9_-]/g, "_").slice(0, 64);
}

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
  #specs: ToolSpec[] = [];

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

  /** Tools of connected servers, with collision-safe names and untouched schemas. */
  list(): ToolSpec[] {
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
      if (conn) await this.#shutdown(conn);
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
    let conn: Connection | undefined;
    try {
      conn = await this.#open(server, attempt);
      if (generation !== server.generation) throw new Error("superseded");
      const tools = await this.#listTools(conn.client, attempt);
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
      if (conn) await this.#shutdown(conn);
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
  async #watch(server: ServerEntry, conn: Connection, generation: number): Promise<void> {
    const connectedAt = performance.now();
    await conn.closed;
    if (generation !== server.generation || this.#closing.signal.aborted) return;
    server.conn = undefined;
    server.state = "failed";
    server.lastError = "connection closed";
    this.#rebuild();
    this.#logger.warn("mcp_disconnected", { server: server.config.name });
    await this.#shutdown(conn);
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

  async #open(server: ServerEntry, signal: AbortSignal): Promise<Connection> {
    const config = server.config;
    if (config.transport === "auto") {
      try {
        return await this.#openWith(server, "http", signal);
      } catch (err) {
        if (signal.aborted) throw err;
        this.#logger.debug("mcp_http_fallback_to_sse", {
          server: config.name,
          error: errorMessage(err),
        });
        return await this.#openWith(server, "sse", signal);
      }
    }
    return await this.#openWith(server, config.transport, signal);
  }

  async #openWith(
    server: ServerEntry,
    kind: "stdio" | "http" | "sse",
    signal: AbortSignal,
  ): Promise<Connection> {
    const config = server.config;
    let transport: SdkTransport;
    if (kind === "stdio" && config.transport === "stdio") {
      const stdio = new StdioClientTransport({
        command: config.command,
        args: config.args,
        env: config.env,
        cwd: config.cwd,
        stderr: "pipe",
      });
      server.stderrTail = "";
      stdio.stderr?.on("data", (chunk: Uint8Array | string) => {
        const text = typeof chunk === "string" ? chunk : new TextDecoder().decode(chunk);
        server.stderrTail = (server.stderrTail + text).slice(-STDERR_TAIL_CHARS);
        if (this.#logger.enabled("debug")) {
          this.#logger.debug("mcp_stderr", { server: config.name, text: text.slice(0, 500) });
        }
      });
      transport = stdio;
    } else if (config.transport !== "stdio") {
      const url = new URL(config.url);
      const requestInit = { headers: config.headers ?? {} };
      transport = kind === "sse"
        ? new SSEClientTransport(url, { requestInit })
        : new StreamableHTTPClientTransport(url, { requestInit });
    } else {
      throw new TypeError(`Cannot open "${kind}" transport for stdio server "${config.name}"`);
    }

    const client = new Client(CLIENT_INFO, { capabilities: {} });
    let markClosed!: () => void;
    const closed = new Promise<void>((resolve) => markClosed = resolve);
    client.onclose = () => markClosed();
    client.onerror = (err: unknown) => {
      this.#logger.debug("mcp_transport_error", {
        server: config.name,
        error: errorMessage(err),
      });
    };
    const conn: Connection = { client, transport, closed };
    client.setNotificationHandler(ToolListChangedNotificationSchema, () => {
      spawn(this.#logger, `mcp relist ${config.name}`, this.#relist(server, conn));
    });
    if (!(transport instanceof StdioClientTransport)) {
      try {
        await client.connect(transport, { signal, timeout: this.#connectTimeoutMs });
      } catch (err) {
        await this.#shutdown(conn);
        throw err;
      }
      return conn;
    }
    // Stdio: the SDK's own abort path closes the transport with unclearable
    // 2 s timers and forgets the child. Instead, on timeout or abort we end
    // the child ourselves; the pending handshake then fails with "connection
    // closed" and the SDK has nothing left to clean up.
    const start = transport.start.bind(transport);
    transport.start = async () => {
      await start();
      conn.stdioChild = stdioProcess(transport);
    };
    const connecting = client.connect(transport, { timeout: 24 * 3600_000 });
    let onAbort!: () => void;
    const aborted = new Promise<void>((resolve) => onAbort = resolve);
    signal.addEventListener("abort", onAbort, { once: true });
    try {
      if (signal.aborted) onAbort();
      const first = await Promise.race([
        connecting.then(() => "connected" as const),
        aborted.then(() => "aborted" as const),
      ]);
      if (first === "aborted") {
        await this.#shutdown(conn, { graceful: false });
        await connecting.catch(() => {});
        throw signal.reason ?? new Error("aborted");
      }
      return conn;
    } catch (err) {
      await this.#shutdown(conn, { graceful: false });
      throw err;
    } finally {
      signal.removeEventListener("abort", onAbort);
    }
  }

  async #listTools(client: Client, signal: AbortSignal): Promise<SdkTool[]> {
    const tools: SdkTool[] = [];
    let cursor: string | undefined;
    do {
      const page = await client.listTools(cursor ? { cursor } : {}, {
        signal,
        timeout: this.#connectTimeoutMs,
      });
      for (const t of page.tools as SdkTool[]) {
        if (typeof t?.name === "string" && t.name) tools.push(t);
      }
      cursor = page.nextCursor;
    } while (cursor);
    return tools;
  }

  async #relist(server: ServerEntry, conn: Connection): Promise<void> {
    if (server.conn !== conn) return;
    const tools = await this.#listTools(
      conn.client,
      AbortSignal.any([this.#closing.signal, AbortSignal.timeout(this.#connectTimeoutMs)]),
    );
    if (server.conn !== conn) return;
    server.tools = tools;
    this.#rebuild();
    this.#logger.info("mcp_tools_changed", { server: server.config.name, tools: tools.length });
  }

  /**
   * Closes a connection without leaving timers or processes behind: stdio
   * children get EOF on stdin, then SIGTERM, then SIGKILL, each bounded.
   */
  async #shutdown(conn: Connection, options: { graceful?: boolean } = {}): Promise<void> {
    const child = conn.stdioChild;
    if (child && child.exitCode === null) {
      const waitClosed = async (ms: number) => {
        let timer: ReturnType<typeof setTimeout> | undefined;
        await Promise.race([
          conn.closed,
          new Promise<void>((resolve) => timer = setTimeout(resolve, ms)),
        ]);
        clearTimeout(timer);
        return child.exitCode !== null;
      };
      try {
        child.stdin?.end();
      } catch {
        // Already gone.
      }
      if (options.graceful === false || !await waitClosed(2000)) {
        const pid = child.pid;
        if (pid) {
          try {
            Deno.kill(pid, "SIGTERM");
          } catch { /* exited meanwhile */ }
          if (!await waitClosed(2000)) {
            try {
              Deno.kill(pid, "SIGKILL");
            } catch { /* exited meanwhile */ }
            await waitClosed(1000);
          }
        }
      }
    }
    try {
      await conn.client.close();
    } catch (err) {
      this.#logger.debug("mcp_close_error", { error: errorMessage(err) });
    }
  }

  /** Recomputes exposed names: kept unless taken twice or reserved, then `server__tool`. */
  #rebuild(): void {
    const counts = new Map<string, number>();
    for (const s of this.#servers) {
      for (const t of s.tools) counts.set(t.name, (counts.get(t.name) ?? 0) + 1);
    }
    const routes = new Map<string, Route>();
    const specs: ToolSpec[] = [];
    for (const s of this.#servers) {
      if (s.state !== "connected") continue;
      for (const tool of s.tools) {
        const clash = this.#reserved.has(tool.name) || (counts.get(tool.name) ?? 0) > 1;
        let exposed = clash ? safeName(`${s.config.name}__${tool.name}`) : tool.name;
        // A prefixed name can itself be taken; number it rather than lose a tool.
        for (let i = 2; routes.has(exposed) || this.#reserved.has(exposed); i++) {
          exposed = safeName(`${s.config.name}__${tool.name}`).slice(0, 60) + `_${i}`;
        }
        routes.set(exposed, { server: s, tool });
        specs.push({
          name: exposed,
          description: tool.description ?? "",
          parameters: tool.inputSchema ?? { type: "object", properties: {} },
        });
      }
    }
    this.#routes = routes;
    this.#specs = specs;
  }
}
