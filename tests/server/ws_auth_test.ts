import assert from "node:assert/strict";
import { rawUpgrade } from "../helpers/raw_http.ts";
import { startTestServer } from "../helpers/test_server.ts";
import { TestClient } from "../helpers/ws_client.ts";

const KEYS = "sk-yy-first,sk-yy-second";

Deno.test("/ws/chat with a key configured accepts it three ways", async (t) => {
  const server = await startTestServer({ YYCHAT_API_KEY: KEYS });
  const port = Number(new URL(server.http).port);
  try {
    await t.step("Authorization: Bearer header (server clients)", async () => {
      const raw = await rawUpgrade(port, { Authorization: "Bearer sk-yy-second" });
      raw.conn.close();
      assert.equal(raw.status, 101);
    });
    await t.step(
      "Sec-WebSocket-Protocol: yychat, bearer.<key> (browsers); the server selects yychat",
      async () => {
        const { client, hello } = await TestClient.connect(server.ws, [
          "yychat",
          "bearer.sk-yy-first",
        ]);
        assert.equal(client.socket.protocol, "yychat");
        assert.equal(hello.auth_required, undefined);
        assert.equal((await client.request({ type: "ping" })).type, "pong");
        await client.close();
      },
    );
    await t.step("a first {type:auth} frame; nothing else is served before it", async () => {
      const { client, hello } = await TestClient.connect(server.ws);
      assert.equal(hello.auth_required, true);
      const refused = await client.request({ type: "get_status", request_id: "early" });
      assert.equal((refused.error as { code: string }).code, "auth_required");
      assert.equal(refused.request_id, "early");
      assert.equal((await client.request({ type: "auth", token: "sk-yy-first" })).type, "auth_ok");
      assert.equal((await client.request({ type: "get_status" })).type, "status_response");
      await client.close();
    });
  } finally {
    await server.close();
  }
});

Deno.test("/ws/chat refuses wrong credentials clearly", async (t) => {
  const server = await startTestServer({ YYCHAT_API_KEY: KEYS, WS_AUTH_TIMEOUT: "0.2" });
  const port = Number(new URL(server.http).port);
  try {
    await t.step("wrong Bearer header → 401 before the upgrade", async () => {
      const raw = await rawUpgrade(port, { Authorization: "Bearer sk-yy-wrong" });
      raw.conn.close();
      assert.equal(raw.status, 401);
      assert.equal(JSON.parse(raw.body).error.code, "invalid_api_key");
    });
    await t.step("wrong subprotocol key → 401 before the upgrade", async () => {
      const raw = await rawUpgrade(port, { "Sec-WebSocket-Protocol": "yychat, bearer.nope" });
      raw.conn.close();
      assert.equal(raw.status, 401);
    });
    await t.step("wrong auth frame → auth_failed, then close 4500", async () => {
      const { client } = await TestClient.connect(server.ws);
      assert.equal(
        ((await client.request({ type: "auth", token: "nope" })).error as { code: string }).code,
        "auth_failed",
      );
      assert.equal((await client.closed).code, 4500);
    });
    await t.step("no auth frame in time → close 4002 (reconnect range)", async () => {
      const { client } = await TestClient.connect(server.ws);
      assert.deepEqual(await client.closed, { code: 4002, reason: "authentication timeout" });
    });
    await t.step("the keys never reach the logs", () => {
      const logs = server.logs.join("\n");
      for (const secret of ["sk-yy-first", "sk-yy-second", "sk-yy-wrong"]) {
        assert.equal(logs.includes(secret), false);
      }
    });
  } finally {
    await server.close();
  }
});

Deno.test("/ws/chat enforces the allowed-origins list for browser upgrades", async () => {
  const server = await startTestServer({ YYCHAT_ALLOWED_ORIGINS: "https://chat.example" });
  const port = Number(new URL(server.http).port);
  try {
    const bad = await rawUpgrade(port, { Origin: "https://evil.example" });
    bad.conn.close();
    assert.equal(bad.status, 403);
    assert.equal(JSON.parse(bad.body).error.code, "origin_not_allowed");
    const good = await rawUpgrade(port, { Origin: "https://chat.example" });
    good.conn.close();
    assert.equal(good.status, 101);
    const noOrigin = await rawUpgrade(port);
    noOrigin.conn.close();
    assert.equal(noOrigin.status, 101, "non-browser clients send no Origin");
  } finally {
    await server.close();
  }
});
