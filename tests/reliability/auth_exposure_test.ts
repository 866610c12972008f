/**
 * Auth and exposure with `YYCHAT_API_KEY` set: every route, derived from the
 * code (the REST route table and the HTTP handler's own routes), is tried
 * without a key and with wrong ones; none serves content. Public routes
 * expose counts only. No key or token ever reaches the logs.
 */
import assert from "node:assert/strict";
import { REST_ROUTES } from "../../src/server/rest/mod.ts";
import { OpenAIMock, textReply } from "../helpers/openai_mock.ts";
import { rawUpgrade } from "../helpers/raw_http.ts";
import { startTestServer, type TestServer } from "../helpers/test_server.ts";
import { TestClient } from "../helpers/ws_client.ts";
import { untilAny } from "./lib/traffic.ts";

const KEYS = ["yy-key-alpha-7f3a9c1e5b", "yy-key-beta-2d8e6f4a0c"];
const PROVIDER_KEY = "sk-provider-secret-9a8b7c6d";
const WRONG_TOKENS = [
  "yy-key-alpha-7f3a9c1e5X", // one character off
  "yy-key-alpha", // a prefix
  `${KEYS[0]}${KEYS[0]}`,
  "x".repeat(5000), // over the verifier's length bound
];
const SECRET_CONTENT = "TOPSECRET-payload-41c7";
const SECRET_CONVERSATION = "conv-secret-5e2b";

/** Routes the HTTP handler serves itself, read from its source (not from memory). */
function handlerRoutes(): string[] {
  const source = Deno.readTextFileSync(
    new URL("../../src/server/http_handler.ts", import.meta.url),
  );
  const paths = new Set<string>();
  for (const m of source.matchAll(/case "(\/[^"]*)"|path === "(\/[^"]*)"/g)) {
    paths.add(m[1] ?? m[2]!);
  }
  return [...paths];
}

/** A concrete URL path for a route pattern (`:id`, `:id(.+)`). */
function concrete(path: string): string {
  return path.replace(/:id\(\.\+\)/, "gpt-4o-mini").replace(/:id/, SECRET_CONVERSATION);
}

const SAMPLE_BODIES: Record<string, unknown> = {
  "/v1/chat/completions": {
    model: "gpt-4o-mini",
    messages: [{ role: "user", content: "hi" }],
    conversation_id: SECRET_CONVERSATION,
  },
  "/v1/tools/call": { tool_name: "calculator", params: { operation: "add", a: 1, b: 2 } },
  "/v1/mcp/call": { tool_name: "nothing", params: {} },
};

async function withServer(fn: (server: TestServer, mock: OpenAIMock) => Promise<void>) {
  const mock = await OpenAIMock.start({ fallback: () => textReply(`reply ${SECRET_CONTENT}`) });
  const server = await startTestServer({
    YYCHAT_API_KEY: KEYS.join(","),
    OPENAI_BASE_URL: mock.baseUrl,
    OPENAI_API_KEY: PROVIDER_KEY,
    PROVIDER_MAX_RETRIES: "0",
    WS_AUTH_TIMEOUT: "0.3",
    LOG_LEVEL: "debug",
  });
  try {
    await fn(server, mock);
  } finally {
    await server.close();
    await mock.close();
  }
}

function request(server: TestServer, method: string, path: string, auth?: string) {
  const body = SAMPLE_BODIES[path];
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (auth !== undefined) headers.authorization = auth;
  return fetch(`${server.http}${path}`, {
    method,
    headers,
    body: method === "POST" ? JSON.stringify(body ?? {}) : undefined,
  });
}

Deno.test("REST_ROUTES and the HTTP handler's routes serve nothing without a valid key", async (t) => {
  await withServer(async (server) => {
    // Content the refusals must not leak: one real conversation, stored with a valid key.
    const seeded = await request(
      server,
      "POST",
      "/v1/chat/completions",
      `Bearer ${KEYS[0]}`,
    );
    assert.equal(seeded.status, 200);
    await seeded.body?.cancel();

    const credentials: [string, string | undefined][] = [
      ["no Authorization header", undefined],
      ["empty Authorization", ""],
      ["Basic scheme with the right key", `Basic ${btoa(`user:${KEYS[0]}`)}`],
      ["key without the Bearer scheme", KEYS[0]],
      ...WRONG_TOKENS.map((tok, i): [string, string] => [`wrong token ${i + 1}`, `Bearer ${tok}`]),
    ];
    const restRoutes = [
      ...REST_ROUTES.map((r) => ({ method: r.method, path: concrete(r.path) })),
      // Methods and paths outside the table are refused before routing, too.
      { method: "PUT", path: "/v1/models" },
      { method: "GET", path: "/v1/does-not-exist" },
    ];
    assert.ok(restRoutes.length >= 12, "the REST route table was found");
    for (const route of restRoutes) {
      await t.step(`${route.method} ${route.path}`, async () => {
        for (const [label, auth] of credentials) {
          const res = await request(server, route.method, route.path, auth);
          const text = await res.text();
          assert.equal(res.status, 401, `${label}: ${res.status} ${text.slice(0, 200)}`);
          const body = JSON.parse(text);
          assert.equal(body.error.code, "invalid_api_key", label);
          assert.ok(!text.includes(SECRET_CONTENT) && !text.includes(SECRET_CONVERSATION));
        }
        // The same route with a valid key is served (so the 401s above mean something).
        const ok = await request(server, route.method, route.path, `Bearer ${KEYS[1]}`);
        await ok.body?.cancel();
        assert.notEqual(ok.status, 401, `${route.method} ${route.path} refused a valid key`);
      });
    }

    await t.step("public routes expose counts and schemas only", async () => {
      const routes = handlerRoutes();
      assert.deepEqual(
        routes.toSorted(),
        ["/health", "/ws/chat", "/ws/handlers", "/ws/schema", "/ws/status"],
        "the HTTP handler's routes changed: review their exposure",
      );
      for (const path of routes.filter((p) => p !== "/ws/chat")) {
        const res = await fetch(`${server.http}${path}`);
        const text = await res.text();
        assert.equal(res.status, 200, path);
        for (const secret of [SECRET_CONTENT, SECRET_CONVERSATION, PROVIDER_KEY, ...KEYS]) {
          assert.ok(!text.includes(secret), `${path} exposes ${secret}`);
        }
      }
      const status = await (await fetch(`${server.http}/ws/status`)).json();
      for (const [k, v] of Object.entries(status.data)) {
        assert.equal(typeof v, "number", `/ws/status field ${k} is not a count`);
      }
      const health = await (await fetch(`${server.http}/health`)).json();
      assert.deepEqual(
        Object.keys(health).toSorted(),
        ["mcp_servers", "provider", "status", "uptime"],
      );
      assert.deepEqual(Object.keys(health.mcp_servers).toSorted(), ["configured", "connected"]);
      assert.doesNotMatch(JSON.stringify(health), /yychat-offline|gpt|mock/, "no model id");
    });
  });
});

Deno.test("/ws/chat refuses wrong keys and serves nothing before a valid auth frame", async (t) => {
  await withServer(async (server) => {
    const port = Number(new URL(server.http).port);
    for (const token of WRONG_TOKENS) {
      await t.step(
        `header and subprotocol with a wrong token (${token.length} chars)`,
        async () => {
          const byHeader = await rawUpgrade(port, { Authorization: `Bearer ${token}` });
          byHeader.conn.close();
          assert.equal(byHeader.status, 401);
          const byProtocol = await rawUpgrade(port, {
            "Sec-WebSocket-Protocol": `yychat, bearer.${token}`,
          });
          byProtocol.conn.close();
          assert.equal(byProtocol.status, 401);
        },
      );
    }

    await t.step("no credentials: every message is refused until auth", async () => {
      const { client, hello } = await TestClient.connect(server.ws);
      assert.equal(hello.auth_required, true);
      for (
        const msg of [
          { type: "text_message", content: "hi", conversation_id: SECRET_CONVERSATION },
          { type: "get_status" },
          { type: "ping" },
          { type: "cancel", request_id: "x" },
        ]
      ) {
        const e = await client.request(msg);
        assert.equal(e.type, "error");
        assert.equal((e.error as { code: string }).code, "auth_required");
        assert.ok(!JSON.stringify(e).includes(SECRET_CONTENT));
      }
      const { code } = await client.closed;
      assert.equal(code, 4002, "no auth frame in time closes with 4002");
    });

    for (const token of WRONG_TOKENS) {
      await t.step(`auth frame with a wrong token (${token.length} chars)`, async () => {
        const { client } = await TestClient.connect(server.ws);
        const e = await client.request({ type: "auth", token });
        assert.equal(e.type, "error");
        const code = (e.error as { code: string }).code;
        // Over 4096 characters the frame fails validation before the key check.
        assert.ok(code === "auth_failed" || code === "validation_error", code);
        if (code === "auth_failed") assert.equal((await client.closed).code, 4500);
        await client.close();
      });
    }

    await t.step("a valid auth frame serves the stream", async () => {
      const { client } = await TestClient.connect(server.ws);
      assert.equal((await client.request({ type: "auth", token: KEYS[1] })).type, "auth_ok");
      client.send({ type: "text_message", content: "hi" });
      const end = (await untilAny(client, ["stream_end", "error"])).at(-1)!;
      assert.equal(end.type, "stream_end");
      await client.close();
    });
  });
});

Deno.test("Logger never writes an API key, a wrong token or the provider key", async () => {
  let logs: string[] = [];
  await withServer(async (server) => {
    const port = Number(new URL(server.http).port);
    for (const token of [...KEYS, ...WRONG_TOKENS]) {
      for (const route of REST_ROUTES) {
        const res = await request(server, route.method, concrete(route.path), `Bearer ${token}`);
        await res.body?.cancel();
      }
      (await rawUpgrade(port, { Authorization: `Bearer ${token}` })).conn.close();
      (await rawUpgrade(port, { "Sec-WebSocket-Protocol": `yychat, bearer.${token}` })).conn
        .close();
      const { client } = await TestClient.connect(server.ws);
      client.send({ type: "auth", token });
      await client.next().catch(() => {});
      await client.close();
    }
    logs = server.logs;
  });
  assert.ok(logs.length > 50, `only ${logs.length} log lines`);
  const joined = logs.join("\n");
  for (const secret of [...KEYS, ...WRONG_TOKENS, PROVIDER_KEY]) {
    assert.ok(!joined.includes(secret), `a log line contains ${secret.slice(0, 12)}…`);
  }
});
