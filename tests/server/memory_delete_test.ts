/**
 * SPEC §8: a `DELETE /v1/conversations/{id}/memory` while a reply of that
 * conversation is running is not undone when the reply completes. Through
 * the real server: WebSocket `text_message` → engine → `openai` client →
 * a slow HTTP mock of the OpenAI API, and the REST memory routes.
 */
import assert from "node:assert/strict";
import { OpenAIMock, textReply } from "../helpers/openai_mock.ts";
import { startTestServer } from "../helpers/test_server.ts";
import { TestClient } from "../helpers/ws_client.ts";

Deno.test("DELETE …/memory during a running reply is not undone when the reply completes", async () => {
  const mock = await OpenAIMock.start();
  const server = await startTestServer({
    OPENAI_BASE_URL: mock.baseUrl,
    OPENAI_API_KEY: "sk-test-provider",
    PROVIDER_MAX_RETRIES: "0",
  });
  const { client } = await TestClient.connect(server.ws);
  const memoryUrl = `${server.http}/v1/conversations/conv-del/memory`;
  const stored = async () => {
    const res = await fetch(memoryUrl);
    assert.equal(res.status, 200);
    return (await res.json()).data.map((m: { content: string }) => m.content);
  };
  try {
    mock.enqueue(
      textReply("First answer."),
      textReply("a slow answer that is still streaming when the memory is deleted", {
        chunkDelayMs: 40,
      }),
      textReply("Fresh start."),
    );
    client.send({ type: "text_message", content: "Remember: blue", conversation_id: "conv-del" });
    await client.until("stream_end");
    assert.deepEqual(await stored(), ["Remember: blue", "First answer."]);

    client.send({ type: "text_message", content: "Tell me slowly", conversation_id: "conv-del" });
    await client.until("stream_chunk");
    const del = await fetch(memoryUrl, { method: "DELETE" });
    assert.deepEqual(await del.json(), {
      conversation_id: "conv-del",
      deleted: true,
      deleted_messages: 2,
    });
    const end = (await client.until("stream_end")).at(-1)!;
    assert.equal(end.finish_reason, "stop", "the reply itself is delivered in full");
    assert.equal(
      end.full_content,
      "a slow answer that is still streaming when the memory is deleted",
    );
    assert.deepEqual(await stored(), [], "the running turn was not stored after the delete");
    assert.ok(server.logs.some((l) => l.includes("memory_turn_dropped")));

    // The conversation goes on from empty: the next turn is stored, with no old history.
    client.send({ type: "text_message", content: "Hello again", conversation_id: "conv-del" });
    await client.until("stream_end");
    assert.deepEqual(await stored(), ["Hello again", "Fresh start."]);
    const prompt = mock.completionRequests[2]!.body.messages.map((m: { content: string }) =>
      m.content
    );
    assert.ok(!prompt.includes("Remember: blue") && !prompt.includes("Tell me slowly"), prompt);
  } finally {
    await client.close();
    await server.close();
    await mock.close();
  }
});
