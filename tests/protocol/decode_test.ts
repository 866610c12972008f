import assert from "node:assert/strict";
import { decodeFrame, utf8LengthExceeds } from "../../src/protocol/decode.ts";

const known = (t: string) =>
  ["ping", "heartbeat", "get_status", "text_message", "cancel", "auth"].includes(t);

Deno.test("decodeFrame() answers each bad input with its stable code", async (t) => {
  const cases: [string, string, string, string | undefined][] = [
    ["invalid JSON", "{nope", "invalid_json", undefined],
    ["empty frame", "", "invalid_json", undefined],
    ["JSON array", "[1,2]", "invalid_message", undefined],
    ["JSON string", '"ping"', "invalid_message", undefined],
    ["JSON null", "null", "invalid_message", undefined],
    ["JSON number", "42", "invalid_message", undefined],
    ["missing type", '{"request_id":"r1"}', "missing_type", "r1"],
    ["empty type", '{"type":""}', "missing_type", undefined],
    ["numeric type", '{"type":7}', "missing_type", undefined],
    ["unknown type", '{"type":"dance","request_id":"r2"}', "unknown_message_type", "r2"],
    ["inherited property as type", '{"type":"constructor"}', "unknown_message_type", undefined],
    ["text_message without content", '{"type":"text_message"}', "validation_error", undefined],
    [
      "text_message with blank content",
      '{"type":"text_message","content":"   "}',
      "validation_error",
      undefined,
    ],
    [
      "text_message with numeric content",
      '{"type":"text_message","content":5}',
      "validation_error",
      undefined,
    ],
    [
      "stream not boolean",
      '{"type":"text_message","content":"hi","stream":"yes"}',
      "validation_error",
      undefined,
    ],
    ["cancel without request_id", '{"type":"cancel"}', "validation_error", undefined],
    [
      "request_id too long",
      JSON.stringify({ type: "ping", request_id: "x".repeat(200) }),
      "validation_error",
      undefined,
    ],
  ];
  for (const [name, frame, code, requestId] of cases) {
    await t.step(name, () => {
      const result = decodeFrame(frame, known);
      assert.equal(result.ok, false);
      if (result.ok) return;
      assert.equal(result.code, code);
      assert.equal(result.requestId, requestId);
      assert.ok(result.message.length > 0);
    });
  }
});

Deno.test("decodeFrame() names the unknown type in the stage-1 wording", () => {
  const result = decodeFrame('{"type":"dance"}', known);
  assert.deepEqual(result.ok ? undefined : result.message, "Unknown message type: dance");
});

Deno.test("decodeFrame() accepts stage-1 messages, ignoring extra fields and nulls", () => {
  const result = decodeFrame(
    JSON.stringify({
      type: "text_message",
      content: "Hello",
      conversation_id: null,
      personality_id: null,
      timestamp: 1234567890.123,
      client_id: "whatever",
      extra: { nested: true },
    }),
    known,
  );
  assert.ok(result.ok);
  assert.equal(result.msg.type, "text_message");
  assert.equal("extra" in result.msg, false);
});

Deno.test("decodeFrame() refuses a type that has a schema but no handler", () => {
  const result = decodeFrame('{"type":"cancel","request_id":"a"}', (t) => t === "ping");
  assert.equal(result.ok ? "ok" : result.code, "unknown_message_type");
});

Deno.test("utf8LengthExceeds() counts UTF-8 bytes, not UTF-16 units", async (t) => {
  const cases: [string, string, number, boolean][] = [
    ["ascii at the limit", "a".repeat(10), 10, false],
    ["ascii over the limit", "a".repeat(11), 10, true],
    ["CJK: 3 bytes each", "你好你", 9, false],
    ["CJK over", "你好你好", 11, true],
    ["emoji: 4 bytes each", "😀😀", 8, false],
    ["emoji over", "😀😀", 7, true],
    ["two-byte chars", "éé", 4, false],
  ];
  for (const [name, text, limit, expected] of cases) {
    await t.step(name, () => {
      assert.equal(utf8LengthExceeds(text, limit), expected);
      assert.equal(new TextEncoder().encode(text).length > limit, expected);
    });
  }
});

Deno.test("decodeFrame() echoes at most 64 characters of an unknown type", () => {
  const result = decodeFrame(JSON.stringify({ type: "x".repeat(5000) }), known);
  assert.equal(result.ok ? "" : result.message, `Unknown message type: ${"x".repeat(64)}…`);
});
