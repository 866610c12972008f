/**
 * WebSocket parity: `text_message` takes the same generation parameters as
 * the REST chat completion, validated by the same schema
 * (`src/protocol/generation_params.ts`), and they reach the provider.
 */
import assert from "node:assert/strict";
import { OpenAIMock, textReply } from "../helpers/openai_mock.ts";
import { startTestServer } from "../helpers/test_server.ts";
import { TestClient } from "../helpers/ws_client.ts";

const PARAMS = {
  model: "another-model",
  temperature: 0.2,
  top_p: 0.8,
  max_tokens: 64,
  stop: ["END", "STOP"],
  seed: 7,
  response_format: { type: "json_object" },
};

Deno.test("text_message passes model, temperature, top_p, max_tokens, stop, seed and response_format", async (t) => {
  const mock = await OpenAIMock.start();
  const server = await startTestServer({
    OPENAI_BASE_URL: mock.baseUrl,
    OPENAI_API_KEY: "sk-test-provider",
    PROVIDER_MAX_RETRIES: "0",
  });
  const { client } = await TestClient.connect(server.ws);
  try {
    await t.step("streaming", async () => {
      mock.enqueue(textReply('{"a":1}'));
      client.send({ type: "text_message", content: "JSON please", ...PARAMS });
      const events = await client.until("stream_end");
      assert.equal(events.at(-1)!.full_content, '{"a":1}');
      const sent = mock.completionRequests.at(-1)!.body;
      for (const [key, value] of Object.entries(PARAMS)) {
        assert.deepEqual(sent[key], value, key);
      }
      assert.equal(sent.stream, true);
    });
    await t.step("without streaming: one upstream answer", async () => {
      mock.enqueue(textReply("plain"));
      client.send({ type: "text_message", content: "hi", stream: false, seed: 9 });
      const events = await client.until("text_response");
      assert.equal(events.at(-1)!.content, "plain");
      const sent = mock.completionRequests.at(-1)!.body;
      assert.equal(sent.seed, 9);
      assert.equal(sent.stream, false);
    });
    await t.step("invalid values are refused before the provider, as over REST", async () => {
      const before = mock.completionRequests.length;
      for (
        const bad of [
          { temperature: 3 },
          { top_p: -1 },
          { max_tokens: 0 },
          { seed: 1.5 },
          { stop: ["a", "b", "c", "d", "e"] },
          { response_format: { type: "json_schema" } },
        ]
      ) {
        client.send({ type: "text_message", content: "x", ...bad });
        const event = await client.next();
        assert.equal(event.type, "error", JSON.stringify(bad));
        assert.equal((event.error as { code: string }).code, "validation_error");
        const rest = await fetch(`${server.http}/v1/chat/completions`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ messages: [{ role: "user", content: "x" }], ...bad }),
        });
        assert.equal(rest.status, 400, `REST refuses ${JSON.stringify(bad)} too`);
        await rest.body?.cancel();
      }
      assert.equal(mock.completionRequests.length, before);
    });
  } finally {
    await client.close();
    await server.close();
    await mock.close();
  }
});
