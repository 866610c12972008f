import assert from "node:assert/strict";
import { sseBatches, sseData } from "../../src/core/sse.ts";

function body(
  parts: (string | Uint8Array)[],
): { stream: ReadableStream<Uint8Array>; cancelled: () => boolean } {
  let cancelled = false;
  const encoder = new TextEncoder();
  const queue = parts.map((p) => typeof p === "string" ? encoder.encode(p) : p);
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      const next = queue.shift();
      if (next === undefined) controller.close();
      else controller.enqueue(next);
    },
    cancel() {
      cancelled = true;
    },
  });
  return { stream, cancelled: () => cancelled };
}

async function collect(parts: (string | Uint8Array)[]): Promise<string[]> {
  const out: string[] = [];
  for await (const data of sseData(body(parts).stream)) out.push(data);
  return out;
}

Deno.test("sseData() yields each event's data, however the bytes are split", async (t) => {
  const events = 'data: {"a":1}\n\ndata: {"b":"你好"}\n\ndata: [DONE]\n\n';
  const bytes = new TextEncoder().encode(events);
  await t.step("one read", async () => {
    assert.deepEqual(await collect([events]), ['{"a":1}', '{"b":"你好"}', "[DONE]"]);
  });
  await t.step("every possible split point, including inside a UTF-8 character", async () => {
    for (let i = 1; i < bytes.length; i++) {
      assert.deepEqual(await collect([bytes.slice(0, i), bytes.slice(i)]), [
        '{"a":1}',
        '{"b":"你好"}',
        "[DONE]",
      ], `split at ${i}`);
    }
  });
  await t.step("one byte per read", async () => {
    assert.deepEqual(await collect([...bytes].map((b) => new Uint8Array([b]))), [
      '{"a":1}',
      '{"b":"你好"}',
      "[DONE]",
    ]);
  });
});

Deno.test("sseData() follows the SSE format: CRLF, comments, other fields, multi-line data", async () => {
  const text =
    ": keep-alive\r\nevent: message\r\nid: 7\r\ndata: line one\r\ndata:line two\r\n\r\nretry: 10\n\n";
  assert.deepEqual(await collect([text]), ["line one\nline two"]);
});

Deno.test("sseData() reports every read, keep-alive comments included", async () => {
  let reads = 0;
  const out: string[] = [];
  for await (
    const d of sseData(body([": ping\n\n", ": ping\n\n", "data: 1\n\n"]).stream, {
      onRead: () => reads++,
    })
  ) out.push(d);
  assert.deepEqual(out, ["1"]);
  assert.ok(reads >= 3, `${reads} reads`);
});

Deno.test("sseData() refuses a line longer than its bound", async () => {
  const stream = body(["data: " + "x".repeat(100)]).stream;
  await assert.rejects(async () => {
    for await (const _ of sseData(stream, { maxLineChars: 50 })) { /* drain */ }
  }, RangeError);
});

Deno.test("sseData() yields a last event that lacks its blank line", async () => {
  assert.deepEqual(await collect(["data: 1\n\ndata: 2"]), ["1", "2"]);
});

Deno.test("sseData() cancels the body when the consumer stops early", async () => {
  const { stream, cancelled } = body(["data: 1\n\n", "data: 2\n\n", "data: 3\n\n"]);
  for await (const _ of sseData(stream)) break;
  assert.equal(cancelled(), true);
});

Deno.test("sseBatches() hands over the events of one read together", async () => {
  const batches: string[][] = [];
  for await (
    const batch of sseBatches(body(["data: 1\n\ndata: 2\n\n", ": ping\n\n", "data: 3\n\n"]).stream)
  ) batches.push(batch);
  assert.deepEqual(batches, [["1", "2"], ["3"]]);
});
