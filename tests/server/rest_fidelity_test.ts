/**
 * The fidelity table of `docs/REST.md` is true: every field it lists is
 * sent in one chat completion, and what the provider (the OpenAI mock)
 * received is checked against the row — passed unchanged, transformed as
 * said, or owned by yychat. A field added to the table without a check here,
 * or checked here without a row, fails the test.
 */
import assert from "node:assert/strict";
import { OpenAIMock, textReply } from "../helpers/openai_mock.ts";
import { startTestServer } from "../helpers/test_server.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

type How = "passed" | "transformed" | "owned";

/** The rows of the table under `## Fidelity`: field → how. */
async function fidelityTable(): Promise<Map<string, How>> {
  const text = await Deno.readTextFile(new URL("../../docs/REST.md", import.meta.url));
  const section = text.split("\n## Fidelity")[1]?.split("\n## ")[0];
  assert.ok(section, "docs/REST.md has a Fidelity section");
  const rows = new Map<string, How>();
  for (const line of section.split("\n")) {
    const m = /^\|\s*`([a-z_]+)`\s*\|\s*(passed|transformed|owned)\s*\|/.exec(line);
    if (m) rows.set(m[1]!, m[2] as How);
  }
  assert.ok(rows.size > 20, `the table has its rows (found ${rows.size})`);
  return rows;
}

const CLIENT_TOOL = {
  type: "function",
  function: {
    name: "lookup_order",
    description: "An order by id",
    parameters: { type: "object", properties: { id: { type: "string" } } },
  },
};

const USER_MESSAGE = {
  role: "user",
  name: "ada",
  content: [
    { type: "text", text: "Describe this" },
    { type: "image_url", image_url: { url: "data:image/png;base64,iVBORw0KGgo=" } },
  ],
  x_message_extension: { kept: true },
};

/** One value for every field of the table. */
const SAMPLE: Record<string, unknown> = {
  model: "upstream-model-x",
  messages: [{ role: "developer", content: "Answer briefly." }, USER_MESSAGE],
  temperature: 0.4,
  top_p: 0.9,
  max_tokens: 77,
  max_completion_tokens: 88,
  stop: "END",
  seed: 1234,
  response_format: { type: "json_object" },
  frequency_penalty: 0.5,
  presence_penalty: -0.5,
  logit_bias: { "50256": -100 },
  logprobs: true,
  top_logprobs: 3,
  user: "user-42",
  metadata: { team: "support" },
  store: false,
  reasoning_effort: "low",
  service_tier: "flex",
  prediction: { type: "content", content: "predicted" },
  modalities: ["text"],
  verbosity: "low",
  prompt_cache_key: "cache-key-1",
  safety_identifier: "hashed-user",
  web_search_options: { search_context_size: "low" },
  x_vendor_extension: { any: ["value", 1] },
  tool_choice: "auto",
  parallel_tool_calls: true,
  tools: [CLIENT_TOOL],
  stream: true,
  stream_options: { include_usage: false },
  n: 1,
  conversation_id: "fidelity-1",
  personality_id: "concise",
  use_tools: true,
  background: false,
};

/** The check of each transformed or owned field, against the provider's body. */
const CHECKS: Record<string, (upstream: Json) => void> = {
  messages(upstream) {
    const [system, ...rest] = upstream.messages;
    assert.equal(system.role, "system");
    assert.ok(system.content.endsWith("Answer briefly."), "the client's system text is kept");
    assert.ok(system.content.length > "Answer briefly.".length, "the personality's prompt first");
    assert.deepEqual(rest, [USER_MESSAGE], "the user message, parts and fields as sent");
  },
  tools(upstream) {
    const names = upstream.tools.map((t: Json) => t.function.name);
    assert.ok(names.includes("calculator"), "yychat's tools");
    assert.deepEqual(upstream.tools.at(-1), CLIENT_TOOL, "then the client's, as sent");
  },
  stream(upstream) {
    assert.equal(upstream.stream, true, "yychat streams because the client streams");
  },
  stream_options(upstream) {
    assert.deepEqual(upstream.stream_options, { include_usage: true });
  },
  n(upstream) {
    assert.equal("n" in upstream, false);
  },
  conversation_id(upstream) {
    assert.equal("conversation_id" in upstream, false);
  },
  personality_id(upstream) {
    assert.equal("personality_id" in upstream, false);
  },
  use_tools(upstream) {
    assert.equal("use_tools" in upstream, false);
  },
  background(upstream) {
    assert.equal("background" in upstream, false);
  },
};

Deno.test("docs/REST.md fidelity table: every field reaches the provider as the table says", async (t) => {
  const table = await fidelityTable();
  assert.deepEqual(
    [...table.keys()].filter((f) => !(f in SAMPLE)),
    [],
    "every field of the table has a sample value here",
  );
  assert.deepEqual(
    Object.keys(SAMPLE).filter((f) => !table.has(f)),
    [],
    "every field sent here has a row in the table",
  );
  const mock = await OpenAIMock.start();
  const server = await startTestServer({
    OPENAI_BASE_URL: mock.baseUrl,
    OPENAI_API_KEY: "k",
    OPENAI_MODEL: "mock-model",
    PROVIDER_MAX_RETRIES: "0",
  });
  try {
    mock.enqueue(textReply("ok"));
    const res = await fetch(`${server.http}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(SAMPLE),
    });
    assert.equal(res.status, 200, await res.clone().text());
    await res.body?.cancel();
    const upstream = mock.completionRequests[0]!.body;
    for (const [field, how] of table) {
      await t.step(`${field}: ${how}`, () => {
        if (how === "passed") {
          assert.deepEqual(
            upstream[field],
            SAMPLE[field],
            `${field} reaches the provider unchanged`,
          );
          return;
        }
        const check = CHECKS[field];
        assert.ok(check, `a check for the ${how} field ${field}`);
        check(upstream);
      });
    }
    await t.step("stream: without it, yychat asks for one answer", async () => {
      mock.enqueue(textReply("ok"));
      const res = await fetch(`${server.http}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ messages: [{ role: "user", content: "hi" }] }),
      });
      assert.equal(res.status, 200);
      await res.body?.cancel();
      const body = mock.completionRequests[1]!.body;
      assert.equal(body.stream, false);
      assert.equal("stream_options" in body, false);
      assert.equal(body.model, "mock-model", "model absent: OPENAI_MODEL");
    });
  } finally {
    await server.close();
    await mock.close();
  }
});
