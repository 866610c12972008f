/**
 * `text_message` through the whole real path: WebSocket → handler → engine →
 * `openai` client → HTTP mock of the OpenAI API.
 */
import assert from "node:assert/strict";
import { type OpenAIMock, textReply, toolCallReply } from "../helpers/openai_mock.ts";
import { withMockedServer } from "../helpers/mocked_server.ts";
import type { TestServer } from "../helpers/test_server.ts";
import { waitFor } from "../helpers/wait.ts";
import { type Event, TestClient } from "../helpers/ws_client.ts";

function withMockServer(
  fn: (ctx: { mock: OpenAIMock; server: TestServer; client: TestClient }) => Promise<void>,
  env: Record<string, string> = {},
): Promise<void> {
  return withMockedServer(async ({ mock, server }) => {
    const { client } = await TestClient.connect(server.ws);
    try {
      await fn({ mock, server, client });
    } finally {
      await client.close();
    }
  }, env);
}

const types = (events: Event[]) => events.map((e) => e.type);

Deno.test("text_message streams the stage-1 sequence from the provider", async () => {
  await withMockServer(async ({ mock, client }) => {
    mock.enqueue(textReply("Hello! I'm doing well, thank you."));
    client.send({
      type: "text_message",
      content: "Hello, how are you?",
      timestamp: 1234567890.123,
    });
    const events = await client.until("stream_end");
    assert.deepEqual(types(events.slice(0, 2)), ["processing_start", "stream_start"]);
    assert.ok(types(events.slice(2, -1)).every((t) => t === "stream_chunk"));
    const chunks = events.filter((e) => e.type === "stream_chunk").map((e) => e.content).join("");
    assert.equal(chunks, "Hello! I'm doing well, thank you.");
    assert.equal(events.at(-1)!.full_content, chunks);
    assert.equal(events.at(-1)!.finish_reason, "stop");
    const sentToProvider = mock.completionRequests[0]!.body;
    assert.equal(sentToProvider.stream, true);
    assert.equal(sentToProvider.messages.at(-1).content, "Hello, how are you?");
    assert.equal(
      sentToProvider.messages[0].role,
      "system",
      "the personality's system prompt comes first",
    );
  });
});

Deno.test("text_message remembers a conversation across requests", async () => {
  await withMockServer(async ({ mock, client }) => {
    mock.enqueue(textReply("Nice to meet you, Ada."), textReply("Your name is Ada."));
    client.send({
      type: "text_message",
      content: "My name is Ada",
      conversation_id: "conv-ada",
      stream: false,
    });
    const first = await client.until("text_response");
    assert.equal(first.at(-1)!.conversation_id, "conv-ada");
    client.send({
      type: "text_message",
      content: "What is my name?",
      conversation_id: "conv-ada",
      stream: false,
    });
    assert.equal((await client.until("text_response")).at(-1)!.content, "Your name is Ada.");
    const contents = mock.completionRequests[1]!.body.messages.map((m: { content: string }) =>
      m.content
    );
    assert.ok(contents.includes("My name is Ada"));
    assert.ok(contents.includes("Nice to meet you, Ada."));
  });
});

Deno.test("text_message answers ping and get_status while a stream is running", async () => {
  await withMockServer(async ({ mock, client }) => {
    mock.enqueue(textReply("one two three four five six", { chunkDelayMs: 60 }));
    client.send({ type: "text_message", content: "count slowly", request_id: "slow" });
    await client.until("stream_start");
    client.send({ type: "ping", request_id: "p" });
    client.send({ type: "get_status", request_id: "s" });
    const events = await client.until("stream_end");
    const pong = events.findIndex((e) => e.type === "pong");
    const status = events.findIndex((e) => e.type === "status_response");
    const end = events.findIndex((e) => e.type === "stream_end");
    assert.ok(pong >= 0 && pong < end, "pong arrives before the stream ends");
    assert.ok(status >= 0 && status < end);
    assert.equal(events[pong]!.request_id, "p");
  });
});

Deno.test("cancel aborts the upstream request and ends the stream as cancelled", async () => {
  await withMockServer(async ({ mock, client }) => {
    mock.enqueue(textReply("a b c d e f g h i j k l m n o p", { chunkDelayMs: 100 }));
    client.send({ type: "text_message", content: "talk", request_id: "r-cancel" });
    const before = await client.until("stream_chunk");
    client.send({ type: "cancel", request_id: "r-cancel" });
    const after = await client.until("stream_end");
    const end = after.at(-1)!;
    assert.equal(end.finish_reason, "cancelled");
    assert.equal(end.request_id, "r-cancel");
    const streamed = [...before, ...after].filter((e) => e.type === "stream_chunk").map((e) =>
      e.content
    ).join("");
    assert.equal(end.full_content, streamed);
    await mock.waitForAbort();
    assert.equal(mock.completionRequests[0]!.completed, false);
  });
});

Deno.test("with on_disconnect: cancel, a disconnect cancels the reply upstream", async () => {
  await withMockServer(async ({ mock, server, client }) => {
    mock.enqueue(textReply("a b c d e f g h i j k l m n o p", { chunkDelayMs: 100 }));
    client.send({ type: "text_message", content: "talk", on_disconnect: "cancel" });
    await client.until("stream_chunk");
    await client.close();
    await mock.waitForAbort();
    await waitFor(() => server.app.supervisor.size === 0);
  });
});

Deno.test("text_message turns provider failures into error events with stable codes", async (t) => {
  await withMockServer(async ({ mock, client }) => {
    const cases: [string, Parameters<OpenAIMock["enqueue"]>[0], string][] = [
      ["HTTP 500", { kind: "error", status: 500, message: "upstream exploded" }, "upstream_error"],
      ["HTTP 429", { kind: "error", status: 429, message: "slow down" }, "rate_limited"],
      ["socket cut mid-stream", {
        kind: "reply",
        events: [{ type: "text", content: "par" }, { type: "cut" }],
      }, "upstream_error"],
    ];
    for (const [name, response, code] of cases) {
      await t.step(name, async () => {
        mock.enqueue(response);
        client.send({ type: "text_message", content: "hi", request_id: name });
        const events = await client.until("error");
        const error = events.at(-1)!;
        assert.equal((error.error as { code: string }).code, code);
        assert.equal(error.request_id, name);
        assert.equal(types(events).includes("stream_end"), false);
        assert.equal((await client.request({ type: "ping" })).type, "pong", "the socket survives");
      });
    }
  });
});

Deno.test("text_message over the concurrent stream limit is refused with too_many_streams", async () => {
  await withMockServer(async ({ mock, client }) => {
    for (let i = 0; i < 2; i++) mock.enqueue(textReply("x y z", { chunkDelayMs: 150 }));
    client.send({ type: "text_message", content: "one", request_id: "s1" });
    client.send({ type: "text_message", content: "two", request_id: "s2" });
    client.send({ type: "text_message", content: "three", request_id: "s3" });
    const events: Event[] = [];
    while (events.filter((e) => e.type === "stream_end").length < 2) {
      events.push(await client.next());
    }
    const refused = events.find((e) => e.type === "error")!;
    assert.equal((refused.error as { code: string }).code, "too_many_streams");
    assert.equal(refused.request_id, "s3");
    assert.deepEqual(
      events.filter((e) => e.type === "stream_end").map((e) => e.request_id).sort(),
      ["s1", "s2"],
    );
  }, { WS_MAX_STREAMS_PER_CONNECTION: "2" });
});

Deno.test("text_message with tool_events shows the model's tool call and its result", async () => {
  await withMockServer(async ({ mock, client }) => {
    mock.enqueue(
      toolCallReply([{
        id: "call_1",
        name: "calculator",
        arguments: { operation: "multiply", a: 6, b: 7 },
      }]),
      textReply("6 times 7 is 42."),
    );
    client.send({ type: "text_message", content: "what is 6*7?", tool_events: true });
    const events = await client.until("stream_end");
    assert.deepEqual(types(events).slice(0, 4), [
      "processing_start",
      "stream_start",
      "tool_call",
      "tool_result",
    ]);
    assert.equal(events[2]!.name, "calculator");
    assert.equal(events[3]!.ok, true);
    const toolMessage = mock.completionRequests[1]!.body.messages.find((m: { role: string }) =>
      m.role === "tool"
    );
    assert.match(toolMessage.content, /42/);
  });
});

Deno.test("graceful shutdown lets a running stream finish before closing with 1001", async () => {
  await withMockServer(async ({ mock, server, client }) => {
    mock.enqueue(textReply("still finishing this sentence", { chunkDelayMs: 50 }));
    client.send({ type: "text_message", content: "talk", request_id: "last" });
    await client.until("stream_start");
    const shutdown = server.app.shutdown();
    const events = await client.until("stream_end");
    assert.ok(types(events).includes("server_shutdown"));
    assert.equal(events.at(-1)!.finish_reason, "stop");
    assert.equal(events.at(-1)!.full_content, "still finishing this sentence");
    assert.equal((await client.closed).code, 1001);
    await shutdown;
  });
});

Deno.test("graceful shutdown cancels a stream that outlives the grace period", async () => {
  await withMockServer(async ({ mock, server, client }) => {
    mock.enqueue(textReply("a b c d e f g h i j k l m n o p q r s t", { chunkDelayMs: 100 }));
    client.send({ type: "text_message", content: "talk", request_id: "long" });
    await client.until("stream_chunk");
    const shutdown = server.app.shutdown();
    const end = (await client.until("stream_end")).at(-1)!;
    assert.equal(end.finish_reason, "cancelled");
    assert.equal((await client.closed).code, 1001);
    await shutdown;
    await mock.waitForAbort();
  }, { SHUTDOWN_GRACE_PERIOD: "0.3" });
});

Deno.test("a reply is delivered whole and stored once under a small WS_MESSAGE_SIZE_LIMIT", async () => {
  // The review's defect: with a 1,024-byte inbound limit, a 21-chunk reply
  // ended in response_too_large on stream_end after the turn was stored, so a
  // stage-1 client retried and the turn was stored twice.
  await withMockServer(async ({ mock, server, client }) => {
    const words = Array.from({ length: 21 }, (_, i) => `chunk-${i} ${"x".repeat(80)} `);
    mock.enqueue({
      kind: "reply",
      events: [...words.map((w) => ({ type: "text" as const, content: w })), {
        type: "finish",
        reason: "stop",
      }],
    });
    client.send({ type: "text_message", content: "tell me a lot", conversation_id: "small" });
    const events = await client.until("stream_end");
    const end = events.at(-1)!;
    assert.equal(end.full_content, words.join(""));
    assert.equal(events.filter((e) => e.type === "error").length, 0);
    const stored = await server.app.services.memory.list("", "small");
    assert.deepEqual(stored.map((m) => m.role), ["user", "assistant"]);
    assert.equal(stored[1]!.content, words.join(""));
  }, { WS_MESSAGE_SIZE_LIMIT: "1024" });
});

Deno.test("text_message cuts stream chunks to fit WS_MAX_OUTBOUND_BYTES", async () => {
  await withMockServer(async ({ mock, client }) => {
    const text = "你".repeat(30_000); // 90,000 UTF-8 bytes in one upstream delta
    mock.enqueue({
      kind: "reply",
      events: [{ type: "text", content: text }, { type: "finish", reason: "stop" }],
    });
    client.send({ type: "text_message", content: "write a lot", request_id: "big" });
    const events = await client.until("error");
    const chunks = events.filter((e) => e.type === "stream_chunk");
    assert.ok(chunks.length >= 2, `${chunks.length} chunks`);
    assert.equal(chunks.map((e) => e.content).join(""), text, "every chunk arrived");
    // stream_end would repeat all 90,000 bytes: over the limit, it becomes an error, never lost silently.
    const last = events.at(-1)!;
    assert.equal((last.error as { code: string }).code, "response_too_large");
    assert.equal(last.request_id, "big");
  }, { WS_MAX_OUTBOUND_BYTES: "65536" });
});
