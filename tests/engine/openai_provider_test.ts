import assert from "node:assert/strict";
import { engineFailure } from "../helpers/engine_failure.ts";
import { OpenAIProvider, ToolCallAssembler } from "../../src/engine/openai_provider.ts";
import type { OpenAIProviderOptions } from "../../src/engine/openai_provider.ts";
import type { ProviderEvent, ProviderRequest } from "../../src/engine/provider.ts";
import type { FinishReason, ToolCall } from "../../src/core/chat.ts";
import { OpenAIMock, textReply, toolCallReply } from "../helpers/openai_mock.ts";
import type { MockResponse } from "../helpers/openai_mock.ts";

const USER = [{ role: "user" as const, content: "hi" }];

async function withMock(
  fn: (
    mock: OpenAIMock,
    make: (o?: Partial<OpenAIProviderOptions>) => OpenAIProvider,
  ) => Promise<void>,
) {
  const mock = await OpenAIMock.start();
  try {
    await fn(mock, (o = {}) =>
      new OpenAIProvider({
        apiKey: "sk-test-secret-key-123456",
        baseUrl: mock.baseUrl,
        model: "mock-model",
        temperature: 0.3,
        timeoutMs: 2000,
        maxRetries: 0,
        ...o,
      }));
  } finally {
    await mock.close();
  }
}

async function events(p: OpenAIProvider, signal = AbortSignal_()): Promise<ProviderEvent[]> {
  const out: ProviderEvent[] = [];
  for await (const e of p.complete({ messages: USER }, { signal })) out.push(e);
  return out;
}
/** Drains one `complete()` stream into a single answer. */
async function collectCompletion(
  provider: OpenAIProvider,
  request: ProviderRequest,
  options: { signal: AbortSignal },
): Promise<{ content: string; toolCalls: ToolCall[]; finishReason: FinishReason }> {
  let content = "";
  const toolCalls: ToolCall[] = [];
  let finishReason: FinishReason = "stop";
  for await (const event of provider.complete(request, options)) {
    if (event.type === "delta") content += event.content;
    else if (event.type === "tool_calls") toolCalls.push(...event.calls);
    else finishReason = event.finishReason;
  }
  return { content, toolCalls, finishReason };
}

// A never-aborting signal per call.
function AbortSignal_(): AbortSignal {
  return new AbortController().signal;
}

Deno.test("OpenAIProvider.complete() streams text deltas, finish reason and usage", async () => {
  await withMock(async (mock, make) => {
    mock.enqueue(textReply("Hello brave new world"));
    const out = await events(make());
    // One delta per network read: chunks that arrive together are joined.
    const text = out.filter((e) => e.type === "delta").map((e) => e.content);
    assert.equal(text.join(""), "Hello brave new world");
    assert.deepEqual(out.at(-1), {
      type: "finish",
      finishReason: "stop",
      usage: { prompt_tokens: 10, completion_tokens: 4, total_tokens: 14 },
      model: "mock-model",
    });
    const body = mock.completionRequests[0]!.body;
    assert.equal(body.stream, true);
    assert.equal(body.model, "mock-model");
    assert.equal(body.temperature, 0.3);
    assert.deepEqual(body.messages, [{ role: "user", content: "hi" }]);
    assert.equal(
      mock.completionRequests[0]!.headers.get("authorization"),
      "Bearer sk-test-secret-key-123456",
    );
  });
});

Deno.test("OpenAIProvider.complete() sends parameters, tools and tool messages", async () => {
  await withMock(async (mock, make) => {
    mock.enqueue(textReply("ok"));
    const p = make();
    await collectCompletion(p, {
      messages: [
        { role: "system", content: "be nice" },
        { role: "user", content: "2+2" },
        {
          role: "assistant",
          content: null,
          tool_calls: [{ id: "c1", name: "calculator", arguments: '{"a":2}' }],
        },
        { role: "tool", tool_call_id: "c1", name: "calculator", content: '{"result":4}' },
      ],
      tools: [{ name: "calculator", description: "math", parameters: { type: "object" } }],
      params: { temperature: 1.5, max_tokens: 42, top_p: 0.5, stop: ["END"], model: "other" },
    }, { signal: AbortSignal_() });
    const body = mock.completionRequests[0]!.body;
    assert.equal(body.temperature, 1.5);
    assert.equal(body.max_tokens, 42);
    assert.equal(body.top_p, 0.5);
    assert.deepEqual(body.stop, ["END"]);
    assert.equal(body.model, "other");
    assert.deepEqual(body.tools, [{
      type: "function",
      function: { name: "calculator", description: "math", parameters: { type: "object" } },
    }]);
    assert.deepEqual(body.messages[2].tool_calls, [
      { id: "c1", type: "function", function: { name: "calculator", arguments: '{"a":2}' } },
    ]);
    assert.deepEqual(body.messages[3], {
      role: "tool",
      tool_call_id: "c1",
      content: '{"result":4}',
    });
  });
});

Deno.test("OpenAIProvider.complete() assembles streamed tool-call deltas", async (t) => {
  const cases: {
    name: string;
    script: MockResponse;
    expected: { id?: string; name: string; arguments: string }[];
  }[] = [
    {
      name: "two calls in order with index",
      script: toolCallReply([
        { id: "call_a", name: "calculator", arguments: { operation: "add", a: 1, b: 2 } },
        { id: "call_b", name: "gettime", arguments: {} },
      ]),
      expected: [
        { id: "call_a", name: "calculator", arguments: '{"operation":"add","a":1,"b":2}' },
        { id: "call_b", name: "gettime", arguments: "{}" },
      ],
    },
    {
      name: "arguments split across many chunks",
      script: {
        kind: "reply",
        events: [
          { type: "tool_call", index: 0, id: "c1", name: "calculator" },
          { type: "tool_call", index: 0, arguments: '{"oper' },
          { type: "tool_call", index: 0, arguments: 'ation":"sqrt",' },
          { type: "tool_call", index: 0, arguments: '"a":16}' },
          { type: "finish", reason: "tool_calls" },
        ],
      },
      expected: [{ id: "c1", name: "calculator", arguments: '{"operation":"sqrt","a":16}' }],
    },
    {
      name: "missing index",
      script: {
        kind: "reply",
        events: [
          { type: "tool_call", id: "c1", name: "calculator", arguments: '{"a":' },
          { type: "tool_call", arguments: "1}" },
          { type: "tool_call", id: "c2", name: "gettime", arguments: "{" },
          { type: "tool_call", arguments: "}" },
          { type: "finish", reason: "tool_calls" },
        ],
      },
      expected: [
        { id: "c1", name: "calculator", arguments: '{"a":1}' },
        { id: "c2", name: "gettime", arguments: "{}" },
      ],
    },
    {
      name: "two calls of the same tool without index or id",
      script: {
        kind: "reply",
        events: [
          { type: "tool_call", name: "calculator", arguments: '{"a":' },
          { type: "tool_call", arguments: "1}" },
          { type: "tool_call", name: "calculator", arguments: '{"a":2}' },
          { type: "finish", reason: "tool_calls" },
        ],
      },
      expected: [
        { name: "calculator", arguments: '{"a":1}' },
        { name: "calculator", arguments: '{"a":2}' },
      ],
    },
    {
      name: "id arriving after the name",
      script: {
        kind: "reply",
        events: [
          { type: "tool_call", index: 0, name: "calculator" },
          { type: "tool_call", index: 0, id: "late_id", arguments: '{"a":1}' },
          { type: "finish", reason: "tool_calls" },
        ],
      },
      expected: [{ id: "late_id", name: "calculator", arguments: '{"a":1}' }],
    },
    {
      name: "id arriving after the name without index",
      script: {
        kind: "reply",
        events: [
          { type: "tool_call", name: "calculator" },
          { type: "tool_call", id: "late_id", arguments: '{"a":' },
          { type: "tool_call", arguments: "1}" },
          { type: "finish", reason: "tool_calls" },
        ],
      },
      expected: [{ id: "late_id", name: "calculator", arguments: '{"a":1}' }],
    },
    {
      name: "two parallel calls interleaved",
      script: {
        kind: "reply",
        events: [
          { type: "tool_call", index: 0, id: "c0", name: "calculator", arguments: '{"a"' },
          { type: "tool_call", index: 1, id: "c1", name: "gettime", arguments: '{"timez' },
          { type: "tool_call", index: 0, arguments: ":3}" },
          { type: "tool_call", index: 1, arguments: 'one":"UTC"}' },
          { type: "finish", reason: "tool_calls" },
        ],
      },
      expected: [
        { id: "c0", name: "calculator", arguments: '{"a":3}' },
        { id: "c1", name: "gettime", arguments: '{"timezone":"UTC"}' },
      ],
    },
    {
      name: "no id at all gets a generated one",
      script: {
        kind: "reply",
        events: [
          { type: "tool_call", index: 0, name: "gettime", arguments: "{}" },
          { type: "finish", reason: "stop" },
        ],
      },
      expected: [{ name: "gettime", arguments: "{}" }],
    },
  ];
  for (const c of cases) {
    await t.step(c.name, async () => {
      await withMock(async (mock, make) => {
        mock.enqueue(c.script);
        const result = await collectCompletion(make(), { messages: USER }, {
          signal: AbortSignal_(),
        });
        assert.equal(result.finishReason, "tool_calls");
        assert.equal(result.toolCalls.length, c.expected.length);
        c.expected.forEach((exp, i) => {
          const got = result.toolCalls[i]!;
          assert.equal(got.name, exp.name);
          assert.equal(got.arguments, exp.arguments);
          if (exp.id) assert.equal(got.id, exp.id);
          else assert.match(got.id, /^call_/);
        });
      });
    });
  }
});

Deno.test("ToolCallAssembler.add() keeps a name repeated on every chunk once", () => {
  const a = new ToolCallAssembler();
  a.add({ function: { name: "calculator", arguments: '{"a"' } });
  a.add({ function: { name: "calculator", arguments: ":1}" } });
  assert.deepEqual(a.finish().map((c) => [c.name, c.arguments]), [["calculator", '{"a":1}']]);
});

Deno.test("ToolCallAssembler.add() keeps a repeated name once", () => {
  const a = new ToolCallAssembler();
  a.add({ index: 0, id: "x", function: { name: "calculator", arguments: "{" } });
  a.add({ index: 0, function: { name: "calculator", arguments: "}" } });
  assert.deepEqual(a.finish(), [{ id: "x", name: "calculator", arguments: "{}" }]);
});

Deno.test("OpenAIMock serves non-streaming completions and the model list", async () => {
  await withMock(async (mock) => {
    mock.enqueue(
      textReply("Hello there"),
      toolCallReply([{ id: "c1", name: "gettime", arguments: {} }]),
    );
    const { default: OpenAI } = await import("openai");
    const client = new OpenAI({ apiKey: "k", baseURL: mock.baseUrl, maxRetries: 0 });
    const plain = await client.chat.completions.create({ model: "m", messages: USER });
    assert.equal(plain.choices[0]!.message.content, "Hello there");
    assert.equal(plain.choices[0]!.finish_reason, "stop");
    assert.equal(plain.usage?.total_tokens, 12);
    const tools = await client.chat.completions.create({ model: "m", messages: USER });
    assert.deepEqual(tools.choices[0]!.message.tool_calls, [
      { id: "c1", type: "function", function: { name: "gettime", arguments: "{}" } },
    ]);
    const models = await client.models.list();
    assert.deepEqual(models.data.map((m) => m.id), ["mock-model"]);
    const unscripted = await engineFailure(
      collectCompletion(
        new OpenAIProvider({
          baseUrl: mock.baseUrl,
          model: "m",
          temperature: 0,
          timeoutMs: 1000,
          maxRetries: 0,
        }),
        { messages: USER },
        { signal: AbortSignal_() },
      ),
    );
    assert.match(unscripted.message, /no scripted response left/);
  });
});

Deno.test("OpenAIProvider.complete() maps failures to stable codes", async (t) => {
  const cases: { name: string; script: MockResponse[]; code: string; match?: RegExp }[] = [
    {
      name: "HTTP 429 → rate_limited",
      script: [{ kind: "error", status: 429, message: "Slow down", code: "rate_limit_exceeded" }],
      code: "rate_limited",
      match: /429/,
    },
    {
      name: "HTTP 500 → upstream_error",
      script: [{ kind: "error", status: 500, message: "Boom" }],
      code: "upstream_error",
      match: /HTTP 500/,
    },
    {
      name: "connection cut mid-stream → upstream_error",
      script: [{
        kind: "reply",
        events: [{ type: "text", content: "Hel" }, { type: "cut" }],
      }],
      code: "upstream_error",
    },
    {
      name: "malformed SSE → upstream_error",
      script: [{
        kind: "reply",
        events: [{ type: "text", content: "Hel" }, { type: "raw", data: "data: {not json\n\n" }],
      }],
      code: "upstream_error",
    },
    {
      name: "error event mid-stream → upstream_error with its message",
      script: [{
        kind: "reply",
        events: [
          { type: "text", content: "Hel" },
          { type: "raw", data: 'data: {"error":{"message":"Model overloaded"}}\n\n' },
        ],
      }],
      code: "upstream_error",
      match: /mid-stream: Model overloaded/,
    },
    {
      name: "stream ending without finish reason → upstream_error",
      script: [{ kind: "reply", events: [{ type: "text", content: "Hel" }], omitDone: true }],
      code: "upstream_error",
      match: /finish reason/,
    },
  ];
  for (const c of cases) {
    await t.step(c.name, async () => {
      await withMock(async (mock, make) => {
        mock.enqueue(...c.script);
        const err = await engineFailure(events(make()));
        assert.equal(err.code, c.code);
        if (c.match) assert.match(err.message, c.match);
        assert.ok(!err.message.includes("sk-test-secret-key-123456"));
      });
    });
  }
});

Deno.test("OpenAIProvider.complete() never puts the API key in an error message", async () => {
  await withMock(async (mock, make) => {
    mock.enqueue({
      kind: "error",
      status: 401,
      message: "Incorrect API key provided: sk-test-secret-key-123456",
    });
    const err = await engineFailure(events(make()));
    assert.equal(err.code, "upstream_auth_error");
    assert.equal(err.status, 401);
    assert.match(err.message, /401/);
    assert.ok(!err.message.includes("secret-key-123456"), err.message);
  });
});

Deno.test("OpenAIProvider.complete() retries a 500 before the first byte", async () => {
  await withMock(async (mock, make) => {
    mock.enqueue(
      { kind: "error", status: 500, message: "Boom", headers: { "retry-after-ms": "1" } },
      textReply("recovered"),
    );
    const result = await collectCompletion(make({ maxRetries: 1 }), { messages: USER }, {
      signal: AbortSignal_(),
    });
    assert.equal(result.content, "recovered");
    assert.equal(mock.completionRequests.length, 2);
  });
});

Deno.test("OpenAIProvider.complete() aborts the HTTP request when the signal aborts", async () => {
  await withMock(async (mock, make) => {
    mock.enqueue({
      kind: "reply",
      chunkDelayMs: 30,
      events: Array.from({ length: 100 }, () => ({ type: "text" as const, content: "x " })),
    });
    const ac = new AbortController();
    const seen: string[] = [];
    const err = await engineFailure((async () => {
      for await (const e of make().complete({ messages: USER }, { signal: ac.signal })) {
        if (e.type === "delta") seen.push(e.content);
        if (seen.length === 2) ac.abort();
      }
    })());
    assert.equal(err.code, "cancelled");
    assert.equal(seen.length, 2);
    await mock.waitForAbort();
    assert.equal(mock.completionRequests[0]!.aborted, true);
    assert.equal(mock.completionRequests[0]!.completed, false);
  });
});

Deno.test("OpenAIProvider.complete() aborts a request still waiting for headers", async () => {
  await withMock(async (mock, make) => {
    mock.enqueue({ kind: "hang" });
    const ac = new AbortController();
    const pending = engineFailure(events(make(), ac.signal));
    setTimeout(() => ac.abort(), 50);
    const err = await pending;
    assert.equal(err.code, "cancelled");
  });
});

Deno.test("OpenAIProvider.complete() times out", async (t) => {
  await t.step("waiting for headers → upstream_timeout", async () => {
    await withMock(async (mock, make) => {
      mock.enqueue({ kind: "hang" });
      const started = performance.now();
      const err = await engineFailure(events(make({ timeoutMs: 100 })));
      assert.equal(err.code, "upstream_timeout");
      assert.ok(performance.now() - started < 1000);
    });
  });
  await t.step("silent mid-stream → upstream_timeout", async () => {
    await withMock(async (mock, make) => {
      mock.enqueue({
        kind: "reply",
        events: [{ type: "text", content: "Hel" }, { type: "delay", ms: 1000 }, {
          type: "text",
          content: "lo",
        }],
      });
      const err = await engineFailure(events(make({ timeoutMs: 150 })));
      assert.equal(err.code, "upstream_timeout");
      await mock.waitForAbort();
    });
  });
  await t.step("a slow consumer is not a provider timeout", async () => {
    await withMock(async (mock, make) => {
      mock.enqueue(textReply("a b c"));
      const seen: string[] = [];
      for await (
        const e of make({ timeoutMs: 100 }).complete({ messages: USER }, { signal: AbortSignal_() })
      ) {
        if (e.type === "delta") {
          seen.push(e.content);
          await new Promise((r) => setTimeout(r, 250));
        }
      }
      assert.equal(seen.join(""), "a b c");
    });
  });
  await t.step("a slow but steady stream is not a timeout", async () => {
    await withMock(async (mock, make) => {
      // 10 chunks 80 ms apart: the whole stream outlasts the timeout, no gap does.
      mock.enqueue(textReply("a b c d e f g h", { chunkDelayMs: 80 }));
      const result = await collectCompletion(make({ timeoutMs: 400 }), { messages: USER }, {
        signal: AbortSignal_(),
      });
      assert.equal(result.content, "a b c d e f g h");
    });
  });
});

Deno.test("OpenAIProvider.complete() treats a stream that ends with [DONE] but no finish reason as stop", async () => {
  await withMock(async (mock, make) => {
    mock.enqueue({ kind: "reply", events: [{ type: "text", content: "Hello" }] });
    const out = await events(make());
    assert.deepEqual(out.at(-1), {
      type: "finish",
      finishReason: "stop",
      usage: undefined,
      model: "mock-model",
    });
  });
});

Deno.test("OpenAIProvider.complete() counts keep-alive comments as signs of life", async () => {
  await withMock(async (mock, make) => {
    mock.enqueue({
      kind: "reply",
      events: [
        { type: "raw", data: ": thinking\n\n" },
        { type: "delay", ms: 150 },
        { type: "raw", data: ": thinking\n\n" },
        { type: "delay", ms: 150 },
        { type: "text", content: "Done thinking" },
        { type: "finish", reason: "stop" },
      ],
    });
    const out = await events(make({ timeoutMs: 250 }));
    assert.equal(out.at(-1)!.type, "finish");
  });
});
