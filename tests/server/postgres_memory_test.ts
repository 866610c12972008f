/**
 * Cluster-mode memory through the real server (SPEC §10): with
 * `YYCHAT_DATABASE_URL` pointing at a private PostgreSQL started by the test,
 * turns are stored there; when PostgreSQL stops, requests with a
 * `conversation_id` get `memory_unavailable` (WebSocket `error` event, REST
 * 503) while requests without one keep working; when it starts again memory
 * works without restarting yychat. Uses the offline provider.
 */
import assert from "node:assert/strict";
import { postgresMissing, type PostgresServer, startPostgres } from "../helpers/postgres_server.ts";
import { startTestServer, type TestServer } from "../helpers/test_server.ts";
import { type Event, TestClient } from "../helpers/ws_client.ts";

const missing = postgresMissing();
if (missing) console.warn(`PostgreSQL server tests ignored: ${missing}`);

async function ask(client: TestClient, content: string, conversationId?: string): Promise<Event> {
  client.send({
    type: "text_message",
    content,
    stream: false,
    ...(conversationId ? { conversation_id: conversationId } : {}),
  });
  for (;;) {
    const e = await client.next(10_000);
    if (e.type === "text_response" || e.type === "error") return e;
  }
}

async function rest(
  server: TestServer,
  method: string,
  path: string,
  body?: unknown,
): Promise<[number, Record<string, unknown>]> {
  const res = await fetch(server.http + path, {
    method,
    ...(body === undefined
      ? {}
      : { headers: { "content-type": "application/json" }, body: JSON.stringify(body) }),
  });
  return [res.status, await res.json()];
}

const chat = (content: string, conversationId?: string) => ({
  messages: [{ role: "user", content }],
  ...(conversationId ? { conversation_id: conversationId } : {}),
});

async function withPostgresServer(
  fn: (pg: PostgresServer, url: string) => Promise<void>,
): Promise<void> {
  const pg = await startPostgres();
  try {
    await fn(pg, await pg.createDatabase("yychat"));
  } finally {
    await pg.close();
  }
}

Deno.test({
  name:
    "PostgreSQL stopped: conversation requests get memory_unavailable, others work; back: memory works",
  ignore: missing !== undefined,
  async fn() {
    await withPostgresServer(async (pg, url) => {
      const server = await startTestServer({
        YYCHAT_DATABASE_URL: url,
        YYCHAT_DATABASE_CONNECT_TIMEOUT: "2",
      });
      const { client } = await TestClient.connect(server.ws);
      try {
        assert.ok(server.logs.some((l) => l.includes("memory_store") && l.includes("postgres")));
        assert.equal((await ask(client, "My name is Ada", "pg-conv")).type, "text_response");
        const [okStatus, okBody] = await rest(server, "GET", "/v1/conversations/pg-conv/memory");
        assert.equal(okStatus, 200);
        assert.deepEqual((okBody.data as { role: string }[]).map((m) => m.role), [
          "user",
          "assistant",
        ]);
        const files = [...Deno.readDirSync(server.settings.dataDir)].map((e) => e.name);
        assert.ok(!files.includes("yychat.db"), "no SQLite file in cluster mode");

        await pg.stop();

        const failed = await ask(client, "Do you remember me?", "pg-conv");
        assert.equal(failed.type, "error");
        assert.deepEqual(failed.error, {
          message: "Conversation memory is unavailable",
          type: "server_error",
          code: "memory_unavailable",
        });
        assert.ok(failed.request_id, "the error answers the request");
        assert.equal((await ask(client, "Hello without memory")).type, "text_response");

        const [status, body] = await rest(server, "POST", "/v1/chat/completions", chat("hi", "c2"));
        assert.equal(status, 503);
        assert.equal((body.error as { code: string }).code, "memory_unavailable");
        const [plain] = await rest(server, "POST", "/v1/chat/completions", chat("hi"));
        assert.equal(plain, 200);
        for (const method of ["GET", "DELETE"]) {
          const [s, b] = await rest(server, method, "/v1/conversations/pg-conv/memory");
          assert.equal(s, 503, method);
          assert.equal((b.error as { code: string }).code, "memory_unavailable");
        }
        assert.ok(server.logs.some((l) => l.includes("memory_failed")));

        await pg.start();

        const back = await ask(client, "Do you remember me now?", "pg-conv");
        assert.equal(back.type, "text_response");
        const [, after] = await rest(server, "GET", "/v1/conversations/pg-conv/memory");
        assert.deepEqual(
          (after.data as { role: string; content: string }[]).filter((m) => m.role === "user")
            .map((m) => m.content),
          ["My name is Ada", "Do you remember me now?"],
          "the failed turn left nothing behind",
        );
      } finally {
        await client.close();
        await server.close();
      }
    });
  },
});

Deno.test({
  name: "yychat starts while PostgreSQL is down and uses memory once it is up",
  ignore: missing !== undefined,
  async fn() {
    await withPostgresServer(async (pg, url) => {
      await pg.stop();
      const server = await startTestServer({
        YYCHAT_DATABASE_URL: url,
        YYCHAT_DATABASE_CONNECT_TIMEOUT: "2",
      });
      const { client } = await TestClient.connect(server.ws);
      try {
        assert.ok(server.logs.some((l) => l.includes("memory_unavailable")));
        assert.equal((await ask(client, "hello", "late")).type, "error");
        assert.equal((await ask(client, "hello")).type, "text_response");
        await pg.start();
        assert.equal((await ask(client, "hello", "late")).type, "text_response");
        const [status, body] = await rest(server, "GET", "/v1/conversations/late/memory");
        assert.equal(status, 200);
        assert.equal((body.data as unknown[]).length, 2);
      } finally {
        await client.close();
        await server.close();
      }
    });
  },
});
