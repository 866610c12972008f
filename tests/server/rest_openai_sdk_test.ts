/**
 * OpenAI compatibility as a new user meets it: the official `openai` SDK
 * against yychat, yychat against the OpenAI mock. Structured outputs, seed
 * and log probabilities reach the provider and come back; a client's own
 * tools make a round trip (streamed and not, mixed with yychat's tools, with
 * memory); image parts reach the provider; an upstream 4xx keeps its status
 * and message, a 429 its `Retry-After`.
 */
import assert from "node:assert/strict";
import OpenAI from "openai";
import type {
  ChatCompletionChunk,
  ChatCompletionMessageParam,
  ChatCompletionTool,
} from "openai/resources/chat/completions";
import { textReply, toolCallReply } from "../helpers/openai_mock.ts";
import { withMockedServer } from "../helpers/mocked_server.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

const TOKENS = [
  { token: "{", logprob: -0.01, bytes: [123], top_logprobs: [] },
  { token: '"ok"', logprob: -0.2, bytes: [34, 111, 107, 34], top_logprobs: [] },
  { token: ":true}", logprob: -0.05, bytes: null, top_logprobs: [] },
];

/** A JSON answer in three chunks, each with its token's log probabilities. */
function jsonReply() {
  return {
    kind: "reply" as const,
    systemFingerprint: "fp_mock_42",
    serviceTier: "default",
    events: [
      { type: "text" as const, content: "{", logprobs: [TOKENS[0]] },
      { type: "text" as const, content: '"ok"', logprobs: [TOKENS[1]] },
      { type: "text" as const, content: ":true}", logprobs: [TOKENS[2]] },
      { type: "finish" as const, reason: "stop" as const },
      {
        type: "usage" as const,
        usage: {
          prompt_tokens: 12,
          completion_tokens: 3,
          total_tokens: 15,
          prompt_tokens_details: { cached_tokens: 8 },
          completion_tokens_details: { reasoning_tokens: 0 },
        },
      },
    ],
  };
}

const SCHEMA_FORMAT = {
  type: "json_schema" as const,
  json_schema: {
    name: "answer",
    strict: true,
    schema: {
      type: "object",
      properties: { ok: { type: "boolean" } },
      required: ["ok"],
      additionalProperties: false,
    },
  },
};

Deno.test("openai SDK: response_format, seed and logprobs reach the provider and come back", async (t) => {
  await withMockedServer(async ({ mock, client }) => {
    await t.step("without streaming", async () => {
      mock.enqueue(jsonReply());
      const reply = await client.chat.completions.create({
        model: "mock-model",
        messages: [{ role: "user", content: "Answer in JSON" }],
        response_format: SCHEMA_FORMAT,
        seed: 42,
        logprobs: true,
        top_logprobs: 2,
      });
      const sent = mock.completionRequests.at(-1)!.body;
      assert.deepEqual(sent.response_format, SCHEMA_FORMAT);
      assert.equal(sent.seed, 42);
      assert.equal(sent.logprobs, true);
      assert.equal(sent.top_logprobs, 2);
      assert.equal(sent.stream, false, "a non-streaming request is one upstream answer");
      assert.deepEqual(JSON.parse(reply.choices[0]!.message.content!), { ok: true });
      assert.deepEqual(reply.choices[0]!.logprobs?.content, TOKENS);
      assert.equal(reply.system_fingerprint, "fp_mock_42");
      assert.equal(reply.service_tier, "default");
      assert.deepEqual(reply.usage?.prompt_tokens_details, { cached_tokens: 8 });
      assert.deepEqual(reply.usage?.completion_tokens_details, { reasoning_tokens: 0 });
    });
    await t.step("streaming: every token's log probabilities arrive, in order", async () => {
      mock.enqueue(jsonReply());
      const stream = await client.chat.completions.create({
        model: "mock-model",
        messages: [{ role: "user", content: "Answer in JSON" }],
        response_format: SCHEMA_FORMAT,
        seed: 42,
        logprobs: true,
        stream: true,
        stream_options: { include_usage: true },
      });
      let text = "";
      const tokens: unknown[] = [];
      const chunks: ChatCompletionChunk[] = [];
      for await (const chunk of stream) {
        chunks.push(chunk);
        text += chunk.choices[0]?.delta.content ?? "";
        tokens.push(...(chunk.choices[0]?.logprobs?.content ?? []));
      }
      const sent = mock.completionRequests.at(-1)!.body;
      assert.deepEqual(sent.response_format, SCHEMA_FORMAT);
      assert.equal(sent.seed, 42);
      assert.equal(sent.stream, true);
      assert.deepEqual(JSON.parse(text), { ok: true });
      assert.deepEqual(tokens, TOKENS, "coalescing concatenates log probabilities");
      const last = chunks.at(-1)!;
      assert.equal(last.system_fingerprint, "fp_mock_42");
      assert.deepEqual(last.usage?.prompt_tokens_details, { cached_tokens: 8 });
    });
  });
});

Deno.test("openai SDK: a refusal comes back as refusal, streamed or not", async () => {
  await withMockedServer(async ({ mock, client }) => {
    const refusal = () => ({
      kind: "reply" as const,
      events: [
        { type: "refusal" as const, content: "I can't " },
        { type: "refusal" as const, content: "help with that." },
        { type: "finish" as const, reason: "stop" as const },
      ],
    });
    mock.enqueue(refusal(), refusal());
    const ask = { model: "mock-model", messages: [{ role: "user" as const, content: "Do it" }] };
    const whole = await client.chat.completions.create(ask);
    assert.equal(whole.choices[0]!.message.refusal, "I can't help with that.");
    let streamed = "";
    for await (const chunk of await client.chat.completions.create({ ...ask, stream: true })) {
      streamed += chunk.choices[0]?.delta.refusal ?? "";
    }
    assert.equal(streamed, "I can't help with that.");
  });
});

const WEATHER: ChatCompletionTool = {
  type: "function",
  function: {
    name: "lookup_weather",
    description: "The weather in a city",
    parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
    strict: true,
  },
};

Deno.test("openai SDK: a client tool round trip, without streaming", async () => {
  await withMockedServer(async ({ mock, client }) => {
    mock.enqueue(
      toolCallReply([{ id: "call_w1", name: "lookup_weather", arguments: { city: "Paris" } }]),
      textReply("It is sunny in Paris."),
    );
    const messages: ChatCompletionMessageParam[] = [
      { role: "user", content: "Weather in Paris?" },
    ];
    const first = await client.chat.completions.create({
      model: "mock-model",
      messages,
      tools: [WEATHER],
      tool_choice: "auto",
      parallel_tool_calls: false,
    });
    const choice = first.choices[0]!;
    assert.equal(choice.finish_reason, "tool_calls");
    assert.equal(choice.message.content, null);
    assert.deepEqual(choice.message.tool_calls, [{
      id: "call_w1",
      type: "function",
      function: { name: "lookup_weather", arguments: '{"city":"Paris"}' },
    }]);
    const sent = mock.completionRequests[0]!.body;
    const names = sent.tools.map((t: Json) => t.function.name);
    assert.ok(names.includes("calculator"), "yychat's tools are offered too");
    assert.deepEqual(sent.tools.at(-1), WEATHER, "the client's tool goes upstream as sent");
    assert.equal(sent.tool_choice, "auto");
    assert.equal(sent.parallel_tool_calls, false);

    messages.push(choice.message, {
      role: "tool",
      tool_call_id: "call_w1",
      content: '{"sky":"sunny"}',
    });
    const second = await client.chat.completions.create({
      model: "mock-model",
      messages,
      tools: [WEATHER],
    });
    assert.equal(second.choices[0]!.message.content, "It is sunny in Paris.");
    assert.equal(second.choices[0]!.finish_reason, "stop");
    const continued = mock.completionRequests[1]!.body.messages;
    assert.deepEqual(continued.at(-2).tool_calls[0].function.name, "lookup_weather");
    assert.deepEqual(continued.at(-1), {
      role: "tool",
      tool_call_id: "call_w1",
      content: '{"sky":"sunny"}',
    });
  });
});

Deno.test("openai SDK: a client tool round trip, streaming", async () => {
  await withMockedServer(async ({ mock, client }) => {
    mock.enqueue(
      toolCallReply([{ id: "call_w2", name: "lookup_weather", arguments: { city: "Oslo" } }]),
      textReply("Snow in Oslo."),
    );
    const messages: ChatCompletionMessageParam[] = [{ role: "user", content: "Weather in Oslo?" }];
    const stream = await client.chat.completions.create({
      model: "mock-model",
      messages,
      tools: [WEATHER],
      stream: true,
    });
    const calls: { id?: string; name?: string; arguments: string }[] = [];
    let finish: string | null = null;
    for await (const chunk of stream) {
      const choice = chunk.choices[0];
      for (const d of choice?.delta.tool_calls ?? []) {
        const call = calls[d.index] ??= { arguments: "" };
        if (d.id) call.id = d.id;
        if (d.function?.name) call.name = d.function.name;
        call.arguments += d.function?.arguments ?? "";
      }
      finish = choice?.finish_reason ?? finish;
    }
    assert.equal(finish, "tool_calls");
    assert.deepEqual(calls, [{
      id: "call_w2",
      name: "lookup_weather",
      arguments: '{"city":"Oslo"}',
    }]);

    messages.push(
      {
        role: "assistant",
        content: null,
        tool_calls: [{
          id: "call_w2",
          type: "function",
          function: { name: "lookup_weather", arguments: calls[0]!.arguments },
        }],
      },
      { role: "tool", tool_call_id: "call_w2", content: '{"sky":"snow"}' },
    );
    let text = "";
    for await (
      const chunk of await client.chat.completions.create({
        model: "mock-model",
        messages,
        tools: [WEATHER],
        stream: true,
      })
    ) {
      text += chunk.choices[0]?.delta.content ?? "";
    }
    assert.equal(text, "Snow in Oslo.");
    assert.equal(mock.completionRequests[1]!.body.messages.at(-1).content, '{"sky":"snow"}');
  });
});

Deno.test("openai SDK: a mixed round runs yychat's tool, hands back the client's, and memory keeps the whole exchange", async () => {
  await withMockedServer(async ({ mock, server, client }) => {
    mock.enqueue(
      toolCallReply([
        { id: "call_calc", name: "calculator", arguments: { operation: "add", a: 2, b: 3 } },
        { id: "call_wx", name: "lookup_weather", arguments: { city: "Rome" } },
      ]),
      textReply("2 + 3 = 5, and Rome is warm."),
    );
    const messages: ChatCompletionMessageParam[] = [
      { role: "user", content: "Add 2 and 3, and the weather in Rome?" },
    ];
    const ask = (msgs: ChatCompletionMessageParam[]) =>
      client.chat.completions.create({
        model: "mock-model",
        messages: msgs,
        tools: [WEATHER],
        // @ts-expect-error: yychat's extra field
        conversation_id: "mixed-1",
      });
    const first = await ask(messages);
    const message = first.choices[0]!.message;
    assert.equal(first.choices[0]!.finish_reason, "tool_calls");
    assert.deepEqual(
      message.tool_calls?.map((c) => c.type === "function" ? c.function.name : c.type),
      ["lookup_weather"],
      "only the client's call is handed back",
    );
    messages.push(message, { role: "tool", tool_call_id: "call_wx", content: '{"sky":"warm"}' });
    const second = await ask(messages);
    assert.equal(second.choices[0]!.message.content, "2 + 3 = 5, and Rome is warm.");

    // The continuation prompted the model with both calls and both results.
    const prompt = mock.completionRequests[1]!.body.messages;
    const caller = prompt.find((m: Json) => m.role === "assistant" && m.tool_calls);
    assert.deepEqual(caller.tool_calls.map((c: Json) => c.id), ["call_calc", "call_wx"]);
    const results = prompt.filter((m: Json) => m.role === "tool");
    assert.deepEqual(results.map((m: Json) => m.tool_call_id), ["call_calc", "call_wx"]);
    assert.equal(JSON.parse(results[0].content).result, 5);

    // Memory holds the whole exchange, each call with its result.
    const stored = await (await fetch(`${server.http}/v1/conversations/mixed-1/memory`)).json();
    assert.deepEqual(
      stored.data.map((m: Json) => [m.role, m.tool_call_id ?? null, m.content]),
      [
        ["user", null, "Add 2 and 3, and the weather in Rome?"],
        ["assistant", null, null],
        ["tool", "call_calc", results[0].content],
        ["tool", "call_wx", '{"sky":"warm"}'],
        ["assistant", null, "2 + 3 = 5, and Rome is warm."],
      ],
    );
  });
});

Deno.test("openai SDK: a client tool shadows a yychat tool of the same name", async () => {
  await withMockedServer(async ({ mock, client }) => {
    const mine: ChatCompletionTool = {
      type: "function",
      function: { name: "calculator", description: "The client's own calculator" },
    };
    mock.enqueue(toolCallReply([{ id: "call_mine", name: "calculator", arguments: { x: 1 } }]));
    const reply = await client.chat.completions.create({
      model: "mock-model",
      messages: [{ role: "user", content: "1+1" }],
      tools: [mine],
    });
    const offered = mock.completionRequests[0]!.body.tools.filter((t: Json) =>
      t.function.name === "calculator"
    );
    assert.deepEqual(offered, [mine], "offered once: the client's definition");
    assert.equal(reply.choices[0]!.finish_reason, "tool_calls");
    assert.equal(reply.choices[0]!.message.tool_calls?.[0]?.id, "call_mine");
    assert.equal(mock.completionRequests.length, 1, "yychat did not run it");
  });
});

Deno.test("openai SDK: an image part reaches the provider; memory keeps a placeholder", async () => {
  await withMockedServer(async ({ mock, server, client }) => {
    mock.enqueue(textReply("A red square."));
    const content = [
      { type: "text" as const, text: "What is this?" },
      {
        type: "image_url" as const,
        image_url: { url: "data:image/png;base64,iVBORw0KGgo=", detail: "low" as const },
      },
    ];
    const reply = await client.chat.completions.create({
      model: "mock-model",
      messages: [{ role: "user", content }],
      // @ts-expect-error: yychat's extra field
      conversation_id: "image-1",
    });
    assert.equal(reply.choices[0]!.message.content, "A red square.");
    assert.deepEqual(mock.completionRequests[0]!.body.messages.at(-1), { role: "user", content });
    const stored = await (await fetch(`${server.http}/v1/conversations/image-1/memory`)).json();
    assert.equal(stored.data[0].content, "What is this? [image]");
  });
});

Deno.test("openai SDK: an upstream 4xx keeps its status and message", async (t) => {
  await withMockedServer(async ({ mock, client }) => {
    for (const stream of [false, true]) {
      await t.step(`400 (stream: ${stream})`, async () => {
        mock.enqueue({
          kind: "error",
          status: 400,
          type: "invalid_request_error",
          code: "context_length_exceeded",
          message: "This model's maximum context length is 8192 tokens.",
        });
        await assert.rejects(
          client.chat.completions.create({
            model: "mock-model",
            messages: [{ role: "user", content: "Hi" }],
            stream,
          }),
          (err: unknown) => {
            assert.ok(err instanceof OpenAI.BadRequestError, String(err));
            assert.equal(err.status, 400);
            assert.match(err.message, /maximum context length is 8192 tokens/);
            assert.equal(err.code, "upstream_invalid_request");
            assert.equal((err.error as Json).upstream_code, "context_length_exceeded");
            return true;
          },
        );
      });
    }
    await t.step("404 for an unknown model", async () => {
      mock.enqueue({ kind: "error", status: 404, message: "The model `gpt-9` does not exist" });
      await assert.rejects(
        client.chat.completions.create({
          model: "gpt-9",
          messages: [{ role: "user", content: "x" }],
        }),
        (err: unknown) => {
          assert.ok(err instanceof OpenAI.NotFoundError, String(err));
          assert.match(err.message, /gpt-9/);
          return true;
        },
      );
      assert.equal(mock.completionRequests.at(-1)!.body.model, "gpt-9");
    });
    await t.step("401 from the provider is the server's credentials, said so", async () => {
      mock.enqueue({
        kind: "error",
        status: 401,
        message: "Incorrect API key provided: upstream-test-key",
      });
      await assert.rejects(
        client.chat.completions.create({ model: "m", messages: [{ role: "user", content: "x" }] }),
        (err: unknown) => {
          assert.ok(err instanceof OpenAI.AuthenticationError, String(err));
          assert.equal(err.code, "upstream_auth_error");
          assert.ok(!err.message.includes("upstream-test-key"), "the key is scrubbed");
          return true;
        },
      );
    });
  });
});

Deno.test("openai SDK: an upstream 429 keeps its Retry-After", async () => {
  await withMockedServer(async ({ mock, client }) => {
    for (const stream of [false, true]) {
      mock.enqueue({
        kind: "error",
        status: 429,
        message: "Rate limit reached",
        headers: { "retry-after": "7" },
      });
      await assert.rejects(
        client.chat.completions.create({
          model: "mock-model",
          messages: [{ role: "user", content: "Hi" }],
          stream,
        }),
        (err: unknown) => {
          assert.ok(err instanceof OpenAI.RateLimitError, String(err));
          assert.equal(err.status, 429);
          assert.equal(err.headers?.get("retry-after"), "7");
          assert.equal(err.code, "rate_limited");
          return true;
        },
      );
    }
  });
});

Deno.test("openai SDK: an upstream 5xx is retried (PROVIDER_MAX_RETRIES), then 502", async () => {
  await withMockedServer(async ({ mock, client }) => {
    mock.enqueue(
      { kind: "error", status: 503, message: "Overloaded", headers: { "retry-after-ms": "5" } },
      textReply("Recovered"),
    );
    const ok = await client.chat.completions.create({
      model: "mock-model",
      messages: [{ role: "user", content: "Hi" }],
    });
    assert.equal(ok.choices[0]!.message.content, "Recovered");
    assert.equal(mock.completionRequests.length, 2);
    mock.enqueue(
      { kind: "error", status: 500, message: "Boom", headers: { "retry-after-ms": "5" } },
      { kind: "error", status: 500, message: "Boom again", headers: { "retry-after-ms": "5" } },
    );
    await assert.rejects(
      client.chat.completions.create({
        model: "mock-model",
        messages: [{ role: "user", content: "Hi" }],
      }),
      (err: unknown) => {
        assert.ok(err instanceof OpenAI.InternalServerError, String(err));
        assert.equal(err.status, 502);
        assert.equal(err.code, "upstream_error");
        return true;
      },
    );
    assert.equal(mock.completionRequests.length, 4, "one retry, then the error");
  }, { PROVIDER_MAX_RETRIES: "1" });
});

Deno.test("openai SDK: with conversation_id, the tool results alone continue a handed-back reply", async () => {
  await withMockedServer(async ({ mock, server, client }) => {
    mock.enqueue(
      toolCallReply([{ id: "call_solo", name: "lookup_weather", arguments: { city: "Lima" } }]),
      textReply("Lima is foggy."),
    );
    const extra = { conversation_id: "solo-1" };
    const first = await client.chat.completions.create({
      model: "mock-model",
      messages: [{ role: "user", content: "Weather in Lima?" }],
      tools: [WEATHER],
      ...extra,
    });
    assert.equal(first.choices[0]!.finish_reason, "tool_calls");
    const second = await client.chat.completions.create({
      model: "mock-model",
      messages: [{ role: "tool", tool_call_id: "call_solo", content: '{"sky":"fog"}' }],
      tools: [WEATHER],
      ...extra,
    });
    assert.equal(second.choices[0]!.message.content, "Lima is foggy.");
    const prompt = mock.completionRequests[1]!.body.messages;
    assert.deepEqual(
      prompt.slice(1).map((m: Json) => m.role),
      ["user", "assistant", "tool"],
      "the kept user message and call come back in front of the result",
    );
    const stored = await (await fetch(`${server.http}/v1/conversations/solo-1/memory`)).json();
    assert.deepEqual(stored.data.map((m: Json) => m.role), [
      "user",
      "assistant",
      "tool",
      "assistant",
    ]);
  });
});

Deno.test("openai SDK: a tool_choice that forces a call holds for the first model call only", async () => {
  await withMockedServer(async ({ mock, client }) => {
    mock.enqueue(
      toolCallReply([{
        id: "c1",
        name: "calculator",
        arguments: { operation: "add", a: 1, b: 1 },
      }]),
      textReply("It is 2."),
    );
    const reply = await client.chat.completions.create({
      model: "mock-model",
      messages: [{ role: "user", content: "1+1?" }],
      tool_choice: "required",
    });
    assert.equal(reply.choices[0]!.message.content, "It is 2.");
    assert.equal(mock.completionRequests[0]!.body.tool_choice, "required");
    assert.equal(mock.completionRequests[1]!.body.tool_choice, "auto");
  });
});
