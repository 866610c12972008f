import assert from "node:assert/strict";
import { ToolRegistry } from "../../src/tools/registry.ts";
import type { Tool } from "../../src/tools/tool.ts";

const signal = new AbortController().signal;

function echoTool(name: string): Tool {
  return {
    name,
    description: `echo ${name}`,
    parameters: { type: "object" },
    call: (args) => Promise.resolve({ name, args }),
  };
}

Deno.test("ToolRegistry.list() returns specs in registration order", () => {
  const r = new ToolRegistry([echoTool("b"), echoTool("a")]);
  assert.deepEqual(r.list(), [
    { name: "b", description: "echo b", parameters: { type: "object" } },
    { name: "a", description: "echo a", parameters: { type: "object" } },
  ]);
  assert.ok(!("call" in r.list()[0]!));
});

Deno.test("ToolRegistry.call() dispatches by name", async () => {
  const r = new ToolRegistry([echoTool("a"), echoTool("b")]);
  assert.deepEqual(await r.call("b", { x: 1 }, { signal }), { name: "b", args: { x: 1 } });
});

Deno.test("ToolRegistry.call() rejects an unknown tool with RangeError", async () => {
  const r = new ToolRegistry([echoTool("a")]);
  await assert.rejects(() => r.call("nope", {}, { signal }), {
    name: "RangeError",
    message: 'Unknown tool "nope"',
  });
});

Deno.test("ToolRegistry.register() refuses a duplicate name", () => {
  const r = new ToolRegistry([echoTool("a")]);
  assert.throws(() => r.register(echoTool("a")), /Tool "a" is already registered/);
});

Deno.test("ToolRegistry.call() refuses when the signal is already aborted", async () => {
  const r = new ToolRegistry([echoTool("a")]);
  const ac = new AbortController();
  ac.abort();
  await assert.rejects(() => r.call("a", {}, { signal: ac.signal }));
});
