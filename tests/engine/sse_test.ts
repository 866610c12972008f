import assert from "node:assert/strict";
import { plainContentDelta, sseBatches, sseData } from "../../src/engine/sse.ts";

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

/** A content chunk as OpenAI writes it. */
function chunk(delta: Record<string, unknown>, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    id: "chatcmpl-1",
    object: "chat.completion.chunk",
    created: 1,
    model: "m",
    system_fingerprint: "fp",
    choices: [{ index: 0, delta, logprobs: null, finish_reason: null }],
    ...extra,
  });
}

Deno.test("plainContentDelta() reads plain text chunks exactly as JSON.parse does", async (t) => {
  for (
    const text of [
      "word ",
      "",
      'say "hi"',
      "back\\slash\\",
      '\\"',
      "line\nbreak\ttab",
      "你好 😀",
      '"usage":{"x":1}',
      '"error":"no"',
      "\u0000",
    ]
  ) {
    await t.step(JSON.stringify(text), () => {
      const data = chunk({ content: text });
      assert.equal(plainContentDelta(data), JSON.parse(data).choices[0].delta.content);
    });
  }
  await t.step("with include_usage's null usage", () => {
    assert.equal(plainContentDelta(chunk({ content: "x" }, { usage: null })), "x");
  });
});

Deno.test("plainContentDelta() leaves every other chunk to the full parser", async (t) => {
  const cases: [string, string][] = [
    ["role chunk", chunk({ role: "assistant", content: "" })],
    ["refusal", chunk({ content: "x", refusal: "no" })],
    ["tool call", chunk({ tool_calls: [{ index: 0, function: { arguments: "{}" } }] })],
    [
      "finish reason",
      JSON.stringify({
        choices: [{ index: 0, delta: { content: "x" }, logprobs: null, finish_reason: "stop" }],
      }),
    ],
    [
      "log probabilities",
      JSON.stringify({
        choices: [{
          index: 0,
          delta: { content: "x" },
          logprobs: { content: [] },
          finish_reason: null,
        }],
      }),
    ],
    ["usage after the choices", chunk({ content: "x" }, { usage: { total_tokens: 1 } })],
    [
      "usage before the choices",
      JSON.stringify({
        usage: { total_tokens: 1 },
        choices: [{ index: 0, delta: { content: "x" }, logprobs: null, finish_reason: null }],
      }),
    ],
    [
      "two choices",
      JSON.stringify({
        choices: [
          { index: 0, delta: { content: "x" }, logprobs: null, finish_reason: null },
          { index: 1, delta: { content: "y" }, logprobs: null, finish_reason: null },
        ],
      }),
    ],
    [
      "another index",
      JSON.stringify({
        choices: [{ index: 1, delta: { content: "x" }, logprobs: null, finish_reason: null }],
      }),
    ],
    ["spaced JSON", JSON.stringify(JSON.parse(chunk({ content: "x" })), null, 1)],
    ["an unfinished string", 'data {"choices":[{"index":0,"delta":{"content":"abc'],
  ];
  for (const [name, data] of cases) {
    await t.step(name, () => assert.equal(plainContentDelta(data), undefined));
  }
});
