/**
 * The names under which MCP tools are offered to a model. Providers accept
 * only `^[a-zA-Z0-9_-]{1,64}$` (OpenAI refuses the whole request otherwise),
 * while MCP servers name tools freely (`github.search`, `天气`, 200
 * characters…). Every offered name here is valid, unique among all offered
 * tools (built-ins included) and a pure function of the tool set, so it is the
 * same after a restart and does not depend on which server answered first.
 */
import { createHash } from "node:crypto";

/** What OpenAI (and most compatible providers) accept as a function name. */
export const TOOL_NAME_PATTERN = /^[a-zA-Z0-9_-]{1,64}$/;
export const MAX_TOOL_NAME_LENGTH = 64;
/** `_` plus 8 hex digits of SHA-256. */
const HASH_SUFFIX_LENGTH = 9;

/** One server's tools, by the names the server itself uses. */
export interface McpServerToolNames {
  server: string;
  tools: readonly string[];
}

export interface McpToolNamesOptions {
  /** Names already offered (built-in tools); never given to an MCP tool. */
  reserved: Iterable<string>;
  /** Every server's known tools, in configuration order (disconnected ones too, for stability). */
  servers: readonly McpServerToolNames[];
}

/** True when `name` can be offered to a model as is. */
export function isValidToolName(name: string): boolean {
  return TOOL_NAME_PATTERN.test(name);
}

/** Every code point outside `[a-zA-Z0-9_-]` becomes one `_` (an emoji too, not two). */
function sanitize(name: string): string {
  const out = Array.from(name, (ch) => /^[a-zA-Z0-9_-]$/.test(ch) ? ch : "_").join("");
  return out === "" ? "_" : out;
}

/** Stable short tag of one tool's identity (server and real name). */
function tag(server: string, tool: string): string {
  return createHash("sha256").update(`${server}\u0000${tool}`).digest("hex").slice(0, 8);
}

/** `name` cut to leave room for a `_<hash>` suffix, with the suffix. */
function withTag(name: string, server: string, tool: string): string {
  return `${name.slice(0, MAX_TOOL_NAME_LENGTH - HASH_SUFFIX_LENGTH)}_${tag(server, tool)}`;
}

/**
 * Chooses the offered name of every MCP tool.
 *
 * 1. A tool keeps its own name, unless a built-in has that name or a tool of
 *    another server has the same name (compared after step 2's cleaning):
 *    then it is `server__tool`.
 * 2. Characters outside `[a-zA-Z0-9_-]` become `_`; a name longer than 64 is
 *    cut to 55 characters plus `_` and 8 hex digits of SHA-256 of the server
 *    and tool names.
 * 3. Names that still clash (`a.b` and `a_b` on one server, a prefixed name
 *    equal to a built-in): a name the server gave exactly stays with its tool,
 *    every other one gets the hash suffix; a made-up name that still clashes
 *    (a hash collision, or a real tool named like it) is numbered `_2`, `_3`….
 *
 * Returns, per server and in the same order as its `tools`, the offered
 * name, or `undefined` for a name the server lists twice (the later copy is
 * dropped: a call could not tell them apart).
 */
export function mcpToolNames(options: McpToolNamesOptions): (string | undefined)[][] {
  const reserved = new Set(options.reserved);
  // Step 1: which servers offer each cleaned name.
  const owners = new Map<string, Set<string>>();
  for (const { server, tools } of options.servers) {
    for (const tool of tools) {
      const key = sanitize(tool);
      const set = owners.get(key) ?? new Set<string>();
      set.add(server);
      owners.set(key, set);
    }
  }
  interface Entry {
    server: string;
    tool: string;
    /** The name before cleaning (the tool's own, or `server__tool`). */
    wanted: string;
    name: string;
  }
  const entries: (Entry | undefined)[][] = options.servers.map(({ server, tools }) => {
    const seen = new Set<string>();
    return tools.map((tool) => {
      if (seen.has(tool)) return undefined;
      seen.add(tool);
      const key = sanitize(tool);
      const clash = reserved.has(key) || (owners.get(key)?.size ?? 0) > 1;
      const wanted = clash ? `${server}__${tool}` : tool;
      // Step 2: valid characters and length.
      const clean = sanitize(wanted);
      const name = clean.length <= MAX_TOOL_NAME_LENGTH ? clean : withTag(clean, server, tool);
      return { server, tool, wanted, name };
    });
  });
  // Step 3: clashes left after cleaning, decided per name so order does not matter.
  const all = entries.flat().filter((e): e is Entry => e !== undefined);
  const byName = new Map<string, Entry[]>();
  for (const e of all) byName.set(e.name, [...(byName.get(e.name) ?? []), e]);
  for (const [name, group] of byName) {
    if (group.length === 1 && !reserved.has(name)) continue;
    const exact = reserved.has(name) ? [] : group.filter((e) => e.wanted === name);
    for (const e of group) {
      if (exact.length === 1 && exact[0] === e) continue;
      e.name = withTag(e.name, e.server, e.tool);
    }
  }
  // Names a server gave exactly are settled first, so only made-up names get numbered.
  const taken = new Set(reserved);
  const exactFirst = [
    ...all.filter((e) => e.name === e.wanted),
    ...all.filter((e) => e.name !== e.wanted),
  ];
  for (const e of exactFirst) {
    let name = e.name;
    for (let i = 2; taken.has(name); i++) {
      const suffix = `_${i}`;
      name = e.name.slice(0, MAX_TOOL_NAME_LENGTH - suffix.length) + suffix;
    }
    e.name = name;
    taken.add(name);
  }
  return entries.map((list) => list.map((e) => e?.name));
}
