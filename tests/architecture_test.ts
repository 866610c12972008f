/**
 * Dependencies point one way: each folder may import only the folders listed
 * for it below (its lower layers), so there is no import cycle between
 * folders. `deno task deps` prints the graph this test reads.
 */
import assert from "node:assert/strict";
import { importEdges, type Unit } from "./helpers/import_graph.ts";

/**
 * The layers, lowest first. `src/core` (chat types, error codes, clock,
 * logger) imports nothing of the others; ports are implemented by the
 * folders beside them; `src/server` and `main.ts` wire everything.
 */
const ALLOWED: Record<Unit, readonly Unit[]> = {
  "src/core": [],
  "src/protocol": ["src/core"],
  "src/memory": ["src/core"],
  "src/tools": ["src/core"],
  "src/security": ["src/core"],
  "src/observability": ["src/core"],
  "config": ["src/core", "src/security"],
  "src/engine": ["src/core", "src/memory", "src/tools"],
  "src/generations": ["src/core", "src/observability"],
  "src/cluster": ["src/core", "src/generations"],
  "src/voice": ["src/core"],
  "src/router": ["src/core", "src/protocol", "src/generations", "src/observability"],
  "src/actors": ["src/core", "src/protocol", "src/router", "src/generations", "src/observability"],
  "handlers": [
    "src/core",
    "src/protocol",
    "src/router",
    "src/security",
    "src/generations",
    "src/observability",
  ],
  "src/server": [
    "src/core",
    "config",
    "src/protocol",
    "src/memory",
    "src/tools",
    "src/security",
    "src/engine",
    "src/generations",
    "src/router",
    "src/actors",
    "handlers",
    "src/observability",
    "src/cluster",
    "src/voice",
  ],
  "main.ts": ["src/core", "config", "src/security", "src/server"],
};

Deno.test("imports between folders follow the declared layers", async () => {
  const wrong = (await importEdges())
    .filter((e) => !(ALLOWED[e.from] ?? []).includes(e.to))
    .map((e) => `${e.file} imports ${e.specifier} (${e.from} -> ${e.to})`);
  assert.deepEqual(wrong, [], `imports against the layers:\n${wrong.join("\n")}`);
});

Deno.test("the declared layers have no cycle", () => {
  const state = new Map<Unit, "visiting" | "done">();
  const visit = (unit: Unit, path: Unit[]): void => {
    if (state.get(unit) === "done") return;
    assert.notEqual(state.get(unit), "visiting", `cycle: ${[...path, unit].join(" -> ")}`);
    state.set(unit, "visiting");
    for (const next of ALLOWED[unit] ?? []) visit(next, [...path, unit]);
    state.set(unit, "done");
  };
  for (const unit of Object.keys(ALLOWED)) visit(unit, []);
});

Deno.test("every folder of the code base has a declared layer", async () => {
  const units = new Set((await importEdges()).flatMap((e) => [e.from, e.to]));
  const missing = [...units].filter((u) => !(u in ALLOWED));
  assert.deepEqual(missing, []);
});
