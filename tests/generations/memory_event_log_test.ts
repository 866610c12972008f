import assert from "node:assert/strict";
import { type GenerationRecord, MemoryEventLog } from "../../src/generations/mod.ts";

const record = (key: string): GenerationRecord => ({
  key,
  requestId: key,
  principal: "",
  tokenHash: "0".repeat(64),
  node: "n1",
  stream: true,
  status: "running",
  createdAtMs: 0,
});

function fill(log: MemoryEventLog, key: string, chunks: number, size = 100): void {
  log.create(record(key));
  log.append(key, { seq: 1, type: "processing_start" });
  for (let i = 0; i < chunks; i++) {
    log.append(key, { seq: i + 2, type: "chunk", content: "x".repeat(size) });
  }
}

Deno.test("MemoryEventLog keeps each generation within its byte budget, newest events first", async () => {
  // The budget covers the events and the snapshot text (50 × 100 characters here).
  const log = new MemoryEventLog({
    maxBytesPerGeneration: 20_000,
    maxTotalBytes: 1 << 20,
    resumeWindowMs: 1000,
  });
  fill(log, "a", 50);
  const read = await log.read("a", 0);
  assert.equal(read?.recovered, false);
  assert.equal(read?.topSeq, 51);
  if (read && !read.recovered) {
    assert.equal(read.snapshot.seq, 51);
    assert.equal(read.snapshot.content.length, 5000, "the snapshot holds all the text");
  }
  const tail = await log.read("a", 49);
  assert.deepEqual(tail?.recovered && tail.events.map((e) => e.seq), [50, 51]);
  assert.ok(log.totalBytes <= 20_000, `${log.totalBytes} bytes`);
});

Deno.test("MemoryEventLog evicts the oldest finished logs first when the node is over budget", async () => {
  const log = new MemoryEventLog({
    maxBytesPerGeneration: 1 << 20,
    maxTotalBytes: 6000,
    resumeWindowMs: 1000,
  });
  fill(log, "old", 5);
  log.finish("old", 0);
  fill(log, "running", 5);
  fill(log, "newer", 5);
  log.finish("newer", 0);
  fill(log, "big", 5); // over the budget now
  assert.equal(await log.get("old"), undefined, "oldest finished goes first");
  assert.ok(await log.get("running"), "running ones are kept");
  assert.ok(log.totalBytes <= 6000 || (await log.get("newer")) === undefined);
});

Deno.test("MemoryEventLog.expire() drops finished logs past the resume window only", async () => {
  const log = new MemoryEventLog({
    maxBytesPerGeneration: 1 << 20,
    maxTotalBytes: 1 << 20,
    resumeWindowMs: 1000,
  });
  fill(log, "done", 1);
  log.finish("done", 5000);
  fill(log, "running", 1);
  log.expire(5999);
  assert.ok(await log.get("done"));
  log.expire(6000);
  assert.equal(await log.get("done"), undefined);
  assert.ok(await log.get("running"));
  assert.equal(log.size, 1);
});
