/**
 * The folder-level import graph of the server code (`main.ts`, `config/`,
 * `handlers/`, `src/*`): which folder imports which. `deno task deps` prints
 * it; `tests/architecture_test.ts` checks it against the declared layers.
 */

/** A folder of the code base: `src/<name>`, `config`, `handlers`, or `main.ts`. */
export type Unit = string;

export interface ImportEdge {
  from: Unit;
  to: Unit;
  /** The importing file, repository-relative. */
  file: string;
  specifier: string;
}

const ROOT = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");
const SOURCES = ["main.ts", "config", "handlers", "src"];
const IMPORT = /(?:^|\n)\s*(?:import|export)\b[^;'"]*?(?:from\s*)?["'](\.{1,2}\/[^"']+)["']/g;

/** The unit a repository-relative path belongs to. */
export function unitOf(path: string): Unit {
  const parts = path.split("/");
  if (parts[0] === "src") return parts.length > 2 ? `src/${parts[1]}` : "src";
  return parts[0]!;
}

/** Every relative import between two different units. */
export async function importEdges(): Promise<ImportEdge[]> {
  const edges: ImportEdge[] = [];
  for (const file of await sourceFiles()) {
    const text = await Deno.readTextFile(`${ROOT}/${file}`);
    for (const [, specifier] of text.matchAll(IMPORT)) {
      const target = new URL(specifier!, `file://${ROOT}/${file}`).pathname.slice(ROOT.length + 1);
      const from = unitOf(file);
      const to = unitOf(target);
      if (from !== to) edges.push({ from, to, file, specifier: specifier! });
    }
  }
  return edges;
}

async function sourceFiles(): Promise<string[]> {
  const files: string[] = [];
  const walk = async (rel: string) => {
    const info = await Deno.stat(`${ROOT}/${rel}`);
    if (info.isFile) {
      if (rel.endsWith(".ts")) files.push(rel);
      return;
    }
    for await (const entry of Deno.readDir(`${ROOT}/${rel}`)) await walk(`${rel}/${entry.name}`);
  };
  for (const s of SOURCES) await walk(s);
  return files.sort();
}

if (import.meta.main) {
  const graph = new Map<Unit, Set<Unit>>();
  for (const e of await importEdges()) {
    if (!graph.has(e.from)) graph.set(e.from, new Set());
    graph.get(e.from)!.add(e.to);
  }
  for (const [from, tos] of [...graph].sort(([a], [b]) => a.localeCompare(b))) {
    console.log(`${from.padEnd(16)} -> ${[...tos].sort().join(", ")}`);
  }
}
