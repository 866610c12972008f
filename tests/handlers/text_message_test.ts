import assert from "node:assert/strict";
import { TextMessageHandler } from "../../handlers/text_message.ts";
import { CancelHandler } from "../../handlers/cancel.ts";
import { ChatError } from "../../src/core/errors.ts";
import { silentLogger } from "../../src/core/logger.ts";
import {
  Attachments,
  GenerationRegistry,
  MAX_CHUNK_CHARS,
  MemoryEventLog,
  splitText,
} from "../../src/generations/mod.ts";
import { FakeClock } from "../helpers/fake_clock.ts";
import type { OutboundBody, TextMessage } from "../../src/protocol/messages.ts";
import type { ConnectionContext } from "../../src/router/router.ts";
import { ScriptedEngine, type Step } from "../helpers/fake_engine.ts";

type Sent = OutboundBody & Record<string, unknown>;

function context(principal = "") {
  const sent: Sent[] = [];
  const controller = new AbortController();
  const ctx: ConnectionContext = {
    clientId: "c1",
    principal,
    authenticated: true,
    signal: controller.signal,
    attachments: new Attachments(),
    send: (body) => (sent.push(body as Sent), true),
    authenticate: () => Promise.resolve(true),
    close() {},
  };
  return {
    ctx,
    sent,
    disconnect: () => {
      controller.abort();
      ctx.attachments.detachAll("disconnect");
    },
  };
}

/** Registries made by `handler()`, closed after each test (their sweep timers). */
const registries: GenerationRegistry[] = [];

function handler(
  engine: ScriptedEngine,
  overrides: { maxStreams?: number; streamDefault?: boolean } = {},
) {
  const registry = new GenerationRegistry({
    runner: engine,
    log: new MemoryEventLog({
      maxBytesPerGeneration: 1 << 20,
      maxTotalBytes: 1 << 24,
      resumeWindowMs: 60_000,
    }),
    clock: new FakeClock(),
    logger: silentLogger,
    nodeId: "test",
    maxChunkChars: MAX_CHUNK_CHARS,
    detachedLimitMs: 60_000,
    maxSubscribers: 4,
  });
  registries.push(registry);
  return new TextMessageHandler({
    generations: registry,
    maxStreamsPerConnection: overrides.maxStreams ?? 4,
    useToolsDefault: true,
    streamDefault: overrides.streamDefault ?? true,
  });
}

/** Until every generation started so far has finished, then releases the registries. */
async function settled(): Promise<void> {
  for (const r of registries.splice(0)) {
    await r.settled();
    await r.close();
  }
}

const msg = (fields: Partial<TextMessage> = {}): TextMessage => ({
  type: "text_message",
  content: "Hello",
  ...fields,
});
const reply: Step[] = [
  { type: "delta", content: "Hello" },
  { type: "delta", content: " there" },
  { type: "done", finishReason: "stop", content: "Hello there", model: "m" },
];

Deno.test("TextMessageHandler streams the stage-1 sequence with request_id and seq", async () => {
  const { ctx, sent } = context();
  handler(new ScriptedEngine(reply)).handle(msg(), ctx);
  await settled();
  assert.deepEqual(sent.map((e) => e.type), [
    "processing_start",
    "stream_start",
    "stream_chunk",
    "stream_chunk",
    "stream_end",
  ]);
  assert.deepEqual(sent.map((e) => e.seq), [1, 2, 3, 4, 5]);
  const requestId = sent[0]!.request_id;
  assert.match(String(requestId), /^[0-9a-f-]{36}$/, "the server assigns a request_id");
  assert.ok(sent.every((e) => e.request_id === requestId));
  assert.deepEqual(sent.slice(2, 4).map((e) => e.content), ["Hello", " there"]);
  assert.equal(sent[4]!.full_content, "Hello there");
  assert.equal(sent[4]!.finish_reason, "stop");
});

Deno.test("TextMessageHandler answers stream:false with processing_start then text_response", async () => {
  const { ctx, sent } = context();
  handler(new ScriptedEngine(reply)).handle(
    msg({ stream: false, conversation_id: "conv-1", request_id: "r1" }),
    ctx,
  );
  await settled();
  assert.deepEqual(sent.map((e) => [e.type, e.request_id]), [["processing_start", "r1"], [
    "text_response",
    "r1",
  ]]);
  assert.equal(sent[1]!.content, "Hello there");
  assert.equal(sent[1]!.conversation_id, "conv-1");
});

Deno.test("TextMessageHandler falls back to the configured stream default", async () => {
  const { ctx, sent } = context();
  handler(new ScriptedEngine(reply), { streamDefault: false }).handle(msg(), ctx);
  await settled();
  assert.deepEqual(sent.map((e) => e.type), ["processing_start", "text_response"]);
});

Deno.test("TextMessageHandler passes the request's fields and the principal to the engine", async () => {
  const { ctx } = context("key_abc");
  const engine = new ScriptedEngine(reply);
  handler(engine).handle(
    msg({ content: "Hi", conversation_id: "c9", personality_id: "concise", use_tools: false }),
    ctx,
  );
  await settled();
  assert.deepEqual(engine.requests[0], {
    messages: [{ role: "user", content: "Hi" }],
    conversationId: "c9",
    personalityId: "concise",
    useTools: false,
    namespace: "key_abc",
    stream: true,
  });
});

Deno.test("TextMessageHandler splits a delta longer than the chunk limit, losing nothing", async () => {
  const { ctx, sent } = context();
  const big = "x".repeat(MAX_CHUNK_CHARS * 2 + 10);
  handler(
    new ScriptedEngine([{ type: "delta", content: big }, {
      type: "done",
      finishReason: "stop",
      content: big,
      model: "m",
    }]),
  )
    .handle(msg(), ctx);
  await settled();
  const chunks = sent.filter((e) => e.type === "stream_chunk").map((e) => String(e.content));
  assert.deepEqual(chunks.map((c) => c.length), [MAX_CHUNK_CHARS, MAX_CHUNK_CHARS, 10]);
  assert.equal(chunks.join(""), big);
});

Deno.test("TextMessageHandler sends tool events only when the client opted in", async (t) => {
  const steps: Step[] = [
    {
      type: "tool_call",
      id: "t1",
      name: "calculator",
      arguments: { operation: "add", a: 1, b: 2 },
    },
    { type: "tool_result", id: "t1", name: "calculator", ok: true },
    ...reply,
  ];
  for (const optIn of [false, true]) {
    await t.step(`tool_events: ${optIn}`, async () => {
      const { ctx, sent } = context();
      handler(new ScriptedEngine(steps)).handle(msg({ tool_events: optIn }), ctx);
      await settled();
      const types = sent.map((e) => e.type);
      assert.equal(types.includes("tool_call"), optIn);
      assert.equal(types.includes("tool_result"), optIn);
      if (optIn) {
        assert.deepEqual(types.slice(0, 4), [
          "processing_start",
          "stream_start",
          "tool_call",
          "tool_result",
        ]);
        assert.equal(sent[2]!.name, "calculator");
        assert.deepEqual(sent[2]!.arguments, { operation: "add", a: 1, b: 2 });
        assert.equal(sent[3]!.ok, true);
      }
    });
  }
});

Deno.test("TextMessageHandler ends a failed request with one error event carrying the engine's code", async (t) => {
  const cases: [string, Error, string][] = [
    [
      "provider 429",
      new ChatError("rate_limited", "Rate limited by the provider"),
      "rate_limited",
    ],
    [
      "provider cut mid-stream",
      new ChatError("upstream_error", "Stream broke"),
      "upstream_error",
    ],
    [
      "unknown personality",
      new ChatError("personality_not_found", 'Unknown personality "x"'),
      "personality_not_found",
    ],
    ["unexpected bug", new Error("kaboom"), "internal_error"],
  ];
  for (const [name, error, code] of cases) {
    await t.step(name, async () => {
      const { ctx, sent } = context();
      handler(new ScriptedEngine([{ type: "delta", content: "partial" }, { type: "fail", error }]))
        .handle(msg({ request_id: "r1" }), ctx);
      await settled();
      assert.deepEqual(sent.map((e) => e.type), [
        "processing_start",
        "stream_start",
        "stream_chunk",
        "error",
      ]);
      const last = sent.at(-1)!;
      assert.equal((last.error as { code: string }).code, code);
      assert.equal(last.request_id, "r1");
      assert.equal(last.seq, 4);
      if (code === "internal_error") assert.doesNotMatch(JSON.stringify(last), /kaboom/);
    });
  }
});

Deno.test("CancelHandler aborts the stream, which ends with finish_reason cancelled and the text so far", async () => {
  const { ctx, sent } = context();
  const engine = new ScriptedEngine([{ type: "delta", content: "Once upon" }, {
    type: "pause",
    ms: 10_000,
  }, ...reply]);
  handler(engine).handle(msg({ request_id: "story" }), ctx);
  await new Promise((r) => setTimeout(r, 10));
  new CancelHandler().handle({ type: "cancel", request_id: "story" }, ctx);
  await settled();
  assert.equal(engine.signals[0]!.aborted, true);
  const end = sent.at(-1)!;
  assert.equal(end.type, "stream_end");
  assert.equal(end.finish_reason, "cancelled");
  assert.equal(end.full_content, "Once upon");
  assert.equal(ctx.attachments.size, 0);
});

Deno.test("CancelHandler refuses an unknown request_id", () => {
  const { ctx } = context();
  assert.throws(
    () => new CancelHandler().handle({ type: "cancel", request_id: "nope" }, ctx),
    (err: unknown) => err instanceof ChatError && err.code === "unknown_request",
  );
});

Deno.test("TextMessageHandler limits concurrent streams and refuses a duplicate request_id", async () => {
  const { ctx, disconnect } = context();
  const engine = new ScriptedEngine([{ type: "pause", ms: 10_000 }]);
  const h = handler(engine, { maxStreams: 2 });
  h.handle(msg({ request_id: "a", on_disconnect: "cancel" }), ctx);
  assert.throws(
    () => h.handle(msg({ request_id: "a" }), ctx),
    (err: unknown) => err instanceof ChatError && err.code === "duplicate_request_id",
  );
  h.handle(msg({ request_id: "b", on_disconnect: "cancel" }), ctx);
  assert.throws(
    () => h.handle(msg({ request_id: "c" }), ctx),
    (err: unknown) => err instanceof ChatError && err.code === "too_many_streams",
  );
  disconnect(); // with on_disconnect: "cancel", a disconnect cancels the streams
  await settled();
  assert.ok(engine.signals.every((s) => s.aborted));
  assert.equal(ctx.attachments.size, 0);
});

Deno.test("TextMessageHandler sends the first chunk at once and coalesces a burst after it", async (t) => {
  const words = Array.from({ length: 50 }, (_, i) => `w${i} `);
  const done: Step = { type: "done", finishReason: "stop", content: words.join(""), model: "m" };
  await t.step("a burst arriving together becomes few frames, nothing lost", async () => {
    const { ctx, sent } = context();
    handler(
      new ScriptedEngine([...words.map((content): Step => ({ type: "delta", content })), done]),
    )
      .handle(msg(), ctx);
    await settled();
    const chunks = sent.filter((e) => e.type === "stream_chunk").map((e) => String(e.content));
    assert.equal(chunks[0], "w0 ");
    assert.ok(chunks.length < words.length, `${chunks.length} frames for ${words.length} deltas`);
    assert.equal(chunks.join(""), words.join(""));
    assert.equal(sent.at(-1)!.full_content, words.join(""));
  });
  await t.step("deltas arriving apart stay separate chunks", async () => {
    const { ctx, sent } = context();
    const paced = words.slice(0, 5).flatMap((
      content,
    ): Step[] => [{ type: "delta", content }, { type: "pause", ms: 5 }]);
    handler(new ScriptedEngine([...paced, done])).handle(msg(), ctx);
    await settled();
    const chunks = sent.filter((e) => e.type === "stream_chunk").map((e) => e.content);
    assert.deepEqual(chunks, words.slice(0, 5));
  });
});

Deno.test("TextMessageHandler refuses new requests while the server drains", async () => {
  const { ctx } = context();
  const engine = new ScriptedEngine(reply);
  const h = handler(engine);
  await registries[0]!.drain(0);
  assert.throws(
    () => h.handle(msg({ request_id: "late" }), ctx),
    (err: unknown) => err instanceof ChatError && err.code === "server_shutting_down",
  );
  assert.equal(engine.requests.length, 0);
  assert.equal(ctx.attachments.size, 0);
  await settled();
});

Deno.test("splitText() never cuts a surrogate pair", async (t) => {
  const cases: [string, string, number, string[]][] = [
    ["short text is one piece", "hello", 10, ["hello"]],
    ["plain split", "abcdef", 4, ["abcd", "ef"]],
    ["emoji on the boundary moves to the next piece", "abc😀d", 4, ["abc", "😀d"]],
    ["emoji right before the boundary stays", "ab😀cd", 4, ["ab😀", "cd"]],
  ];
  for (const [name, text, max, expected] of cases) {
    await t.step(name, () => {
      const pieces = splitText(text, max);
      assert.deepEqual(pieces, expected);
      assert.equal(pieces.join(""), text);
      for (const p of pieces) assert.ok(p.isWellFormed(), `${JSON.stringify(p)} is valid text`);
    });
  }
});
