import assert from "node:assert/strict";
import { type ChunkBody, ChunkCoalescer } from "../../src/generations/chunks.ts";

const tick = () => new Promise((r) => setTimeout(r, 5));

Deno.test("ChunkCoalescer sends the first delta at once and coalesces the rest per macrotask", async () => {
  const sent: ChunkBody[] = [];
  const c = new ChunkCoalescer((chunk) => sent.push(chunk), 1000);
  c.push("a");
  assert.deepEqual(sent, [{ content: "a" }]);
  c.push("b");
  c.push("c");
  assert.equal(sent.length, 1);
  await tick();
  assert.deepEqual(sent, [{ content: "a" }, { content: "bc" }]);
});

Deno.test("ChunkCoalescer concatenates log probabilities and refusals, losing none", async () => {
  const sent: ChunkBody[] = [];
  const c = new ChunkCoalescer((chunk) => sent.push(chunk), 1000);
  c.push("x", undefined, { content: [{ token: "x" }] });
  c.push("y", undefined, { content: [{ token: "y" }] });
  c.push("", "no", { refusal: [{ token: "no" }] });
  c.push("z", " way", { content: [{ token: "z" }] });
  c.flush();
  assert.deepEqual(sent, [
    { content: "x", logprobs: { content: [{ token: "x" }] } },
    {
      content: "yz",
      refusal: "no way",
      logprobs: { content: [{ token: "y" }, { token: "z" }], refusal: [{ token: "no" }] },
    },
  ]);
  await tick();
  assert.equal(sent.length, 2, "nothing left to send");
});

Deno.test("ChunkCoalescer keeps the log probabilities with the first piece of a cut chunk", () => {
  const sent: ChunkBody[] = [];
  const c = new ChunkCoalescer((chunk) => sent.push(chunk), 4);
  c.push("abcdefghij", undefined, { content: [{ token: "abcdefghij" }] });
  assert.deepEqual(sent.map((s) => s.content), ["abcd", "efgh", "ij"]);
  assert.deepEqual(sent[0]!.logprobs, { content: [{ token: "abcdefghij" }] });
  assert.equal(sent[1]!.logprobs, undefined);
});
