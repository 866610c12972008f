/**
 * Reads `config/mcp.json` (path from `YYCHAT_MCP_CONFIG`) into a list of MCP
 * server definitions. Lenient on input, because people paste configs from
 * Claude Desktop, Cursor, VS Code and the original Python service:
 *
 * - `{"mcpServers": {name: server}}` (also `"servers"` / `"mcp_servers"`)
 * - a bare map `{name: server}`
 * - a list `[{"name": …, …}]`, bare or under one of the keys above
 *
 * A server is stdio when it has `command` (`args`, `env`, `cwd` optional),
 * remote when it has `url` (`headers` optional). `type` or `transport` picks
 * the remote flavour: `"sse"`, or `"http"` / `"streamable-http"` /
 * `"streamableHttp"`; without one, yychat tries Streamable HTTP and falls
 * back to SSE. `disabled: true` (or `enabled: false`) skips a server.
 * Unknown fields are ignored. A missing file means no servers.
 */
import { z } from "zod";

interface McpServerBase {
  /** Unique server name; prefixes its tools' names on collisions. */
  name: string;
}

export interface McpStdioServer extends McpServerBase {
  transport: "stdio";
  command: string;
  args: string[];
  env?: Record<string, string>;
  cwd?: string;
}

export interface McpRemoteServer extends McpServerBase {
  /** `auto`: Streamable HTTP first, then SSE (for configs that do not say). */
  transport: "http" | "sse" | "auto";
  url: string;
  headers?: Record<string, string>;
}

export type McpServerConfig = McpStdioServer | McpRemoteServer;

/** Raised for a config file that exists but cannot be used; the message names the file. */
export class McpConfigError extends Error {
  override name = "McpConfigError";
}

const stringMap = z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]))
  .transform((m) => Object.fromEntries(Object.entries(m).map(([k, v]) => [k, String(v)])));

const TRANSPORTS: Record<string, McpServerConfig["transport"]> = {
  stdio: "stdio",
  http: "http",
  "streamable-http": "http",
  streamable_http: "http",
  streamablehttp: "http",
  sse: "sse",
};

const ServerSchema = z.object({
  name: z.string().min(1).optional(),
  type: z.string().optional(),
  transport: z.string().optional(),
  command: z.string().min(1).optional(),
  args: z.union([z.array(z.union([z.string(), z.number()])), z.string()]).optional(),
  env: stringMap.optional(),
  cwd: z.string().optional(),
  url: z.url({ protocol: /^https?$/, message: "must be an http(s) URL" }).optional(),
  headers: stringMap.optional(),
  disabled: z.boolean().optional(),
  enabled: z.boolean().optional(),
}).loose().superRefine((s, ctx) => {
  if (!s.command && !s.url) {
    ctx.addIssue({ code: "custom", message: 'needs "command" (stdio) or "url" (HTTP/SSE)' });
  }
  const kind = s.type ?? s.transport;
  const transport = kind === undefined ? undefined : TRANSPORTS[kind.toLowerCase()];
  if (transport === "stdio" && !s.command) {
    ctx.addIssue({ code: "custom", message: 'stdio transport needs "command"' });
  }
  if ((transport === "http" || transport === "sse") && !s.url) {
    ctx.addIssue({ code: "custom", message: `${transport} transport needs "url"` });
  }
  if (kind !== undefined && transport === undefined) {
    ctx.addIssue({
      code: "custom",
      message: `unknown transport "${kind}" (use stdio, http, streamable-http or sse)`,
    });
  }
});

type RawServer = z.infer<typeof ServerSchema>;

const WRAPPER_KEYS = ["mcpServers", "mcp_servers", "servers"] as const;

/**
 * Validates parsed JSON into server definitions.
 *
 * @throws {McpConfigError} naming `path` and every bad entry
 */
export function parseMcpConfig(raw: unknown, path: string): McpServerConfig[] {
  let body: unknown = raw;
  if (body && typeof body === "object" && !Array.isArray(body)) {
    const key = WRAPPER_KEYS.find((k) => k in (body as Record<string, unknown>));
    if (key) body = (body as Record<string, unknown>)[key];
  }
  let entries: [string | undefined, unknown][];
  if (Array.isArray(body)) entries = body.map((s) => [undefined, s]);
  else if (body && typeof body === "object") entries = Object.entries(body);
  else if (body === null || body === undefined) entries = [];
  else throw new McpConfigError(`Invalid MCP config "${path}": expected an object or a list`);

  const problems: string[] = [];
  const servers: McpServerConfig[] = [];
  const seen = new Set<string>();
  entries.forEach(([key, value], i) => {
    const parsed = ServerSchema.safeParse(value);
    const label = key ?? `#${i}`;
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        const where = issue.path.length ? `.${issue.path.join(".")}` : "";
        problems.push(`server "${label}"${where}: ${issue.message}`);
      }
      return;
    }
    const s = parsed.data;
    const name = key ?? s.name;
    if (!name) {
      problems.push(`server ${label}: needs a "name"`);
      return;
    }
    if (seen.has(name)) {
      problems.push(`server "${name}": defined twice`);
      return;
    }
    seen.add(name);
    if (s.disabled === true || s.enabled === false) return;
    servers.push(toServer(name, s));
  });
  if (problems.length > 0) {
    throw new McpConfigError(`Invalid MCP config "${path}":\n  ${problems.join("\n  ")}`);
  }
  return servers;
}

function toServer(name: string, s: RawServer): McpServerConfig {
  const kind = s.type ?? s.transport;
  const transport = kind ? TRANSPORTS[kind.toLowerCase()]! : s.command ? "stdio" : "auto";
  if (transport === "stdio") {
    const args = typeof s.args === "string"
      ? s.args.split(/\s+/).filter(Boolean)
      : (s.args ?? []).map(String);
    const server: McpStdioServer = { name, transport: "stdio", command: s.command!, args };
    if (s.env) server.env = s.env;
    if (s.cwd) server.cwd = s.cwd;
    return server;
  }
  const server: McpRemoteServer = { name, transport, url: s.url! };
  if (s.headers) server.headers = s.headers;
  return server;
}

/**
 * Reads and validates the MCP config file. A missing file yields `[]`.
 *
 * @throws {McpConfigError} when the file is unreadable, not JSON, or invalid
 */
export async function loadMcpConfig(
  path: string,
  options: { signal?: AbortSignal } = {},
): Promise<McpServerConfig[]> {
  let text: string;
  try {
    text = await Deno.readTextFile(path, { signal: options.signal });
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return [];
    throw new McpConfigError(`Cannot read MCP config "${path}": ${(err as Error).message}`, {
      cause: err,
    });
  }
  if (text.trim() === "") return [];
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new McpConfigError(`Invalid MCP config "${path}": ${(err as Error).message}`, {
      cause: err,
    });
  }
  return parseMcpConfig(raw, path);
}
