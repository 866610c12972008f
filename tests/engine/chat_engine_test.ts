import assert from "node:assert/strict";
import { engineFailure } from "../helpers/engine_failure.ts";
import { loadSettings } from "../../config/settings.ts";
import { ChatEngine } from "../../src/engine/chat_engine.ts";
import { createEngine } from "../../src/server/services.ts";
import { Logger, silentLogger } from "../../src/core/logger.ts";
import type { ChatEngineOptions } from "../../src/engine/chat_engine.ts";
import { OfflineProvider } from "../../src/engine/offline_provider.ts";
import { OpenAIProvider } from "../../src/engine/openai_provider.ts";
import { parsePersonality, Personalities } from "../../src/engine/personalities.ts";
import type { Provider, ProviderEvent, ProviderRequest } from "../../src/engine/provider.ts";
import { ChatError } from "../../src/core/errors.ts";
import type { EngineEvent, EngineRequest } from "../../src/core/chat.ts";
import { createCalculatorTool } from "../../src/tools/calculator.ts";
import { createGetTimeTool } from "../../src/tools/gettime.ts";
import { ToolRegistry } from "../../src/tools/registry.ts";
import type { Tool } from "../../src/tools/tool.ts";
import { MemoryFake } from "../helpers/memory_fake.ts";
import { OpenAIMock, textReply, toolCallReply } from "../helpers/openai_mock.ts";

/** A provider answering from a script, one entry per call; records every request. */
class ScriptedProvider implements Provider {
  readonly model = "scripted-model";
  readonly offline = false;
  readonly requests: ProviderRequest[] = [];
  constructor(
    readonly script:
      (ProviderEvent[] | Error | ((signal: AbortSignal) => AsyncGenerator<ProviderEvent>))[],
  ) {}
  async *complete(req: ProviderRequest, { signal }: { signal: AbortSignal }) {
    this.requests.push(structuredClone(req));
    const next = this.script.shift();
    if (!next) throw new Error("ScriptedProvider: script exhausted");
    if (next instanceof Error) throw next;
    if (typeof next === "function") {
      yield* next(signal);
      return;
    }
    for (const e of next) {
      await Promise.resolve();
      yield e;
    }
  }
}

const text = (s: string, usage = { prompt_tokens: 5, completion_tokens: 2, total_tokens: 7 }) => [
  ...s.split(/(?<= )/).map((content) => ({ type: "delta" as const, content })),
  { type: "finish" as const, finishReason: "stop" as const, usage },
];
const calls = (...cs: { id: string; name: string; arguments: string }[]): ProviderEvent[] => [
  { type: "tool_calls", calls: cs },
  {
    type: "finish",
    finishReason: "tool_calls",
    usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 },
  },
];

const PERSONALITIES = new Personalities([
  parsePersonality({ id: "assistant", name: "Assistant", system_prompt: "You are helpful." }),
  parsePersonality({
    id: "concise",
    name: "Concise",
    system_prompt: "Be brief.",
    traits: ["terse"],
    allowed_tools: [{ tool_name: "calculator" }],
  }),
], "assistant");

const NOW = () => new Date("2026-01-15T12:00:00Z");

function tool(name: string, call: Tool["call"]): Tool {
  return { name, description: name, parameters: { type: "object" }, call };
}

function engine(provider: Provider, over: Partial<ChatEngineOptions> = {}) {
  const memory = over.memory as MemoryFake ?? new MemoryFake();
  const e = new ChatEngine({
    provider,
    memory,
    personalities: PERSONALITIES,
    toolSources: [
      new ToolRegistry([
        createCalculatorTool(),
        createGetTimeTool({ defaultTimezone: "UTC", now: NOW }),
      ]),
    ],
    maxToolRounds: 5,
    toolTimeoutMs: 1000,
    contextTokenBudget: 4000,
    maxMessageHistoryCount: 20,
    ...over,
  });
  return { engine: e, memory };
}

function req(content: string, over: Partial<EngineRequest> = {}): EngineRequest {
  return { messages: [{ role: "user", content }], useTools: true, namespace: "ns", ...over };
}

async function collect(
  e: ChatEngine,
  r: EngineRequest,
  signal = new AbortController().signal,
): Promise<EngineEvent[]> {
  const out: EngineEvent[] = [];
  for await (const ev of e.run(r, { signal })) out.push(ev);
  return out;
}

Deno.test("ChatEngine.run() streams deltas then done with content, model and usage", async () => {
  const provider = new ScriptedProvider([text("Hello there friend")]);
  const { engine: e } = engine(provider);
  const events = await collect(e, req("hi"));
  assert.deepEqual(events, [
    { type: "delta", content: "Hello " },
    { type: "delta", content: "there " },
    { type: "delta", content: "friend" },
    {
      type: "done",
      finishReason: "stop",
      content: "Hello there friend",
      model: "scripted-model",
      usage: { prompt_tokens: 5, completion_tokens: 2, total_tokens: 7 },
    },
  ]);
});

Deno.test("ChatEngine.run() combines the personality prompt with the client's system prompt", async () => {
  const provider = new ScriptedProvider([text("ok")]);
  const { engine: e } = engine(provider);
  await collect(e, {
    messages: [
      { role: "system", content: "Always answer in French." },
      { role: "user", content: "hi" },
    ],
    personalityId: "concise",
    useTools: true,
    namespace: "",
  });
  const messages = provider.requests[0]!.messages;
  assert.equal(messages.length, 2);
  assert.equal(messages[0]!.role, "system");
  assert.equal(messages[0]!.content, "Be brief.\n\nTraits: terse.\n\nAlways answer in French.");
  assert.deepEqual(messages[1], { role: "user", content: "hi" });
});

Deno.test("ChatEngine.run() places recalled history between the system prompt and the new message", async () => {
  const memory = new MemoryFake();
  await memory.appendTurn("ns", "c1", [
    { role: "user", content: "my name is Ada" },
    { role: "assistant", content: "Hi Ada" },
  ]);
  await memory.appendTurn("other-ns", "c1", [{ role: "user", content: "secret of another key" }]);
  const provider = new ScriptedProvider([text("You are Ada")]);
  const { engine: e } = engine(provider, { memory, maxMessageHistoryCount: 7 });
  await collect(e, req("what is my name?", { conversationId: "c1" }));
  assert.deepEqual(provider.requests[0]!.messages.slice(1), [
    { role: "user", content: "my name is Ada" },
    { role: "assistant", content: "Hi Ada" },
    { role: "user", content: "what is my name?" },
  ]);
  assert.deepEqual(memory.contextCalls.at(-1), {
    namespace: "ns",
    conversationId: "c1",
    options: { query: "what is my name?", tokenBudget: 4000, maxRecentMessages: 7 },
  });
});

Deno.test("ChatEngine.run() with memory takes only the new turn from a resent history", async () => {
  const memory = new MemoryFake();
  await memory.appendTurn("ns", "c1", [
    { role: "user", content: "my name is Ada" },
    { role: "assistant", content: "Hi Ada" },
  ]);
  const provider = new ScriptedProvider([text("You are Ada")]);
  const { engine: e } = engine(provider, { memory });
  await collect(e, {
    messages: [
      { role: "system", content: "Be kind." },
      { role: "user", content: "my name is Ada" },
      { role: "assistant", content: "Hi Ada" },
      { role: "user", content: "what is my name?" },
    ],
    conversationId: "c1",
    useTools: true,
    namespace: "ns",
  });
  assert.deepEqual(provider.requests[0]!.messages.slice(1).map((m) => m.content), [
    "my name is Ada",
    "Hi Ada",
    "what is my name?",
  ]);
  assert.deepEqual(memory.appended.at(-1)!.messages.map((m) => m.content), [
    "what is my name?",
    "You are Ada",
  ]);
});

Deno.test("ChatEngine.run() stores nothing when the conversation is cleared while it runs", async () => {
  const memory = new MemoryFake();
  const lines: string[] = [];
  const provider = new ScriptedProvider([async function* () {
    yield { type: "delta", content: "still " };
    await memory.clear("ns", "c1"); // a DELETE of the conversation's memory arrives now
    yield { type: "delta", content: "talking" };
    yield { type: "finish", finishReason: "stop" };
  }, text("new start")]);
  const { engine: e } = engine(provider, {
    memory,
    logger: new Logger("debug", (l) => lines.push(l)),
  });
  const events = await collect(e, req("hi", { conversationId: "c1" }));
  assert.equal(events.at(-1)!.type, "done", "the reply itself completes");
  assert.equal(memory.appended.length, 0);
  assert.equal(memory.dropped.length, 1);
  assert.ok(lines.some((l) => l.includes("memory_turn_dropped")));
  // The next request reads the new epoch, so its turn is stored.
  await collect(e, req("again", { conversationId: "c1" }));
  assert.deepEqual(memory.appended.map((a) => a.messages.map((m) => m.content)), [
    ["again", "new start"],
  ]);
});

Deno.test("ChatEngine.run() maps memory failures to memory_unavailable", async (t) => {
  for (const failing of ["context", "appendTurn"] as const) {
    await t.step(failing, async () => {
      const memory = new MemoryFake();
      const lines: string[] = [];
      const provider = new ScriptedProvider([text("answer")]);
      const { engine: e } = engine(provider, {
        memory,
        logger: new Logger("debug", (l) => lines.push(l)),
      });
      if (failing === "context") memory.failWith = new Error("connect ECONNREFUSED /run/pg");
      const run = (async () => {
        for await (
          const ev of e.run(req("hi", { conversationId: "c" }), {
            signal: new AbortController().signal,
          })
        ) {
          if (ev.type === "delta") memory.failWith = new Error("connect ECONNREFUSED /run/pg");
        }
      })();
      const err = await engineFailure(run);
      assert.equal(err.code, "memory_unavailable");
      assert.equal(err.message, "Conversation memory is unavailable");
      assert.equal(provider.requests.length, failing === "context" ? 0 : 1);
      assert.ok(lines.some((l) => l.includes("memory_failed") && l.includes("ECONNREFUSED")));
      memory.failWith = undefined;
      assert.deepEqual(await memory.list("ns", "c"), [], "nothing was stored");
    });
  }
  // Without a conversation_id memory is not touched: a broken store does not matter.
  const memory = new MemoryFake();
  memory.failWith = new Error("down");
  const { engine: e } = engine(new ScriptedProvider([text("fine")]), { memory });
  assert.equal((await collect(e, req("hi"))).at(-1)!.type, "done");
});

Deno.test("ChatEngine.run() runs a multi-round tool loop and stores the whole turn once", async () => {
  const provider = new ScriptedProvider([
    calls({ id: "c1", name: "calculator", arguments: '{"operation":"multiply","a":12,"b":7}' }),
    calls({ id: "c2", name: "gettime", arguments: '{"timezone":"Asia/Shanghai"}' }),
    text("84, at 20:00"),
  ]);
  const { engine: e, memory } = engine(provider);
  const events = await collect(e, req("12*7 and the time?", { conversationId: "conv" }));
  assert.deepEqual(events.map((ev) => ev.type), [
    "tool_call",
    "tool_result",
    "tool_call",
    "tool_result",
    "delta",
    "delta",
    "delta",
    "done",
  ]);
  assert.deepEqual(events[0], {
    type: "tool_call",
    id: "c1",
    name: "calculator",
    arguments: { operation: "multiply", a: 12, b: 7 },
  });
  assert.deepEqual(events[1], { type: "tool_result", id: "c1", name: "calculator", ok: true });
  const done = events.at(-1) as Extract<EngineEvent, { type: "done" }>;
  assert.equal(done.content, "84, at 20:00");
  assert.deepEqual(done.usage, { prompt_tokens: 11, completion_tokens: 4, total_tokens: 15 });

  // Round 2 saw round 1's call and its JSON result.
  const second = provider.requests[1]!.messages;
  assert.deepEqual(second.at(-2), {
    role: "assistant",
    content: null,
    tool_calls: [{
      id: "c1",
      name: "calculator",
      arguments: '{"operation":"multiply","a":12,"b":7}',
    }],
  });
  assert.equal(second.at(-1)!.role, "tool");
  assert.equal(second.at(-1)!.tool_call_id, "c1");
  assert.deepEqual(JSON.parse(second.at(-1)!.content!), {
    operation: "multiply",
    a: 12,
    b: 7,
    result: 84,
  });
  const third = provider.requests[2]!.messages;
  assert.equal(JSON.parse(third.at(-1)!.content!).local_time, "2026-01-15 20:00:00");

  assert.equal(memory.appended.length, 1);
  assert.deepEqual(memory.appended[0]!.messages.map((m) => m.role), [
    "user",
    "assistant",
    "tool",
    "assistant",
    "tool",
    "assistant",
  ]);
  assert.equal(memory.appended[0]!.messages.at(-1)!.content, "84, at 20:00");
});

Deno.test("ChatEngine.run() runs the calls of one round in parallel", async () => {
  let running = 0;
  let maxRunning = 0;
  const slow = (name: string) =>
    tool(name, async () => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      await new Promise((r) => setTimeout(r, 30));
      running--;
      return { tool: name };
    });
  const provider = new ScriptedProvider([
    calls(
      { id: "a", name: "slow_a", arguments: "{}" },
      { id: "b", name: "slow_b", arguments: "{}" },
      { id: "c", name: "slow_c", arguments: "{}" },
    ),
    text("done"),
  ]);
  const { engine: e } = engine(provider, {
    toolSources: [new ToolRegistry([slow("slow_a"), slow("slow_b"), slow("slow_c")])],
  });
  const events = await collect(e, req("go"));
  assert.equal(maxRunning, 3, "calls ran one after another");
  const results = events.filter((ev) => ev.type === "tool_result");
  assert.deepEqual(results.map((r) => (r as { id: string }).id), ["a", "b", "c"]);
  const toolMessages = provider.requests[1]!.messages.filter((m) => m.role === "tool");
  assert.deepEqual(toolMessages.map((m) => JSON.parse(m.content!)), [
    { tool: "slow_a" },
    { tool: "slow_b" },
    { tool: "slow_c" },
  ]);
});

Deno.test("ChatEngine.run() passes tool failures back to the model as errors", async (t) => {
  const cases: { name: string; call: { name: string; arguments: string }; error: RegExp }[] = [
    {
      name: "tool throws",
      call: { name: "calculator", arguments: '{"operation":"divide","a":1,"b":0}' },
      error: /^Division by zero$/,
    },
    {
      name: "unknown tool",
      call: { name: "nope", arguments: "{}" },
      error: /^Unknown tool "nope"$/,
    },
    {
      name: "bad JSON arguments",
      call: { name: "calculator", arguments: '{"operation":' },
      error: /^Invalid JSON arguments for "calculator"/,
    },
    {
      name: "arguments not an object",
      call: { name: "calculator", arguments: "[1,2]" },
      error: /must be a JSON object/,
    },
    {
      name: "timeout",
      call: { name: "hang", arguments: "{}" },
      error: /^Tool "hang" timed out after 50 ms$/,
    },
  ];
  for (const c of cases) {
    await t.step(c.name, async () => {
      const provider = new ScriptedProvider([calls({ id: "x", ...c.call }), text("sorry")]);
      const hang = tool("hang", () => new Promise(() => {})); // ignores its signal on purpose
      const { engine: e, memory } = engine(provider, {
        toolTimeoutMs: 50,
        toolSources: [new ToolRegistry([createCalculatorTool(), hang])],
      });
      const events = await collect(e, req("go", { conversationId: "c" }));
      assert.deepEqual(events.find((ev) => ev.type === "tool_result"), {
        type: "tool_result",
        id: "x",
        name: c.call.name,
        ok: false,
      });
      const toolMsg = provider.requests[1]!.messages.at(-1)!;
      assert.equal(toolMsg.role, "tool");
      assert.match(JSON.parse(toolMsg.content!).error, c.error);
      assert.equal(events.at(-1)!.type, "done");
      assert.equal(memory.appended.length, 1);
    });
  }
});

Deno.test("ChatEngine.run() cuts an oversized tool result", async () => {
  const big = tool("big", () => Promise.resolve({ text: "x".repeat(5000) }));
  const provider = new ScriptedProvider([
    calls({ id: "b", name: "big", arguments: "{}" }),
    text("ok"),
  ]);
  const { engine: e } = engine(provider, {
    toolSources: [new ToolRegistry([big])],
    maxToolResultChars: 1000,
  });
  await collect(e, req("go"));
  const passed = JSON.parse(provider.requests[1]!.messages.at(-1)!.content!);
  assert.equal(passed.truncated, true);
  assert.equal(passed.content.length, 1000);
  assert.ok(passed.content.startsWith('{"text":"xxx'));
});

Deno.test("ChatEngine.run() stops offering tools after maxToolRounds", async () => {
  const again = () =>
    calls({
      id: crypto.randomUUID(),
      name: "calculator",
      arguments: '{"operation":"add","a":1,"b":1}',
    });
  const provider = new ScriptedProvider([again(), again(), again()]);
  const { engine: e } = engine(provider, { maxToolRounds: 2 });
  const events = await collect(e, req("loop"));
  assert.equal(provider.requests.length, 3);
  assert.ok(provider.requests[0]!.tools!.length > 0);
  assert.ok(provider.requests[1]!.tools!.length > 0);
  assert.equal(provider.requests[2]!.tools, undefined);
  assert.equal(events.filter((ev) => ev.type === "tool_call").length, 2);
  const done = events.at(-1) as Extract<EngineEvent, { type: "done" }>;
  assert.equal(done.type, "done");
  assert.equal(done.finishReason, "tool_calls");
});

Deno.test("ChatEngine.run() offers tools by personality and useTools", async (t) => {
  await t.step("all tools by default", async () => {
    const provider = new ScriptedProvider([text("ok")]);
    await collect(engine(provider).engine, req("hi"));
    assert.deepEqual(provider.requests[0]!.tools!.map((x) => x.name), ["calculator", "gettime"]);
  });
  await t.step("allowed_tools restricts", async () => {
    const provider = new ScriptedProvider([text("ok")]);
    await collect(engine(provider).engine, req("hi", { personalityId: "concise" }));
    assert.deepEqual(provider.requests[0]!.tools!.map((x) => x.name), ["calculator"]);
  });
  await t.step("a restricted tool the model calls anyway is refused", async () => {
    const provider = new ScriptedProvider([
      calls({ id: "t", name: "gettime", arguments: "{}" }),
      text("ok"),
    ]);
    await collect(engine(provider).engine, req("hi", { personalityId: "concise" }));
    assert.match(provider.requests[1]!.messages.at(-1)!.content!, /Unknown tool \\"gettime\\"/);
  });
  await t.step("useTools false offers none", async () => {
    const provider = new ScriptedProvider([text("ok")]);
    await collect(engine(provider).engine, req("hi", { useTools: false }));
    assert.equal(provider.requests[0]!.tools, undefined);
  });
  await t.step("earlier sources win a name clash", async () => {
    const provider = new ScriptedProvider([text("ok")]);
    const mcp = new ToolRegistry([
      tool("calculator", () => Promise.resolve(0)),
      tool("mcp_x", () => Promise.resolve(1)),
    ]);
    const { engine: e } = engine(provider, {
      toolSources: [new ToolRegistry([createCalculatorTool()]), mcp],
    });
    await collect(e, req("hi"));
    const offered = provider.requests[0]!.tools!;
    assert.deepEqual(offered.map((x) => x.name), ["calculator", "mcp_x"]);
    assert.match(offered[0]!.description, /arithmetic/);
    assert.deepEqual(e.tools().map((x) => x.name), ["calculator", "mcp_x"]);
  });
});

Deno.test("ChatEngine.run() rejects an unknown personality before calling the provider", async () => {
  const provider = new ScriptedProvider([text("ok")]);
  const err = await engineFailure(
    collect(engine(provider).engine, req("hi", { personalityId: "ghost" })),
  );
  assert.equal(err.code, "personality_not_found");
  assert.equal(provider.requests.length, 0);
});

Deno.test("ChatEngine.run() stores nothing when the provider fails", async () => {
  const provider = new ScriptedProvider([
    calls({ id: "c1", name: "calculator", arguments: '{"operation":"add","a":1,"b":2}' }),
    new ChatError("rate_limited", "Provider rate-limited the request (HTTP 429)"),
  ]);
  const { engine: e, memory } = engine(provider);
  const err = await engineFailure(collect(e, req("hi", { conversationId: "c" })));
  assert.equal(err.code, "rate_limited");
  assert.equal(memory.appended.length, 0);
});

Deno.test("ChatEngine.run() maps an unexpected provider exception to internal_error", async () => {
  const provider = new ScriptedProvider([new TypeError("boom")]);
  const err = await engineFailure(collect(engine(provider).engine, req("hi")));
  assert.equal(err.code, "internal_error");
  assert.match(err.message, /boom/);
});

Deno.test("ChatEngine.run() cancels a running tool call and stores nothing", async () => {
  let toolSignal: AbortSignal | undefined;
  const blocking = tool("block", (_a, { signal }) => {
    toolSignal = signal;
    return new Promise(() => {}); // only the abort ends it
  });
  const provider = new ScriptedProvider([calls({ id: "b", name: "block", arguments: "{}" })]);
  const { engine: e, memory } = engine(provider, {
    toolSources: [new ToolRegistry([blocking])],
    toolTimeoutMs: 10_000,
  });
  const ac = new AbortController();
  const err = await engineFailure((async () => {
    for await (const ev of e.run(req("go", { conversationId: "c" }), { signal: ac.signal })) {
      if (ev.type === "tool_call") setTimeout(() => ac.abort(), 10);
    }
  })());
  assert.equal(err.code, "cancelled");
  assert.equal(toolSignal?.aborted, true);
  assert.equal(memory.appended.length, 0);
});

Deno.test("ChatEngine.run() cancels the provider stream and stores nothing", async () => {
  const provider = new ScriptedProvider([async function* (signal) {
    for (let i = 0; i < 1000; i++) {
      await new Promise((r) => setTimeout(r, 1));
      if (signal.aborted) throw new ChatError("cancelled", "The request was cancelled");
      yield { type: "delta", content: `w${i} ` };
    }
    yield { type: "finish", finishReason: "stop" };
  }]);
  const { engine: e, memory } = engine(provider);
  const ac = new AbortController();
  let deltas = 0;
  const err = await engineFailure((async () => {
    for await (const ev of e.run(req("go", { conversationId: "c" }), { signal: ac.signal })) {
      if (ev.type === "delta" && ++deltas === 3) ac.abort();
    }
  })());
  assert.equal(err.code, "cancelled");
  assert.equal(deltas, 3);
  assert.equal(memory.appended.length, 0);
});

Deno.test("ChatEngine.run() through the real OpenAI client and HTTP mock", async () => {
  const mock = await OpenAIMock.start();
  try {
    mock.enqueue(
      toolCallReply([
        { id: "call_1", name: "calculator", arguments: { operation: "sqrt", a: 16 } },
        { id: "call_2", name: "gettime", arguments: { timezone: "UTC" } },
      ]),
      textReply("The square root is 4 and it is noon."),
    );
    const provider = new OpenAIProvider({
      apiKey: "sk-test",
      baseUrl: mock.baseUrl,
      model: "mock-model",
      temperature: 0.7,
      timeoutMs: 2000,
      maxRetries: 0,
    });
    const { engine: e, memory } = engine(provider);
    const events = await collect(e, req("sqrt 16 and time", { conversationId: "real" }));
    const done = events.at(-1) as Extract<EngineEvent, { type: "done" }>;
    assert.equal(done.content, "The square root is 4 and it is noon.");
    assert.equal(done.model, "mock-model");
    assert.equal(done.finishReason, "stop");
    assert.deepEqual(
      events.filter((ev) => ev.type === "tool_result").map((ev) => (ev as { ok: boolean }).ok),
      [true, true],
    );
    const second = mock.completionRequests[1]!.body;
    assert.deepEqual(
      second.messages.slice(-2).map((m: { tool_call_id: string }) => m.tool_call_id),
      [
        "call_1",
        "call_2",
      ],
    );
    assert.equal(JSON.parse(second.messages.at(-2).content).result, 4);
    assert.equal(memory.appended.length, 1);
  } finally {
    await mock.close();
  }
});

Deno.test("ChatEngine.run() aborts the upstream HTTP request when the consumer stops", async () => {
  const mock = await OpenAIMock.start();
  try {
    mock.enqueue({
      kind: "reply",
      chunkDelayMs: 20,
      events: Array.from({ length: 200 }, () => ({ type: "text" as const, content: "x " })),
    });
    const provider = new OpenAIProvider({
      baseUrl: mock.baseUrl,
      model: "mock-model",
      temperature: 0.7,
      timeoutMs: 2000,
      maxRetries: 0,
    });
    const { engine: e, memory } = engine(provider);
    let n = 0;
    for await (
      const ev of e.run(req("go", { conversationId: "c" }), {
        signal: new AbortController().signal,
      })
    ) {
      if (ev.type === "delta" && ++n === 2) break;
    }
    await mock.waitForAbort();
    assert.equal(mock.completionRequests[0]!.aborted, true);
    assert.equal(memory.appended.length, 0);
  } finally {
    await mock.close();
  }
});

Deno.test("ChatEngine.run() with the offline provider drives the real calculator", async () => {
  const { engine: e, memory } = engine(new OfflineProvider());
  const events = await collect(e, req("what is 12 * 7", { conversationId: "off" }));
  assert.deepEqual(events.find((ev) => ev.type === "tool_call"), {
    type: "tool_call",
    id: "call_offline_1",
    name: "calculator",
    arguments: { operation: "multiply", a: 12, b: 7 },
  });
  const done = events.at(-1) as Extract<EngineEvent, { type: "done" }>;
  assert.equal(done.content, "The result is 84.");
  assert.equal(done.model, "yychat-offline");
  assert.equal(memory.appended[0]!.messages.length, 4);
});

Deno.test("createEngine() uses the offline provider only when no provider is configured", async () => {
  const e = await createEngine(loadSettings({}), {
    logger: silentLogger,
    memory: new MemoryFake(),
  });
  assert.equal(e.offline, true);
  assert.equal(e.model, "yychat-offline");
  assert.deepEqual(e.tools().map((t) => t.name), ["calculator", "gettime"]);
  assert.ok(e.personalities.has("xiaoyu"));
});

Deno.test("createEngine() talks to the configured endpoint, with tavily and MCP tools", async () => {
  const mock = await OpenAIMock.start();
  try {
    mock.enqueue(textReply("Hi from the endpoint"));
    const settings = loadSettings({
      OPENAI_BASE_URL: mock.baseUrl,
      OPENAI_MODEL: "local-llama",
      TAVILY_API_KEY: "tvly-x",
    });
    const mcp = new ToolRegistry([tool("mcp_echo", () => Promise.resolve("echo"))]);
    const e = await createEngine(settings, { logger: silentLogger, memory: new MemoryFake(), mcp });
    assert.equal(e.offline, false);
    assert.equal(e.model, "local-llama");
    assert.deepEqual(e.tools().map((t) => t.name), [
      "calculator",
      "gettime",
      "tavily_search",
      "mcp_echo",
    ]);
    const events = await collect(e, req("hello"));
    assert.equal((events.at(-1) as { content: string }).content, "Hi from the endpoint");
    assert.equal(mock.completionRequests[0]!.body.model, "local-llama");
    assert.equal(mock.completionRequests[0]!.body.tools.length, 4);
  } finally {
    await mock.close();
  }
});
