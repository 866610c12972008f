import assert from "node:assert/strict";
import { startTestServer } from "../helpers/test_server.ts";
import { rawUpgrade } from "../helpers/raw_http.ts";
import { waitFor } from "../helpers/wait.ts";
import { type Event, TestClient } from "../helpers/ws_client.ts";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function assertEnvelope(e: Event, type: string, clientId: string): void {
  assert.equal(e.type, type);
  assert.equal(e.client_id, clientId);
  assert.equal(typeof e.timestamp, "number");
  assert.ok(
    Math.abs((e.timestamp as number) - Date.now() / 1000) < 60,
    "timestamp is epoch seconds",
  );
}

function errorCode(e: Event): string {
  assert.equal(e.type, "error");
  const error = e.error as { message: string; type: string; code: string };
  assert.equal(typeof error.message, "string");
  assert.equal(typeof error.type, "string");
  return error.code;
}

Deno.test("/ws/chat answers every stage-1 message type", async (t) => {
  const server = await startTestServer();
  const { client, hello } = await TestClient.connect(server.ws);
  const clientId = String(hello.client_id);
  try {
    await t.step("connection_established carries client_id, timestamp and message", () => {
      assert.match(clientId, UUID);
      assertEnvelope(hello, "connection_established", clientId);
      assert.equal(typeof hello.message, "string");
    });
    await t.step("heartbeat → heartbeat_response", async () => {
      const e = await client.request({ type: "heartbeat", timestamp: 1234567890.123 });
      assertEnvelope(e, "heartbeat_response", clientId);
      assert.equal("request_id" in e, false, "nothing extra for a stage-1 client");
    });
    await t.step("ping → pong", async () => {
      assertEnvelope(await client.request({ type: "ping" }), "pong", clientId);
    });
    await t.step("request_id is echoed", async () => {
      assert.equal(
        (await client.request({ type: "ping", request_id: "abc-1" })).request_id,
        "abc-1",
      );
    });
    await t.step("get_status → status_response with the live statistics", async () => {
      const other = await TestClient.connect(server.ws);
      const e = await client.request({ type: "get_status" });
      assertEnvelope(e, "status_response", clientId);
      const data = e.data as Record<string, number>;
      assert.deepEqual(Object.keys(data).sort(), [
        "accepted_connections",
        "active_connections",
        "max_connections",
        "total_connections",
        "total_messages",
        "uptime",
      ]);
      // As in the original service: connections registered now, not since start.
      assert.equal(data.active_connections, 2);
      assert.equal(data.total_connections, 2);
      assert.ok(data.accepted_connections! >= 2);
      assert.equal(data.max_connections, 100);
      assert.equal(data.total_messages, 4);
      assert.ok(data.uptime! > 0 && data.uptime! < 60);
      await other.client.close();
    });
    await t.step("each connection gets its own client_id", async () => {
      const other = await TestClient.connect(server.ws);
      assert.notEqual(other.hello.client_id, clientId);
      await other.client.close();
    });
  } finally {
    await client.close();
    await server.close();
  }
});

Deno.test("/ws/chat answers bad input with an error event and keeps the socket open", async (t) => {
  const server = await startTestServer();
  const { client } = await TestClient.connect(server.ws);
  const cases: [string, string | ArrayBuffer, string][] = [
    ["invalid JSON", "{not json", "invalid_json"],
    ["a JSON array", "[1,2,3]", "invalid_message"],
    ["a JSON string", '"ping"', "invalid_message"],
    ["a JSON number", "3.14", "invalid_message"],
    ["missing type", '{"content":"hi"}', "missing_type"],
    ["empty type", '{"type":""}', "missing_type"],
    ["non-string type", '{"type":["ping"]}', "missing_type"],
    ["unknown type", '{"type":"teleport"}', "unknown_message_type"],
    ["wrong field type", '{"type":"ping","request_id":42}', "validation_error"],
    ["a binary frame", new Uint8Array([1, 2, 3]).buffer, "binary_not_supported"],
  ];
  try {
    for (const [name, frame, code] of cases) {
      await t.step(name, async () => {
        client.send(frame);
        const e = await client.next();
        assert.equal(errorCode(e), code);
        assert.equal((await client.request({ type: "ping" })).type, "pong", "socket still serves");
      });
    }
    await t.step("unknown type uses the stage-1 wording", async () => {
      const e = await client.request({ type: "teleport" });
      assert.equal((e.error as { message: string }).message, "Unknown message type: teleport");
    });
  } finally {
    await client.close();
    await server.close();
  }
});

Deno.test("/ws/chat closes with 1009 after an oversized frame, accepts one at the limit", async (t) => {
  const server = await startTestServer({ WS_MESSAGE_SIZE_LIMIT: "1024" });
  try {
    await t.step("exactly at the limit is served", async () => {
      const { client } = await TestClient.connect(server.ws);
      const frame = '{"type":"ping"}';
      client.send(frame + " ".repeat(1024 - frame.length));
      assert.equal((await client.next()).type, "pong");
      await client.close();
    });
    for (
      const [name, frame] of [["text", "x".repeat(1025)], [
        "binary",
        new Uint8Array(2000).buffer,
      ]] as const
    ) {
      await t.step(`one byte over (${name}) → error, then close 1009`, async () => {
        const { client } = await TestClient.connect(server.ws);
        client.send(frame);
        assert.equal(errorCode(await client.next()), "message_too_large");
        assert.equal((await client.closed).code, 1009);
      });
    }
    await t.step("multi-byte characters count as bytes", async () => {
      const { client } = await TestClient.connect(server.ws);
      client.send(JSON.stringify({ type: "ping", pad: "你".repeat(400) })); // 1,200+ bytes, 420 chars
      assert.equal(errorCode(await client.next()), "message_too_large");
      assert.equal((await client.closed).code, 1009);
    });
    await waitFor(() => server.app.supervisor.size === 0, 3000, "every connection released");
  } finally {
    await server.close();
  }
});

Deno.test("/ws/chat refuses a connection over the limit with 503 and leaves others alone", async () => {
  const server = await startTestServer({ WS_MAX_CONNECTIONS: "2" });
  const port = Number(new URL(server.http).port);
  const a = await TestClient.connect(server.ws);
  const b = await TestClient.connect(server.ws);
  try {
    const refused = await rawUpgrade(port);
    refused.conn.close();
    assert.equal(refused.status, 503);
    assert.match(refused.head, /retry-after: 5/i);
    const body = JSON.parse(refused.body);
    assert.equal(body.error.code, "too_many_connections");
    assert.match(body.error.message, /connection limit/);
    assert.equal((await a.client.request({ type: "ping" })).type, "pong");
    assert.equal((await b.client.request({ type: "ping" })).type, "pong");
    await a.client.close();
    const c = await TestClient.connect(server.ws);
    assert.equal(c.hello.type, "connection_established", "a freed slot is reusable");
    await c.client.close();
  } finally {
    await b.client.close();
    await server.close();
  }
});

Deno.test("/ws/chat closes a silent connection with 4000; an active one stays", async () => {
  const server = await startTestServer({
    WS_HEARTBEAT_INTERVAL: "0.05",
    WS_CONNECTION_TIMEOUT: "0.3",
  });
  const silent = await TestClient.connect(server.ws);
  const active = await TestClient.connect(server.ws);
  try {
    const deadline = Date.now() + 700;
    while (Date.now() < deadline) {
      assert.equal((await active.client.request({ type: "heartbeat" })).type, "heartbeat_response");
      await new Promise((r) => setTimeout(r, 50));
    }
    const closed = await silent.client.closed;
    assert.deepEqual(closed, { code: 4000, reason: "connection timeout" });
    assert.equal(active.client.socket.readyState, WebSocket.OPEN);
    assert.equal(server.app.supervisor.size, 1);
  } finally {
    await active.client.close();
    await server.close();
  }
});

Deno.test("/ws/chat frees a client that vanishes without a close frame", async () => {
  const server = await startTestServer({ WS_HEARTBEAT_INTERVAL: "0.05" });
  const port = Number(new URL(server.http).port);
  try {
    const raw = await rawUpgrade(port);
    assert.equal(raw.status, 101);
    await waitFor(() => server.app.supervisor.size === 1);
    raw.conn.close(); // TCP gone, no close frame
    await waitFor(() => server.app.supervisor.size === 0);
    assert.equal(server.app.supervisor.stats().active_connections, 0);
  } finally {
    await server.close();
  }
});

Deno.test("/ws/chat graceful shutdown sends server_shutdown, then closes with 1001", async () => {
  const server = await startTestServer();
  const { client } = await TestClient.connect(server.ws);
  try {
    const shutdown = server.app.shutdown();
    const notice = await client.next();
    assert.equal(notice.type, "server_shutdown");
    assert.deepEqual(await client.closed, { code: 1001, reason: "server shutting down" });
    await shutdown;
    const refused = await fetch(`${server.http}/health`);
    assert.equal(refused.status, 503);
    assert.equal((await refused.json()).status, "draining");
  } finally {
    await client.close();
    await server.close();
  }
});

Deno.test("/ws/chat logs one line per connection open and close", async () => {
  const server = await startTestServer({ LOG_LEVEL: "info" });
  const { client, hello } = await TestClient.connect(server.ws);
  await client.close();
  await waitFor(() => server.app.supervisor.size === 0);
  await server.close();
  const events = server.logs.map((l) => JSON.parse(l)).filter((l) =>
    l.client_id === hello.client_id
  );
  assert.deepEqual(events.map((l) => l.event), ["ws_open", "ws_close"]);
  assert.equal(events[1].code, 1000);
  assert.equal(typeof events[1].duration_ms, "number");
});

Deno.test("/ws/chat answers a malformed upgrade with 400, not a crash", async () => {
  const server = await startTestServer();
  const port = Number(new URL(server.http).port);
  try {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    const request = [
      "GET /ws/chat HTTP/1.1",
      `Host: 127.0.0.1:${port}`,
      "Upgrade: websocket",
      "Connection: close",
      "Sec-WebSocket-Version: 13",
    ].join("\r\n") + "\r\n\r\n";
    await conn.write(new TextEncoder().encode(request));
    const buf = new Uint8Array(4096);
    const n = await conn.read(buf);
    conn.close();
    const head = new TextDecoder().decode(buf.subarray(0, n ?? 0));
    assert.match(head, /^HTTP\/1\.1 400/);
    assert.match(head, /invalid_upgrade/);
    assert.equal((await fetch(`${server.http}/health`).then((r) => r.json())).status, "ok");
  } finally {
    await server.close();
  }
});
