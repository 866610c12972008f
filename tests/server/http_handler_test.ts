import assert from "node:assert/strict";
import { loadSettings } from "../../config/settings.ts";
import { silentLogger } from "../../src/core/logger.ts";
import { createApp } from "../../src/server/app.ts";

async function withApp(
  fn: (handler: (req: Request) => Promise<Response>) => Promise<void>,
): Promise<void> {
  const dataDir = await Deno.makeTempDir({ prefix: "yychat-http-" });
  const app = await createApp(loadSettings({ YYCHAT_DATA_DIR: dataDir }), { logger: silentLogger });
  try {
    await fn(app.handler);
  } finally {
    await app.shutdown();
    await Deno.remove(dataDir, { recursive: true });
  }
}

const get = (path: string, init?: RequestInit) => new Request(`http://localhost${path}`, init);

Deno.test("createHttpHandler() serves the public status routes without a port", async (t) => {
  await withApp(async (handler) => {
    await t.step("GET /health", async () => {
      const res = await handler(get("/health"));
      assert.equal(res.status, 200);
      assert.equal((await res.json()).status, "ok");
    });
    await t.step("GET /ws/status", async () => {
      const body = await (await handler(get("/ws/status"))).json();
      assert.equal(body.status, "success");
      assert.deepEqual(Object.keys(body.data).sort(), [
        "accepted_connections",
        "active_connections",
        "max_connections",
        "total_connections",
        "total_messages",
        "uptime",
      ]);
    });
    await t.step("GET /ws/handlers", async () => {
      const body = await (await handler(get("/ws/handlers"))).json();
      assert.equal(body.status, "success");
      assert.equal(body.data.handlers.ping, "PingHandler");
      assert.equal(body.data.handlers.heartbeat, "HeartbeatHandler");
      assert.equal(body.data.handlers.get_status, "GetStatusHandler");
      assert.deepEqual(body.data.middleware, ["AuthGate"]);
    });
    await t.step("GET /ws/schema lists every inbound and outbound type", async () => {
      const body = await (await handler(get("/ws/schema"))).json();
      const types = (schema: { oneOf?: { properties: { type: { const: string } } }[] }) =>
        schema.oneOf!.map((s) => s.properties.type.const);
      assert.deepEqual(types(body.inbound).sort(), [
        "audio_input",
        "auth",
        "cancel",
        "get_status",
        "heartbeat",
        "ping",
        "resume",
        "text_message",
      ]);
      assert.ok(types(body.outbound).includes("stream_chunk"));
      assert.ok(types(body.outbound).includes("resume_ok"));
      assert.ok(types(body.outbound).includes("error"));
    });
  });
});

Deno.test("createHttpHandler() answers unknown routes and methods in OpenAI's error shape", async (t) => {
  await withApp(async (handler) => {
    const cases: [string, Request, number][] = [
      ["unknown path", get("/nope"), 404],
      ["POST to a GET route", get("/ws/status", { method: "POST" }), 405],
      ["/ws/chat without an upgrade", get("/ws/chat"), 426],
    ];
    for (const [name, req, status] of cases) {
      await t.step(name, async () => {
        const res = await handler(req);
        assert.equal(res.status, status);
        const body = await res.json();
        assert.deepEqual(Object.keys(body.error).sort(), ["code", "message", "param", "type"]);
      });
    }
  });
});
