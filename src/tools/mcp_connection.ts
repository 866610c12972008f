/**
 * One connection to one MCP server over stdio, Streamable HTTP or SSE: open
 * it (bounded, abortable), list its tools, and close it without leaving
 * timers or processes behind. `McpManager` decides when to connect and
 * reconnect; this module only knows how.
 *
 * The `@modelcontextprotocol/sdk` imports resolve without type information
 * under Deno (they type as `any`), so the shapes used here are declared
 * locally.
 */
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { SSEClientTransport } from "@modelcontextprotocol/sdk/client/sse.js";
import { ToolListChangedNotificationSchema } from "@modelcontextprotocol/sdk/types.js";
import type { McpServerConfig } from "./mcp_config.ts";
import type { Logger } from "../core/logger.ts";
import { errorMessage } from "../core/spawn.ts";

export interface SdkTool {
  name: string;
  description?: string;
  inputSchema?: Record<string, unknown>;
}

interface SdkContent {
  type: string;
  text?: string;
}

export interface SdkCallResult {
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

type StdioChild = { stdin?: { end(): void } | null; exitCode: number | null; pid?: number };

export interface McpConnection {
  client: Client;
  transport: SdkTransport;
  /** Resolves when the transport reports closed. */
  closed: Promise<void>;
  stdioChild?: StdioChild;
}

export interface OpenOptions {
  signal: AbortSignal;
  /** Bound for the handshake (and for each tool-list page). */
  connectTimeoutMs: number;
  logger: Logger;
  /** Each chunk a stdio server writes to stderr. */
  onStderr(text: string): void;
  /** The server announced `notifications/tools/list_changed`. */
  onToolsChanged(conn: McpConnection): void;
}

const CLIENT_INFO = { name: "yychat", version: "0.1.0" };

/**
 * Opens a connection to `config`'s server. A URL without an explicit
 * transport tries Streamable HTTP first, then SSE.
 */
export async function openMcpConnection(
  config: McpServerConfig,
  options: OpenOptions,
): Promise<McpConnection> {
  if (config.transport !== "auto") return await openWith(config, config.transport, options);
  try {
    return await openWith(config, "http", options);
  } catch (err) {
    if (options.signal.aborted) throw err;
    options.logger.debug("mcp_http_fallback_to_sse", {
      server: config.name,
      error: errorMessage(err),
    });
    return await openWith(config, "sse", options);
  }
}

async function openWith(
  config: McpServerConfig,
  kind: "stdio" | "http" | "sse",
  options: OpenOptions,
): Promise<McpConnection> {
  const { signal, logger } = options;
  let transport: SdkTransport;
  if (kind === "stdio" && config.transport === "stdio") {
    const stdio = new StdioClientTransport({
      command: config.command,
      args: config.args,
      env: config.env,
      cwd: config.cwd,
      stderr: "pipe",
    });
    stdio.stderr?.on("data", (chunk: Uint8Array | string) => {
      options.onStderr(typeof chunk === "string" ? chunk : new TextDecoder().decode(chunk));
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
    logger.debug("mcp_transport_error", { server: config.name, error: errorMessage(err) });
  };
  const conn: McpConnection = { client, transport, closed };
  client.setNotificationHandler(ToolListChangedNotificationSchema, () => {
    options.onToolsChanged(conn);
  });
  if (!(transport instanceof StdioClientTransport)) {
    try {
      await client.connect(transport, { signal, timeout: options.connectTimeoutMs });
    } catch (err) {
      await closeMcpConnection(conn, { logger });
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
      await closeMcpConnection(conn, { logger, graceful: false });
      await connecting.catch(() => {});
      throw signal.reason ?? new Error("aborted");
    }
    return conn;
  } catch (err) {
    await closeMcpConnection(conn, { logger, graceful: false });
    throw err;
  } finally {
    signal.removeEventListener("abort", onAbort);
  }
}

/** Every tool of the server, following `nextCursor` pages. */
export async function listMcpTools(
  client: Client,
  { signal, timeoutMs }: { signal: AbortSignal; timeoutMs: number },
): Promise<SdkTool[]> {
  const tools: SdkTool[] = [];
  let cursor: string | undefined;
  do {
    const page = await client.listTools(cursor ? { cursor } : {}, { signal, timeout: timeoutMs });
    for (const t of page.tools as SdkTool[]) {
      if (typeof t?.name === "string" && t.name) tools.push(t);
    }
    cursor = page.nextCursor;
  } while (cursor);
  return tools;
}

/**
 * Closes a connection without leaving timers or processes behind: stdio
 * children get EOF on stdin, then SIGTERM, then SIGKILL, each bounded.
 */
export async function closeMcpConnection(
  conn: McpConnection,
  options: { logger: Logger; graceful?: boolean },
): Promise<void> {
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
    options.logger.debug("mcp_close_error", { error: errorMessage(err) });
  }
}

/**
 * The child process of a stdio transport. Private in the SDK, but the only
 * way to close its stdin, which is how a stdio server is asked to exit
 * (signalling `npx` would orphan the real server, its grandchild).
 */
function stdioProcess(transport: SdkTransport): StdioChild | undefined {
  if (!(transport instanceof StdioClientTransport)) return undefined;
  return (transport as unknown as { _process?: StdioChild })._process;
}
