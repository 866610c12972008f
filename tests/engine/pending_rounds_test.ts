import assert from "node:assert/strict";
import type { ChatMessage } from "../../src/core/chat.ts";
import { newTurn } from "../../src/engine/chat_engine.ts";
import { type PendingRound, PendingRounds } from "../../src/engine/pending_rounds.ts";

function round(ids: string[], text = "x", namespace = ""): PendingRound {
  return {
    namespace,
    input: [{ role: "user", content: text }],
    turn: [{
      role: "assistant",
      content: null,
      tool_calls: ids.map((id) => ({ id, name: "f", arguments: "{}" })),
    }],
    clientCallIds: ids,
  };
}

Deno.test("PendingRounds keeps a reply under each client call id, per namespace", () => {
  const p = new PendingRounds();
  const r = round(["a", "b"]);
  p.put(r);
  assert.equal(p.get("", "a"), r);
  assert.equal(p.get("", "b"), r);
  assert.equal(p.get("other-key", "a"), undefined, "another key never sees it");
  assert.equal(p.get("", "c"), undefined);
});

Deno.test("PendingRounds forgets replies past their age, count or size", async (t) => {
  await t.step("age", () => {
    let now = 0;
    const p = new PendingRounds({ ttlMs: 1000, now: () => now });
    p.put(round(["a"]));
    now = 999;
    assert.ok(p.get("", "a"));
    now = 1000;
    assert.equal(p.get("", "a"), undefined);
    assert.equal(p.size, 0);
  });
  await t.step("count: the oldest goes first", () => {
    const p = new PendingRounds({ maxEntries: 2 });
    p.put(round(["a"]));
    p.put(round(["b"]));
    p.put(round(["c"]));
    assert.equal(p.size, 2);
    assert.equal(p.get("", "a"), undefined);
    assert.ok(p.get("", "b") && p.get("", "c"));
  });
  await t.step("size", () => {
    const p = new PendingRounds({ maxChars: 1000 });
    p.put(round(["a"], "x".repeat(400)));
    p.put(round(["b"], "y".repeat(400)));
    assert.equal(p.get("", "a"), undefined, "evicted to stay under 1,000 characters");
    assert.ok(p.get("", "b"));
    p.put(round(["huge"], "z".repeat(5000)));
    assert.equal(p.get("", "huge"), undefined, "one bigger than the bound is not kept");
    assert.ok(p.get("", "b"));
  });
});

const u = (content: string): ChatMessage => ({ role: "user", content });
const a = (content: string): ChatMessage => ({ role: "assistant", content });
const call = (...ids: string[]): ChatMessage => ({
  role: "assistant",
  content: null,
  tool_calls: ids.map((id) => ({ id, name: "f", arguments: "{}" })),
});
const result = (id: string): ChatMessage => ({ role: "tool", tool_call_id: id, content: "r" });

Deno.test("newTurn() is what follows the last answer, or the whole tool exchange being continued", async (t) => {
  const cases: [string, ChatMessage[], ChatMessage[]][] = [
    ["first message", [u("hi")], [u("hi")]],
    ["after an answer", [u("a"), a("b"), u("c")], [u("c")]],
    ["a continuation of client tool calls", [u("a"), a("b"), u("c"), call("1"), result("1")], [
      u("c"),
      call("1"),
      result("1"),
    ]],
    [
      "several rounds of client calls",
      [u("c"), call("1"), result("1"), call("2", "3"), result("2"), result("3")],
      [u("c"), call("1"), result("1"), call("2", "3"), result("2"), result("3")],
    ],
    [
      "a finished exchange is not new",
      [u("c"), call("1"), result("1"), a("done"), u("next")],
      [u("next")],
    ],
    ["tool results alone", [result("1")], [result("1")]],
  ];
  for (const [name, messages, expected] of cases) {
    await t.step(name, () => assert.deepEqual(newTurn(messages), expected));
  }
});
