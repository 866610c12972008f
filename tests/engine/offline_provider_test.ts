import assert from "node:assert/strict";
import { detectIntent, OfflineProvider } from "../../src/engine/offline_provider.ts";
import type { ProviderEvent, ProviderRequest } from "../../src/engine/provider.ts";
import type { ChatMessage } from "../../src/core/chat.ts";
import { ChatError } from "../../src/core/errors.ts";
import type { ToolSpec } from "../../src/tools/tool.ts";

const TOOLS: ToolSpec[] = [
  { name: "calculator", description: "", parameters: {} },
  { name: "gettime", description: "", parameters: {} },
];

async function run(req: ProviderRequest, signal = new AbortController().signal) {
  const events: ProviderEvent[] = [];
  for await (const e of new OfflineProvider().complete(req, { signal })) events.push(e);
  return events;
}

function user(content: string): ChatMessage[] {
  return [{ role: "system", content: "sys" }, { role: "user", content }];
}

Deno.test("detectIntent() recognises arithmetic and time questions", async (t) => {
  const cases: [string, unknown][] = [
    ["what is 12 * 7", { kind: "calculator", args: { operation: "multiply", a: 12, b: 7 } }],
    ["2+3", { kind: "calculator", args: { operation: "add", a: 2, b: 3 } }],
    ["10 / 4?", { kind: "calculator", args: { operation: "divide", a: 10, b: 4 } }],
    ["2^8", { kind: "calculator", args: { operation: "pow", a: 2, b: 8 } }],
    ["sqrt 16", { kind: "calculator", args: { operation: "sqrt", a: 16 } }],
    ["what is 5 minus 9", { kind: "calculator", args: { operation: "subtract", a: 5, b: 9 } }],
    ["what time is it", { kind: "gettime", args: {} }],
    ["现在几点", { kind: "gettime", args: {} }],
    ["what time is it in Asia/Tokyo", { kind: "gettime", args: { timezone: "Asia/Tokyo" } }],
    ["tell me a story", { kind: "chat" }],
  ];
  for (const [text, expected] of cases) {
    await t.step(text, () => assert.deepEqual(detectIntent(text), expected));
  }
});

Deno.test("OfflineProvider.complete() calls calculator, then answers with the result", async () => {
  const first = await run({ messages: user("what is 12 * 7"), tools: TOOLS });
  assert.deepEqual(first[0], {
    type: "tool_calls",
    calls: [{
      id: "call_offline_1",
      name: "calculator",
      arguments: '{"operation":"multiply","a":12,"b":7}',
    }],
  });
  assert.equal(first.at(-1)!.type, "finish");
  assert.equal((first.at(-1) as { finishReason: string }).finishReason, "tool_calls");

  const second = await run({
    messages: [
      ...user("what is 12 * 7"),
      {
        role: "assistant",
        content: null,
        tool_calls: [{ id: "call_offline_1", name: "calculator", arguments: "{}" }],
      },
      {
        role: "tool",
        tool_call_id: "call_offline_1",
        name: "calculator",
        content: '{"result":84}',
      },
    ],
    tools: TOOLS,
  });
  const text = second.filter((e) => e.type === "delta").map((e) => e.content).join("");
  assert.equal(text, "The result is 84.");
  assert.deepEqual((second.at(-1) as { finishReason: string }).finishReason, "stop");
});

Deno.test("OfflineProvider.complete() asks gettime for time questions", async () => {
  const events = await run({ messages: user("现在几点"), tools: TOOLS });
  assert.equal(events[0]!.type, "tool_calls");
  assert.equal((events[0] as { calls: { name: string }[] }).calls[0]!.name, "gettime");
});

Deno.test("OfflineProvider.complete() streams one delta per word and says it is offline", async () => {
  const events = await run({ messages: user("hello there"), tools: TOOLS });
  const deltas = events.filter((e) => e.type === "delta").map((e) => e.content);
  assert.ok(deltas.length > 5);
  for (const d of deltas) assert.match(d, /^\S+\s*$/);
  const text = deltas.join("");
  assert.match(text, /offline demo provider/);
  assert.match(text, /You said: "hello there"/);
  const finish = events.at(-1) as { type: string; model: string; usage: { total_tokens: number } };
  assert.equal(finish.model, "yychat-offline");
  assert.ok(finish.usage.total_tokens > 0);
});

Deno.test("OfflineProvider.complete() answers arithmetic without tools when none are offered", async () => {
  const events = await run({ messages: user("what is 12 * 7") });
  assert.ok(events.every((e) => e.type !== "tool_calls"));
  const text = events.filter((e) => e.type === "delta").map((e) => e.content).join("");
  assert.match(text, /84/);
});

Deno.test("OfflineProvider.complete() is deterministic", async () => {
  const a = await run({ messages: user("hi"), tools: TOOLS });
  const b = await run({ messages: user("hi"), tools: TOOLS });
  assert.deepEqual(a, b);
});

Deno.test("OfflineProvider.complete() stops between words when the signal aborts", async () => {
  const ac = new AbortController();
  const seen: string[] = [];
  await assert.rejects(async () => {
    for await (
      const e of new OfflineProvider().complete({ messages: user("hello") }, { signal: ac.signal })
    ) {
      if (e.type === "delta") seen.push(e.content);
      if (seen.length === 2) ac.abort();
    }
  }, (err: unknown) => err instanceof ChatError && err.code === "cancelled");
  assert.equal(seen.length, 2);
});
