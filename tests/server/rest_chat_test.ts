import assert from "node:assert/strict";
import OpenAI from "openai";
import { textReply } from "../helpers/openai_mock.ts";
import { withMockedServer } from "../helpers/mocked_server.ts";
import { startTestServer, type TestServer } from "../helpers/test_server.ts";
import { waitFor } from "../helpers/wait.ts";

function nowSeconds(): number {
  return Date.now() / 1000;
}

// deno-lint-ignore no-explicit-any
type Json = any;

async function postJson(server: TestServer, body: unknown): Promise<[number, Json]> {
  const res = await fetch(server.http + "/v1/chat/completions", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return [res.status, await res.json()];
}

Deno.test("POST /v1/chat/completions answers the openai SDK without streaming", async () => {
  await withMockedServer(async ({ mock, client }) => {
    mock.enqueue(textReply("Hello from the mock"), textReply("Again"));
    const a = await client.chat.completions.create({
      model: "mock-model",
      messages: [{ role: "user", content: "Hi" }],
      temperature: 0.3,
      top_p: 0.9,
      max_tokens: 50,
      stop: "END",
    });
    assert.equal(a.object, "chat.completion");
    assert.match(a.id, /^chatcmpl-[0-9a-f]{32}$/);
    assert.ok(Math.abs(a.created - nowSeconds()) < 60, "created is epoch seconds");
    assert.equal(a.model, "mock-model");
    assert.equal(a.choices.length, 1);
    assert.equal(a.choices[0]!.message.role, "assistant");
    assert.equal(a.choices[0]!.message.content, "Hello from the mock");
    assert.equal(a.choices[0]!.finish_reason, "stop");
    assert.deepEqual(a.usage, { prompt_tokens: 10, completion_tokens: 4, total_tokens: 14 });

    const upstream = mock.completionRequests[0]!.body;
    assert.equal(upstream.temperature, 0.3);
    assert.equal(upstream.top_p, 0.9);
    assert.equal(upstream.max_tokens, 50);
    assert.equal(upstream.stop, "END", "stop is passed as the client sent it");

    const b = await client.chat.completions.create({
      model: "another-upstream-model",
      messages: [{ role: "user", content: "Hi again" }],
      max_completion_tokens: 7,
    });
    assert.equal(b.choices[0]!.message.content, "Again");
    assert.notEqual(a.id, b.id, "every response has its own id");
    // Reasoning models take only max_completion_tokens: the client's field is kept.
    assert.equal(mock.completionRequests[1]!.body.max_completion_tokens, 7);
    assert.equal(mock.completionRequests[1]!.body.max_tokens, undefined);
    assert.equal(mock.completionRequests[1]!.body.temperature, undefined, "none unless asked");
    assert.equal(
      mock.completionRequests[1]!.body.model,
      "another-upstream-model",
      "a real provider gets the client's model",
    );
  });
});

Deno.test("POST /v1/chat/completions streams chunks to the openai SDK", async () => {
  await withMockedServer(async ({ mock, client }) => {
    mock.enqueue(textReply("One two three four"), textReply("Five"));
    const stream = await client.chat.completions.create({
      model: "mock-model",
      messages: [{ role: "user", content: "Count" }],
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    // Role chunk, text (deltas that arrive together are coalesced), finish, usage.
    assert.ok(chunks.length >= 4, `got ${chunks.length} chunks`);
    const ids = new Set(chunks.map((c) => c.id));
    assert.equal(ids.size, 1, "every chunk of a stream shares the id");
    assert.match(chunks[0]!.id, /^chatcmpl-/);
    for (const c of chunks) {
      assert.equal(c.object, "chat.completion.chunk");
      assert.ok(Math.abs(c.created - nowSeconds()) < 60);
    }
    assert.equal(chunks[0]!.choices[0]!.delta.role, "assistant");
    const text = chunks.map((c) => c.choices[0]?.delta.content ?? "").join("");
    assert.equal(text, "One two three four");
    const finishes = chunks.map((c) => c.choices[0]?.finish_reason).filter(Boolean);
    assert.deepEqual(finishes, ["stop"]);
    const last = chunks.at(-1)!;
    assert.deepEqual(last.choices, []);
    assert.deepEqual(last.usage, { prompt_tokens: 10, completion_tokens: 4, total_tokens: 14 });

    // Without include_usage: no usage chunk; a new id.
    const again = await client.chat.completions.create({
      model: "mock-model",
      messages: [{ role: "user", content: "More" }],
      stream: true,
    });
    const more = [];
    for await (const chunk of again) more.push(chunk);
    assert.notEqual(more[0]!.id, chunks[0]!.id);
    assert.ok(more.every((c) => c.choices.length === 1 && !c.usage));
    assert.equal(more.at(-1)!.choices[0]!.finish_reason, "stop");
  });
});

Deno.test("POST /v1/chat/completions SSE framing: headers, role chunk, [DONE]", async () => {
  await withMockedServer(async ({ mock, server }) => {
    mock.enqueue(textReply("Hi there"));
    const res = await fetch(server.http + "/v1/chat/completions", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ messages: [{ role: "user", content: "Hi" }], stream: true }),
    });
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type")!, /^text\/event-stream/);
    assert.equal(res.headers.get("cache-control"), "no-cache");
    const text = await res.text();
    const events = text.split("\n\n").filter((e) => e !== "");
    assert.equal(events.at(-1), "data: [DONE]");
    // Every other event: `id: <seq>` (for Last-Event-ID), then its data line.
    const ids = events.slice(0, -1).map((e) => {
      const match = /^id: (\d+)\ndata: /.exec(e);
      assert.ok(match, `id and data lines: ${JSON.stringify(e)}`);
      return Number(match[1]);
    });
    assert.deepEqual(ids, [...ids].sort((a, b) => a - b), "ids ascend");
    assert.match(res.headers.get("x-yychat-request-id")!, /^chatcmpl-/);
    assert.ok(res.headers.get("x-yychat-resume-token"));
    const first = JSON.parse(events[0]!.split("\ndata: ")[1]!);
    assert.deepEqual(first.choices[0].delta, { role: "assistant", content: "", refusal: null });
  });
});

Deno.test("POST /v1/chat/completions runs the offline provider's tool loop without OPENAI_*", async () => {
  const server = await startTestServer({});
  const client = new OpenAI({ apiKey: "unused", baseURL: server.http + "/v1", maxRetries: 0 });
  try {
    const reply = await client.chat.completions.create({
      model: "gpt-4o",
      messages: [{ role: "user", content: "What is 12 * 7?" }],
    });
    assert.match(reply.model, /offline/, "the offline provider names itself");
    assert.match(reply.choices[0]!.message.content ?? "", /84/);
    assert.ok(reply.usage && reply.usage.total_tokens > 0);

    const stream = await client.chat.completions.create({
      model: "yychat-offline",
      messages: [{ role: "user", content: "What is 6 * 7?" }],
      stream: true,
    });
    let text = "";
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? "";
    assert.match(text, /42/);
  } finally {
    await server.close();
  }
});

Deno.test("POST /v1/chat/completions remembers a conversation_id across requests", async () => {
  await withMockedServer(async ({ mock, server }) => {
    mock.enqueue(textReply("Nice to meet you, Ada"), textReply("Your name is Ada"));
    const [s1] = await postJson(server, {
      model: "mock-model",
      conversation_id: "conv-ada",
      messages: [{ role: "user", content: "My name is Ada" }],
    });
    assert.equal(s1, 200);
    const [s2, second] = await postJson(server, {
      model: "mock-model",
      conversation_id: "conv-ada",
      messages: [{ role: "user", content: "What is my name?" }],
    });
    assert.equal(s2, 200);
    assert.equal(second.choices[0].message.content, "Your name is Ada");
    const sent = mock.completionRequests[1]!.body.messages as { role: string; content: string }[];
    const pairs = sent.map((m) => `${m.role}:${m.content}`);
    assert.ok(pairs.includes("user:My name is Ada"), pairs.join(" | "));
    assert.ok(pairs.includes("assistant:Nice to meet you, Ada"), pairs.join(" | "));
    assert.equal(pairs.at(-1), "user:What is my name?");
  });
});

Deno.test("POST /v1/chat/completions keeps the client's system prompt with the personality's", async () => {
  await withMockedServer(async ({ mock, server }) => {
    mock.enqueue(textReply("Bonjour"));
    const [status] = await postJson(server, {
      messages: [
        { role: "system", content: "Always answer in French" },
        { role: "user", content: "Hello" },
      ],
    });
    assert.equal(status, 200);
    const sent = mock.completionRequests[0]!.body.messages as { role: string; content: string }[];
    const systems = sent.filter((m) => m.role === "system");
    assert.equal(systems.length, 1);
    const personality = server.app.services.engine.personalities.default;
    assert.ok(systems[0]!.content.includes(personality.system_prompt), "personality prompt kept");
    assert.ok(systems[0]!.content.includes("Always answer in French"), "client prompt kept");
  });
});

Deno.test("POST /v1/chat/completions accepts OpenAI's full message shapes", async (t) => {
  await withMockedServer(async ({ mock, client }) => {
    await t.step(
      "array content: parts pass as sent; developer text joins the system prompt",
      async () => {
        mock.enqueue(textReply("ok"));
        await client.chat.completions.create({
          model: "mock-model",
          messages: [
            { role: "developer", content: [{ type: "text", text: "Be brief" }] },
            {
              role: "user",
              content: [{ type: "text", text: "Hello " }, { type: "text", text: "world" }],
            },
          ],
        });
        const sent = mock.completionRequests.at(-1)!.body.messages;
        assert.deepEqual(sent.at(-1), {
          role: "user",
          content: [{ type: "text", text: "Hello " }, { type: "text", text: "world" }],
        });
        assert.ok(sent[0].content.includes("Be brief"), "developer message is a system prompt");
      },
    );
    await t.step("assistant tool_calls with null content and tool results", async () => {
      mock.enqueue(textReply("You're welcome"));
      const reply = await client.chat.completions.create({
        model: "mock-model",
        messages: [
          { role: "user", content: "What is 12 * 7?" },
          {
            role: "assistant",
            content: null,
            tool_calls: [{
              id: "call_1",
              type: "function",
              function: { name: "calculator", arguments: '{"operation":"multiply","a":12,"b":7}' },
            }],
          },
          { role: "tool", tool_call_id: "call_1", content: "84" },
          { role: "assistant", content: "It is 84." },
          { role: "user", content: "Thanks" },
        ],
      });
      assert.equal(reply.choices[0]!.message.content, "You're welcome");
      const sent = mock.completionRequests.at(-1)!.body.messages;
      const call = sent.find((m: Json) => m.role === "assistant" && m.tool_calls);
      assert.equal(call.tool_calls[0].id, "call_1");
      assert.equal(call.tool_calls[0].function.name, "calculator");
      const result = sent.find((m: Json) => m.role === "tool");
      assert.equal(result.tool_call_id, "call_1");
      assert.equal(result.content, "84");
    });
  });
});

Deno.test("POST /v1/chat/completions rejects invalid bodies with 400 and the param", async (t) => {
  await withMockedServer(async ({ mock, server, client }) => {
    const cases: [string, unknown, string][] = [
      ["no messages", { model: "m" }, "messages"],
      ["empty messages", { messages: [] }, "messages"],
      ["message without content", { messages: [{ role: "user" }] }, "messages[0].content"],
      ["unknown role", { messages: [{ role: "wizard", content: "x" }] }, "messages[0].role"],
      ["tool without tool_call_id", {
        messages: [{ role: "tool", content: "x" }],
      }, "messages[0].tool_call_id"],
      ["text part without text", {
        messages: [{ role: "user", content: [{ type: "text", txt: "typo" }] }],
      }, "messages[0].content[0].text"],
      ["client tool with a bad name", {
        messages: [{ role: "user", content: "x" }],
        tools: [{ type: "function", function: { name: "no spaces allowed" } }],
      }, "tools[0].function.name"],
      ["response_format json_schema without its schema object", {
        messages: [{ role: "user", content: "x" }],
        response_format: { type: "json_schema" },
      }, "response_format.json_schema"],
      ["temperature out of range", {
        messages: [{ role: "user", content: "x" }],
        temperature: 5,
      }, "temperature"],
      ["stop of the wrong type", {
        messages: [{ role: "user", content: "x" }],
        stop: 3,
      }, "stop"],
      ["n > 1", { messages: [{ role: "user", content: "x" }], n: 2 }, "n"],
      [
        "stream not boolean",
        { messages: [{ role: "user", content: "x" }], stream: "yes" },
        "stream",
      ],
      ["unknown personality", {
        messages: [{ role: "user", content: "x" }],
        personality_id: "nobody",
      }, "personality_id"],
      ["only a system message", { messages: [{ role: "system", content: "x" }] }, "messages"],
    ];
    for (const [name, body, param] of cases) {
      await t.step(name, async () => {
        const [status, json] = await postJson(server, body);
        assert.equal(status, 400, JSON.stringify(json));
        assert.equal(json.error.param, param);
        assert.equal(json.error.type, "invalid_request_error");
        assert.equal(typeof json.error.message, "string");
      });
    }
    await t.step("the SDK raises BadRequestError", async () => {
      await assert.rejects(
        client.chat.completions.create({
          model: "mock-model",
          messages: [{ role: "user", content: "x" }],
          temperature: 9,
        }),
        (err: unknown) => {
          assert.ok(err instanceof OpenAI.BadRequestError);
          assert.equal(err.param, "temperature");
          return true;
        },
      );
    });
    await t.step("invalid JSON", async () => {
      const res = await fetch(server.http + "/v1/chat/completions", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: "{not json",
      });
      assert.equal(res.status, 400);
      assert.equal((await res.json()).error.code, "invalid_json");
    });
    await t.step("non-JSON content type", async () => {
      const res = await fetch(server.http + "/v1/chat/completions", {
        method: "POST",
        headers: { "content-type": "text/plain" },
        body: "hello",
      });
      assert.equal(res.status, 415);
      assert.equal((await res.json()).error.type, "invalid_request_error");
    });
    assert.equal(mock.completionRequests.length, 0, "nothing invalid reached the provider");
  });
});

Deno.test("POST /v1/chat/completions maps provider failures to HTTP statuses", async (t) => {
  await withMockedServer(async ({ mock, client }) => {
    const ask = (stream: boolean) =>
      client.chat.completions.create({
        model: "mock-model",
        messages: [{ role: "user", content: "Hi" }],
        stream,
      });
    for (const stream of [false, true]) {
      await t.step(`provider 429 → RateLimitError (stream: ${stream})`, async () => {
        mock.enqueue({ kind: "error", status: 429, message: "Slow down", code: "rate_limit" });
        await assert.rejects(ask(stream), (err: unknown) => {
          assert.ok(err instanceof OpenAI.RateLimitError, String(err));
          assert.equal(err.status, 429);
          assert.equal(err.code, "rate_limited");
          return true;
        });
      });
      await t.step(`provider 500 → 502 (stream: ${stream})`, async () => {
        mock.enqueue({ kind: "error", status: 500, message: "Upstream broke" });
        await assert.rejects(ask(stream), (err: unknown) => {
          assert.ok(err instanceof OpenAI.InternalServerError, String(err));
          assert.equal(err.status, 502);
          assert.equal(err.code, "upstream_error");
          return true;
        });
      });
    }
    await t.step("a stream cut after output ends with an error event", async () => {
      mock.enqueue({
        kind: "reply",
        events: [{ type: "text", content: "Partial " }, { type: "delay", ms: 20 }, {
          type: "cut",
        }],
      });
      const stream = await client.chat.completions.create({
        model: "mock-model",
        messages: [{ role: "user", content: "Hi" }],
        stream: true,
      });
      let text = "";
      await assert.rejects(
        (async () => {
          for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? "";
        })(),
        (err: unknown) => {
          assert.ok(err instanceof OpenAI.APIError, String(err));
          assert.equal(err.code, "upstream_error");
          return true;
        },
      );
      assert.equal(text, "Partial ");
    });
  });
});

Deno.test("POST /v1/chat/completions maps a provider timeout to 504", async () => {
  await withMockedServer(async ({ mock, client }) => {
    mock.enqueue({ kind: "hang" });
    await assert.rejects(
      client.chat.completions.create({
        model: "mock-model",
        messages: [{ role: "user", content: "Hi" }],
      }),
      (err: unknown) => {
        assert.ok(err instanceof OpenAI.APIError, String(err));
        assert.equal(err.status, 504);
        assert.equal(err.code, "upstream_timeout");
        return true;
      },
    );
  }, { PROVIDER_TIMEOUT: "0.3" });
});

Deno.test("POST /v1/chat/completions aborts the provider request when the client disconnects", async () => {
  await withMockedServer(async ({ mock, server, client }) => {
    mock.enqueue(textReply(Array.from({ length: 60 }, (_, i) => `w${i}`).join(" "), {
      chunkDelayMs: 25,
    }));
    const stream = await client.chat.completions.create({
      model: "mock-model",
      messages: [{ role: "user", content: "Talk for a while" }],
      stream: true,
    });
    let contentChunks = 0;
    for await (const chunk of stream) {
      if (chunk.choices[0]?.delta.content) contentChunks++;
      if (contentChunks === 2) break; // the SDK aborts its request
    }
    await mock.waitForAbort(3000);
    assert.equal(mock.completionRequests[0]!.aborted, true);
    assert.equal(mock.completionRequests[0]!.completed, false);
    await waitFor(() => server.logs.some((l) => l.includes('"outcome":"cancelled"')));
  });
});

Deno.test("POST /v1/chat/completions without streaming aborts upstream when the client hangs up", async () => {
  await withMockedServer(async ({ mock, server }) => {
    mock.enqueue(textReply(Array.from({ length: 60 }, (_, i) => `w${i}`).join(" "), {
      chunkDelayMs: 25,
    }));
    const ac = new AbortController();
    const request = fetch(server.http + "/v1/chat/completions", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ messages: [{ role: "user", content: "Talk for a while" }] }),
      signal: ac.signal,
    });
    await waitFor(() => mock.completionRequests.length === 1);
    await new Promise((r) => setTimeout(r, 100));
    ac.abort();
    await assert.rejects(request);
    await mock.waitForAbort(3000);
    assert.equal(mock.completionRequests[0]!.completed, false);
  });
});

Deno.test("POST /v1/chat/completions in flight at shutdown completes; new requests get 503", async () => {
  await withMockedServer(async ({ mock, server }) => {
    mock.enqueue(textReply("finishing my answer before the server stops", { chunkDelayMs: 20 }));
    const inFlight = fetch(server.http + "/v1/chat/completions", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        conversation_id: "drain",
        messages: [{ role: "user", content: "Talk for a while" }],
      }),
    });
    await waitFor(() => mock.completionRequests.length === 1);
    const shutdown = server.app.shutdown();
    const [late, lateBody] = await postJson(server, {
      messages: [{ role: "user", content: "hi" }],
    });
    assert.equal(late, 503);
    assert.equal(lateBody.error.code, "server_shutting_down");
    const res = await inFlight;
    assert.equal(res.status, 200, "the turn was saved before the database closed");
    assert.equal(
      (await res.json()).choices[0].message.content,
      "finishing my answer before the server stops",
    );
    await shutdown;
  });
});

Deno.test("POST /v1/chat/completions answers memory_unavailable for a failing store, details only in the log", async () => {
  await withMockedServer(async ({ server }) => {
    await server.app.services.memory.close(); // the store fails every call from now on
    const [status, body] = await postJson(server, {
      conversation_id: "c",
      messages: [{ role: "user", content: "hi" }],
    });
    assert.equal(status, 503);
    assert.equal(body.error.message, "Conversation memory is unavailable");
    assert.equal(body.error.code, "memory_unavailable");
    assert.equal(body.error.type, "server_error");
    assert.doesNotMatch(JSON.stringify(body), /yychat\.db|closed/i);
    assert.ok(server.logs.some((l) => l.includes("memory_failed") && l.includes("yychat.db")));
  });
});
