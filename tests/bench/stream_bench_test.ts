/**
 * Correctness of the streaming benchmark's building blocks (no timed
 * assertion): against an in-process yychat reading `bench/stream_mock.ts`,
 * every chunk of a long reply arrives both ways, a first chunk is seen with
 * and without memory, REST answers, and a cancel reaches the mock.
 */
import assert from "node:assert/strict";
import {
  cancelOnce,
  completeOnce,
  directStream,
  openaiClient,
  WsChat,
  yychatEnv,
} from "../../bench/stream_bench.ts";
import { LONG_CHUNKS, StreamMock, WORD } from "../../bench/stream_mock.ts";
import { startTestServer } from "../helpers/test_server.ts";

Deno.test("stream_bench building blocks: all chunks both ways, first chunk, REST, cancel seen upstream", async (t) => {
  const mock = new StreamMock();
  const env = yychatEnv(mock, "");
  delete env.YYCHAT_DATA_DIR; // startTestServer makes its own
  const server = await startTestServer({ ...env, LOG_LEVEL: "warn" });
  const ws = await WsChat.open(server.ws);
  try {
    await t.step("a 2,000-chunk reply arrives whole through /ws/chat and directly", async () => {
      const viaWs = await ws.run({ content: "long" });
      assert.equal(viaWs.finishReason, "stop");
      assert.equal(viaWs.chars, LONG_CHUNKS * WORD.length);
      const direct = await directStream(openaiClient(mock.baseUrl), "long");
      assert.equal(direct.finishReason, "stop");
      assert.equal(direct.chunks, LONG_CHUNKS);
      assert.equal(direct.chars, LONG_CHUNKS * WORD.length);
    });

    await t.step("the first chunk is timed without and with a conversation_id", async () => {
      for (const fields of [{ content: "hi" }, { content: "hi", conversation_id: "bench" }]) {
        const r = await ws.run(fields);
        assert.equal(r.finishReason, "stop");
        assert.ok(r.firstChunkMs >= r.sentMs && r.endMs >= r.firstChunkMs);
      }
    });

    await t.step("REST non-stream completes through yychat and directly", async () => {
      assert.ok(await completeOnce(openaiClient(`${server.http}/v1`), "hi") > 0);
      assert.ok(await completeOnce(openaiClient(mock.baseUrl), "hi") > 0);
    });

    await t.step("cancel ends the stream as cancelled and the mock sees the abort", async () => {
      const before = mock.slowStreams.length;
      const c = await cancelOnce(ws, mock, { requestId: "cancel-test", timeoutMs: 5000 });
      assert.equal(mock.slowStreams.length, before + 1);
      assert.ok(mock.slowStreams[before]!.abortedMs !== undefined);
      assert.ok(Number.isFinite(c.toUpstreamAbortMs) && Number.isFinite(c.toStreamEndMs));
      // The connection is still usable afterwards.
      assert.equal((await ws.run({ content: "hi" })).finishReason, "stop");
    });
  } finally {
    await ws.close();
    await server.close();
    await mock.close();
  }
});
