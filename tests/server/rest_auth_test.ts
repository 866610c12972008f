import assert from "node:assert/strict";
import OpenAI from "openai";
import { REST_ROUTES } from "../../src/server/rest/mod.ts";
import { startTestServer } from "../helpers/test_server.ts";

const K1 = "k1-secret-0a1b2c3d4e";
const K2 = "k2-secret-9f8e7d6c5b";
const WRONG = "k3-wrong-77777777";

/** A concrete request for each route of the table, with a body that route accepts. */
function concrete(route: { method: string; path: string }): { path: string; body?: unknown } {
  const path = route.path.replace(":id(.+)", "yychat-offline").replace(":id", "conv-1");
  switch (`${route.method} ${route.path}`) {
    case "POST /v1/chat/completions":
      return { path, body: { messages: [{ role: "user", content: "Hello" }] } };
    case "POST /v1/tools/call":
      return { path, body: { tool_name: "calculator", params: { operation: "add", a: 1, b: 2 } } };
    case "POST /v1/mcp/call":
      return { path, body: { tool_name: "none", params: {} } };
    case "POST /v1/audio/speech":
      return { path, body: { input: "Hello.", response_format: "wav" } };
    default:
      return { path };
  }
}

async function request(
  http: string,
  method: string,
  path: string,
  body: unknown,
  authorization?: string,
): Promise<Response> {
  const headers: Record<string, string> = {};
  if (body !== undefined) headers["content-type"] = "application/json";
  if (authorization !== undefined) headers.authorization = authorization;
  return await fetch(http + path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

Deno.test("every /v1 route needs one of the configured keys", async (t) => {
  const server = await startTestServer({
    YYCHAT_API_KEY: `${K1},${K2}`,
    YYCHAT_MCP_CONFIG: "/nonexistent/mcp.json",
  });
  try {
    assert.equal(REST_ROUTES.length, 17, "the table below covers every route");
    for (const route of REST_ROUTES) {
      const { path, body } = concrete(route);
      await t.step(`${route.method} ${path}`, async () => {
        for (
          const [what, auth] of [
            ["no header", undefined],
            ["wrong key", `Bearer ${WRONG}`],
            ["empty bearer", "Bearer "],
            ["basic scheme", `Basic ${btoa(`user:${K1}`)}`],
            ["key without scheme", K1],
          ] as const
        ) {
          const res = await request(server.http, route.method, path, body, auth);
          assert.equal(res.status, 401, `${what}: ${res.status}`);
          assert.match(res.headers.get("www-authenticate") ?? "", /^Bearer/);
          const json = await res.json();
          assert.equal(json.error.code, "invalid_api_key", what);
          assert.equal(json.error.type, "authentication_error", what);
        }
        for (const key of [K1, K2]) {
          const res = await request(server.http, route.method, path, body, `Bearer ${key}`);
          await res.body?.cancel();
          assert.notEqual(res.status, 401, `${key.slice(0, 2)} is accepted`);
          // 503: the audio routes on a machine without the offline speech engines.
          const noEngine = res.status === 503 && path.startsWith("/v1/audio/");
          assert.ok(res.status < 500 || noEngine, `status ${res.status}`);
        }
      });
    }
    await t.step("an unknown /v1 route is 401 before 404", async () => {
      const res = await request(server.http, "GET", "/v1/nope", undefined);
      assert.equal(res.status, 401);
      await res.body?.cancel();
      const ok = await request(server.http, "GET", "/v1/nope", undefined, `Bearer ${K1}`);
      assert.equal(ok.status, 404);
      await ok.body?.cancel();
    });
    await t.step("the key is checked before the body is read (no 413 leak)", async () => {
      const res = await fetch(server.http + "/v1/chat/completions", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: "x".repeat(8 * 1024 * 1024),
      });
      assert.equal(res.status, 401);
      await res.body?.cancel();
    });
    await t.step("the openai SDK authenticates with the key and fails without it", async () => {
      const good = new OpenAI({ apiKey: K2, baseURL: server.http + "/v1", maxRetries: 0 });
      const reply = await good.chat.completions.create({
        model: "yychat-offline",
        messages: [{ role: "user", content: "Hello" }],
      });
      assert.equal(reply.object, "chat.completion");
      const bad = new OpenAI({ apiKey: WRONG, baseURL: server.http + "/v1", maxRetries: 0 });
      await assert.rejects(bad.models.list(), OpenAI.AuthenticationError);
    });
    await t.step("public routes stay public", async () => {
      for (const path of ["/health", "/ws/status", "/ws/handlers"]) {
        const res = await fetch(server.http + path);
        assert.equal(res.status, 200, path);
        await res.body?.cancel();
      }
    });
    await t.step("no key ever appears in the logs", () => {
      assert.ok(server.logs.some((l) => l.includes('"http_request"')), "requests were logged");
      for (const secret of [K1, K2, WRONG]) {
        assert.ok(!server.logs.some((l) => l.includes(secret)), "a key leaked into the logs");
      }
    });
  } finally {
    await server.close();
  }
});

Deno.test("without YYCHAT_API_KEY /v1 routes are open and share the empty namespace", async () => {
  const server = await startTestServer({});
  try {
    const res = await fetch(server.http + "/v1/models", {
      headers: { authorization: "Bearer anything" },
    });
    assert.equal(res.status, 200);
    await res.body?.cancel();
  } finally {
    await server.close();
  }
});
