/**
 * Provider faults through the real path (WebSocket and REST → engine →
 * `openai` client → HTTP mock): every fault ends the request with a stable
 * error code (WS) or the right HTTP status / final SSE error event (REST),
 * and memory holds no half-written turn.
 */
import assert from "node:assert/strict";
import { type MockResponse, OpenAIMock, textReply } from "../helpers/openai_mock.ts";
import { startTestServer, type TestServer } from "../helpers/test_server.ts";
import { TestClient } from "../helpers/ws_client.ts";
import { untilAny } from "./lib/traffic.ts";

interface FaultCase {
  name: string;
  response: () => MockResponse;
  /** WS `error.code`. */
  code: string;
  /** REST status when the fault comes before any output. */
  status: number;
  /** The fault happens after some text was streamed. */
  midStream: boolean;
}

const FAULTS: FaultCase[] = [
  {
    name: "HTTP 500",
    response: () => ({ kind: "error", status: 500, message: "upstream exploded" }),
    code: "upstream_error",
    status: 502,
    midStream: false,
  },
  {
    name: "HTTP 429",
    response: () => ({ kind: "error", status: 429, message: "slow down" }),
    code: "rate_limited",
    status: 429,
    midStream: false,
  },
  {
    name: "no response headers (hang)",
    response: () => ({ kind: "hang" }),
    code: "upstream_timeout",
    status: 504,
    midStream: false,
  },
  {
    name: "slow response headers",
    response: () => ({ ...textReply("too late"), headerDelayMs: 3000 }),
    code: "upstream_timeout",
    status: 504,
    midStream: false,
  },
  {
    name: "socket cut mid-stream",
    response: () => ({
      kind: "reply",
      // The pause lets the first delta reach the client before the cut.
      events: [{ type: "text", content: "half a " }, { type: "delay", ms: 100 }, { type: "cut" }],
    }),
    code: "upstream_error",
    status: 502,
    midStream: true,
  },
  {
    name: "malformed SSE mid-stream",
    response: () => ({
      kind: "reply",
      events: [
        { type: "text", content: "half a " },
        { type: "delay", ms: 100 },
        { type: "raw", data: "data: {not json\n\n" },
      ],
    }),
    code: "upstream_error",
    status: 502,
    midStream: true,
  },
  {
    name: "stream stalls mid-stream",
    response: () => ({
      kind: "reply",
      events: [{ type: "text", content: "half a " }, { type: "delay", ms: 3000 }, {
        type: "text",
        content: "turn",
      }],
    }),
    code: "upstream_timeout",
    status: 504,
    midStream: true,
  },
];

async function withServer(fn: (mock: OpenAIMock, server: TestServer) => Promise<void>) {
  const mock = await OpenAIMock.start();
  const server = await startTestServer({
    OPENAI_BASE_URL: mock.baseUrl,
    OPENAI_API_KEY: "sk-faults-provider",
    PROVIDER_MAX_RETRIES: "0",
    PROVIDER_TIMEOUT: "0.5",
    LOG_LEVEL: "warn",
  });
  try {
    await fn(mock, server);
  } finally {
    await server.close();
    await mock.close();
  }
}

const errorCode = (e: Record<string, unknown>) => (e.error as { code?: string } | undefined)?.code;

Deno.test("text_message ends every provider fault with an error code and stores no partial turn", async (t) => {
  await withServer(async (mock, server) => {
    const { client } = await TestClient.connect(server.ws);
    try {
      await t.step("a successful turn is stored (the check below can fail)", async () => {
        mock.enqueue(textReply("All good."));
        client.send({ type: "text_message", content: "hi", conversation_id: "ok-ws" });
        const end = (await untilAny(client, ["stream_end", "error"])).at(-1)!;
        assert.equal(end.type, "stream_end");
        assert.equal((await server.app.services.memory.list("", "ok-ws")).length, 2);
      });
      for (const fault of FAULTS) {
        for (const stream of [true, false]) {
          await t.step(`${fault.name}, stream ${stream}`, async () => {
            const conv = `ws-${fault.name}-${stream}`;
            mock.enqueue(fault.response());
            client.send({
              type: "text_message",
              content: "tell me",
              conversation_id: conv,
              stream,
              request_id: conv,
            });
            const events = await untilAny(client, ["stream_end", "text_response", "error"]);
            const end = events.at(-1)!;
            assert.equal(end.type, "error", `ended with ${end.type}`);
            assert.equal(errorCode(end), fault.code);
            assert.equal(end.request_id, conv);
            assert.deepEqual(await server.app.services.memory.list("", conv), []);
            assert.equal((await client.request({ type: "ping" })).type, "pong");
          });
        }
      }
    } finally {
      await client.close();
    }
  });
});

Deno.test("POST /v1/chat/completions maps every provider fault to an OpenAI error and stores no partial turn", async (t) => {
  await withServer(async (mock, server) => {
    const post = (body: Record<string, unknown>) =>
      fetch(`${server.http}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          model: "gpt-4o-mini",
          messages: [{ role: "user", content: "tell me" }],
          ...body,
        }),
      });
    for (const fault of FAULTS) {
      await t.step(`${fault.name}, JSON`, async () => {
        const conv = `rest-${fault.name}`;
        mock.enqueue(fault.response());
        const res = await post({ conversation_id: conv });
        const body = await res.json();
        assert.equal(res.status, fault.status);
        assert.equal(typeof body.error?.message, "string");
        assert.equal(body.error.code, fault.code);
        assert.deepEqual(await server.app.services.memory.list("", conv), []);
      });
      await t.step(`${fault.name}, SSE`, async () => {
        const conv = `rest-sse-${fault.name}`;
        mock.enqueue(fault.response());
        const res = await post({ conversation_id: conv, stream: true });
        const text = await res.text();
        if (fault.midStream) {
          // Headers were already sent: the failure is the final SSE event.
          assert.equal(res.status, 200);
          const last = text.trim().split("\n\n").at(-1)!;
          const data = /^id: \d+\ndata: (\{"error":.*)$/.exec(last);
          assert.ok(data, last);
          assert.equal(JSON.parse(data[1]!).error.code, fault.code);
        } else {
          assert.equal(res.status, fault.status);
          assert.equal(JSON.parse(text).error.code, fault.code);
        }
        assert.deepEqual(await server.app.services.memory.list("", conv), []);
      });
    }
  });
});
