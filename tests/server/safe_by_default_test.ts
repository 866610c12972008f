/**
 * SPEC §8 through the real server: Host allowlist, Origin policy and CORS on
 * every route, JSON-only bodies, pending-auth sockets outside the connection
 * limit, per-address caps behind trusted proxies, every frame rate-limited,
 * request ids, SSE keep-alive comments.
 */
import assert from "node:assert/strict";
import { OpenAIMock } from "../helpers/openai_mock.ts";
import { rawRequest, rawUpgrade } from "../helpers/raw_http.ts";
import { startTestServer, type TestServer } from "../helpers/test_server.ts";
import { waitFor } from "../helpers/wait.ts";
import { TestClient } from "../helpers/ws_client.ts";

const portOf = (server: TestServer) => Number(new URL(server.http).port);

Deno.test("without a key only loopback Host names pass, on every route", async (t) => {
  const server = await startTestServer({ YYCHAT_ALLOWED_HOSTS: "chat.internal" });
  const port = portOf(server);
  try {
    for (const path of ["/health", "/ws/status", "/v1/models", "/nowhere"]) {
      await t.step(`${path}: a foreign Host is refused with 403 host_not_allowed`, async () => {
        const res = await rawRequest(port, { path, headers: { host: "attacker.example" } });
        assert.equal(res.status, 403);
        assert.equal(JSON.parse(res.body).error.code, "host_not_allowed");
      });
    }
    await t.step("the WebSocket upgrade too (DNS rebinding)", async () => {
      const res = await rawUpgrade(port, { Host: `attacker.example:${port}` });
      res.conn.close();
      assert.equal(res.status, 403);
      assert.equal(JSON.parse(res.body).error.code, "host_not_allowed");
    });
    for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`, "localhost"]) {
      await t.step(`Host ${host} is served`, async () => {
        assert.equal((await rawRequest(port, { path: "/health", headers: { host } })).status, 200);
      });
    }
    await t.step("YYCHAT_ALLOWED_HOSTS adds names (any port)", async () => {
      const res = await rawRequest(port, {
        path: "/health",
        headers: { host: "chat.internal:8080" },
      });
      assert.equal(res.status, 200);
    });
  } finally {
    await server.close();
  }
});

Deno.test("with a key any Host passes unless YYCHAT_ALLOWED_HOSTS is set", async () => {
  const open = await startTestServer({ YYCHAT_API_KEY: "sk-host-test" });
  const listed = await startTestServer({
    YYCHAT_API_KEY: "sk-host-test",
    YYCHAT_ALLOWED_HOSTS: "chat.example.com",
  });
  try {
    const host = { host: "chat.example.com" };
    const other = { host: "other.example.com" };
    assert.equal((await rawRequest(portOf(open), { path: "/health", headers: other })).status, 200);
    assert.equal(
      (await rawRequest(portOf(listed), { path: "/health", headers: host })).status,
      200,
    );
    const refused = await rawRequest(portOf(listed), { path: "/health", headers: other });
    assert.equal(refused.status, 403);
  } finally {
    await open.close();
    await listed.close();
  }
});

Deno.test("a request with a foreign Origin is refused on every route; the own origin passes", async (t) => {
  const server = await startTestServer({ YYCHAT_ALLOWED_ORIGINS: "https://app.example" });
  const port = portOf(server);
  try {
    await t.step("WebSocket upgrade from a foreign page → 403", async () => {
      const res = await rawUpgrade(port, { Origin: "https://evil.example" });
      res.conn.close();
      assert.equal(res.status, 403);
      assert.equal(JSON.parse(res.body).error.code, "origin_not_allowed");
    });
    await t.step("REST from a foreign page → 403, nothing stored", async () => {
      const res = await fetch(`${server.http}/v1/chat/completions`, {
        method: "POST",
        headers: { origin: "https://evil.example", "content-type": "application/json" },
        body: JSON.stringify({
          conversation_id: "evil",
          messages: [{ role: "user", content: "hi" }],
        }),
      });
      assert.equal(res.status, 403);
      assert.equal((await res.json()).error.code, "origin_not_allowed");
      assert.deepEqual(await server.app.services.memory.list("", "evil"), []);
    });
    await t.step('"null" origins (sandboxed frames, files) are foreign', async () => {
      const res = await fetch(`${server.http}/health`, { headers: { origin: "null" } });
      assert.equal(res.status, 403);
      await res.body?.cancel();
    });
    await t.step("the server's own origin passes, with CORS headers", async () => {
      const res = await fetch(`${server.http}/v1/models`, { headers: { origin: server.http } });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("access-control-allow-origin"), server.http);
      await res.body?.cancel();
      const { client } = await TestClient.connect(server.ws); // Deno's client sends no Origin
      await client.close();
      const ws = new WebSocket(server.ws, { headers: { origin: server.http } });
      await new Promise((resolve, reject) => {
        ws.onopen = resolve;
        ws.onerror = reject;
      });
      ws.close();
      await new Promise((resolve) => ws.onclose = resolve);
    });
    await t.step("a listed origin passes, and its preflight gets 204", async () => {
      const pre = await fetch(`${server.http}/v1/chat/completions`, {
        method: "OPTIONS",
        headers: {
          origin: "https://app.example",
          "access-control-request-method": "POST",
          "access-control-request-headers": "authorization, content-type",
        },
      });
      assert.equal(pre.status, 204);
      assert.equal(pre.headers.get("access-control-allow-origin"), "https://app.example");
      assert.match(pre.headers.get("access-control-allow-methods")!, /POST/);
      assert.match(pre.headers.get("access-control-allow-headers")!, /authorization/);
      assert.match(pre.headers.get("access-control-allow-headers")!, /content-type/);
      const res = await fetch(`${server.http}/v1/models`, {
        headers: { origin: "https://app.example" },
      });
      assert.equal(res.headers.get("access-control-allow-origin"), "https://app.example");
      assert.match(res.headers.get("access-control-expose-headers")!, /x-request-id/);
      await res.body?.cancel();
    });
    await t.step("a preflight from a foreign origin gets 403", async () => {
      const res = await fetch(`${server.http}/v1/chat/completions`, {
        method: "OPTIONS",
        headers: { origin: "https://evil.example", "access-control-request-method": "POST" },
      });
      assert.equal(res.status, 403);
      await res.body?.cancel();
    });
  } finally {
    await server.close();
  }
});

Deno.test("POST bodies must be JSON: 415 otherwise, so a simple cross-site post cannot write", async (t) => {
  const server = await startTestServer();
  try {
    const body = JSON.stringify({
      conversation_id: "form",
      messages: [{ role: "user", content: "hi" }],
    });
    for (const type of [undefined, "text/plain", "application/x-www-form-urlencoded"]) {
      await t.step(`content-type ${type ?? "(none)"} → 415`, async () => {
        const res = await rawRequest(portOf(server), {
          method: "POST",
          path: "/v1/chat/completions",
          headers: type === undefined ? {} : { "content-type": type },
          body,
        });
        assert.equal(res.status, 415);
        assert.equal(JSON.parse(res.body).error.code, "unsupported_media_type");
      });
    }
    assert.deepEqual(await server.app.services.memory.list("", "form"), []);
  } finally {
    await server.close();
  }
});

Deno.test("sockets that never authenticate cannot crowd out a client with a valid key", async () => {
  const key = "sk-pending-test";
  const server = await startTestServer({
    YYCHAT_API_KEY: key,
    WS_MAX_CONNECTIONS: "3",
    WS_MAX_PENDING_AUTH: "3",
  });
  const idle: TestClient[] = [];
  try {
    for (let i = 0; i < 3; i++) idle.push((await TestClient.connect(server.ws)).client);
    const keyed = new WebSocket(server.ws, { headers: { authorization: `Bearer ${key}` } });
    await new Promise((resolve, reject) => {
      keyed.onopen = resolve;
      keyed.onerror = () => reject(new Error("a client with a valid key was refused"));
    });
    keyed.close();
    await new Promise((resolve) => keyed.onclose = resolve);
    // A fourth socket without credentials is over WS_MAX_PENDING_AUTH.
    const res = await rawUpgrade(portOf(server));
    res.conn.close();
    assert.equal(res.status, 503);
    assert.equal(JSON.parse(res.body).error.code, "too_many_pending_auth");
    const status = await (await fetch(`${server.http}/ws/status`)).json();
    assert.equal(status.data.total_connections, 3);
    assert.equal(status.data.active_connections, 0);
  } finally {
    for (const c of idle) await c.close();
    await server.close();
  }
});

Deno.test("connections per address are capped, by the forwarded address behind a trusted proxy", async (t) => {
  const server = await startTestServer({
    WS_MAX_CONNECTIONS_PER_IP: "2",
    YYCHAT_TRUSTED_PROXIES: "127.0.0.0/8",
  });
  const open: WebSocket[] = [];
  const connect = async (forwardedFor: string) => {
    const ws = new WebSocket(server.ws, { headers: { "x-forwarded-for": forwardedFor } });
    const ok = await new Promise<boolean>((resolve) => {
      ws.onopen = () => resolve(true);
      ws.onerror = () => resolve(false);
    });
    if (ok) open.push(ws);
    return ok;
  };
  try {
    await t.step("two from one client, the third refused", async () => {
      assert.equal(await connect("203.0.113.5"), true);
      assert.equal(await connect("198.51.100.1, 203.0.113.5"), true);
      assert.equal(await connect("203.0.113.5"), false);
      const res = await rawUpgrade(portOf(server), { "X-Forwarded-For": "203.0.113.5" });
      res.conn.close();
      assert.equal(res.status, 429);
      assert.equal(JSON.parse(res.body).error.code, "too_many_connections_per_ip");
    });
    await t.step("another client behind the same proxy is served", async () => {
      assert.equal(await connect("203.0.113.6"), true);
    });
    await t.step("the client address is logged", () => {
      assert.ok(server.logs.some((l) => l.includes('"client":"203.0.113.6"')));
    });
  } finally {
    for (const ws of open) {
      ws.close();
      await new Promise((resolve) => ws.onclose = resolve);
    }
    await server.close();
  }
});

Deno.test("forwarding headers from an untrusted peer are ignored", async () => {
  const server = await startTestServer({ WS_MAX_CONNECTIONS_PER_IP: "1" });
  const first = new WebSocket(server.ws, { headers: { "x-forwarded-for": "203.0.113.1" } });
  try {
    await new Promise((resolve) => first.onopen = resolve);
    const res = await rawUpgrade(portOf(server), { "X-Forwarded-For": "203.0.113.2" });
    res.conn.close();
    assert.equal(res.status, 429, "both count as 127.0.0.1");
  } finally {
    first.close();
    await new Promise((resolve) => first.onclose = resolve);
    await server.close();
  }
});

Deno.test("every frame counts against WS_MESSAGES_PER_SECOND, and a client that keeps on is closed", async () => {
  const server = await startTestServer({ WS_MESSAGES_PER_SECOND: "5" });
  const { client } = await TestClient.connect(server.ws);
  try {
    // One frame at a time (each answered before the next), so no frame is in
    // flight when the server closes and the close frame arrives intact.
    const codes: string[] = [];
    for (let i = 0; i < 40; i++) {
      client.send("not json at all");
      const e = await client.next().catch(() => undefined);
      if (e === undefined) break;
      codes.push((e.error as { code: string }).code);
    }
    assert.equal(codes.filter((c) => c === "invalid_json").length, 10, "the burst is served");
    assert.equal(codes.filter((c) => c === "too_many_messages").length, 10);
    assert.deepEqual(await client.closed, { code: 4003, reason: "too many messages" });
    await waitFor(
      () => server.logs.some((l) => l.includes('"reason":"too many messages"')),
      5000,
      "the close to be logged with its reason",
    );
  } finally {
    await client.close();
    await server.close();
  }
});

Deno.test("X-Request-Id is kept when valid and echoed, replaced when not", async () => {
  const server = await startTestServer();
  try {
    const kept = await fetch(`${server.http}/v1/models`, {
      headers: { "x-request-id": "trace-42" },
    });
    assert.equal(kept.headers.get("x-request-id"), "trace-42");
    await kept.body?.cancel();
    assert.ok(server.logs.some((l) => l.includes('"request_id":"trace-42"')));
    const bad = await fetch(`${server.http}/health`, {
      headers: { "x-request-id": "x".repeat(500) },
    });
    assert.match(bad.headers.get("x-request-id")!, /^req_[0-9a-f]{32}$/);
    await bad.body?.cancel();
  } finally {
    await server.close();
  }
});

Deno.test("a silent SSE response sends keep-alive comments", async () => {
  const mock = await OpenAIMock.start();
  const server = await startTestServer({
    OPENAI_BASE_URL: mock.baseUrl,
    OPENAI_API_KEY: "sk-test",
    SSE_KEEPALIVE_INTERVAL: "0.05",
  });
  try {
    mock.enqueue({
      kind: "reply",
      events: [
        { type: "text", content: "Hello" },
        { type: "delay", ms: 400 },
        { type: "text", content: " world" },
        { type: "finish", reason: "stop" },
      ],
    });
    const res = await fetch(`${server.http}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ stream: true, messages: [{ role: "user", content: "hi" }] }),
    });
    const text = await res.text();
    assert.ok(text.includes(": keep-alive\n\n"), text);
    assert.ok(text.trimEnd().endsWith("data: [DONE]"));
  } finally {
    await server.close();
    await mock.close();
  }
});
