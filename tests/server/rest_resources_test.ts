import assert from "node:assert/strict";
import OpenAI from "openai";
import { startTestServer, type TestServer } from "../helpers/test_server.ts";
import { TestClient } from "../helpers/ws_client.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

async function call(
  server: TestServer,
  method: string,
  path: string,
  options: { body?: unknown; key?: string } = {},
): Promise<[number, Json, Headers]> {
  const headers: Record<string, string> = {};
  if (options.body !== undefined) headers["content-type"] = "application/json";
  if (options.key) headers.authorization = `Bearer ${options.key}`;
  const res = await fetch(server.http + path, {
    method,
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  return [res.status, await res.json(), res.headers];
}

function assertOpenAIError(body: Json, code?: string): void {
  assert.deepEqual(Object.keys(body), ["error"]);
  assert.deepEqual(Object.keys(body.error).sort(), ["code", "message", "param", "type"]);
  assert.equal(typeof body.error.message, "string");
  if (code !== undefined) assert.equal(body.error.code, code);
}

Deno.test("GET /v1/models lists the configured model", async (t) => {
  const server = await startTestServer({});
  const client = new OpenAI({ apiKey: "unused", baseURL: server.http + "/v1", maxRetries: 0 });
  try {
    const model = server.app.services.engine.model;
    await t.step("list", async () => {
      const [status, body] = await call(server, "GET", "/v1/models");
      assert.equal(status, 200);
      assert.equal(body.object, "list");
      assert.equal(body.data.length, 1);
      assert.equal(body.data[0].id, model);
      assert.equal(body.data[0].object, "model");
      assert.equal(body.data[0].owned_by, "yychat");
      assert.ok(Math.abs(body.data[0].created - Date.now() / 1000) < 3600);
    });
    await t.step("through the SDK", async () => {
      const ids = [];
      for await (const m of client.models.list()) ids.push(m.id);
      assert.deepEqual(ids, [model]);
      assert.equal((await client.models.retrieve(model)).id, model);
    });
    await t.step("an unknown model is 404", async () => {
      const [status, body] = await call(server, "GET", "/v1/models/gpt-9");
      assert.equal(status, 404);
      assertOpenAIError(body, "model_not_found");
      await assert.rejects(client.models.retrieve("gpt-9"), OpenAI.NotFoundError);
    });
  } finally {
    await server.close();
  }
});

Deno.test("GET /v1/personalities lists and shows personalities", async (t) => {
  const server = await startTestServer({});
  try {
    const ps = server.app.services.engine.personalities;
    await t.step("list", async () => {
      const [status, body] = await call(server, "GET", "/v1/personalities");
      assert.equal(status, 200);
      assert.equal(body.object, "list");
      assert.equal(body.default, ps.default.id);
      assert.deepEqual(body.data.map((p: Json) => p.id), ps.list().map((p) => p.id));
      const first = body.data.find((p: Json) => p.id === ps.default.id);
      assert.equal(first.default, true);
      for (const field of ["name", "system_prompt", "traits", "allowed_tools"]) {
        assert.ok(field in first, `has ${field}`);
      }
    });
    await t.step("one", async () => {
      const [status, body] = await call(server, "GET", `/v1/personalities/${ps.default.id}`);
      assert.equal(status, 200);
      assert.equal(body.id, ps.default.id);
      assert.equal(body.system_prompt, ps.default.system_prompt);
    });
    await t.step("unknown is 404", async () => {
      const [status, body] = await call(server, "GET", "/v1/personalities/nobody");
      assert.equal(status, 404);
      assertOpenAIError(body, "personality_not_found");
    });
  } finally {
    await server.close();
  }
});

Deno.test("/v1/conversations/{id}/memory reads and clears memory per API key", async (t) => {
  const server = await startTestServer({ YYCHAT_API_KEY: "key-a-123456,key-b-654321" });
  const A = "key-a-123456";
  const B = "key-b-654321";
  const path = "/v1/conversations/shared-conv/memory";
  try {
    for (const content of ["Hello there", "What is 2 + 3?"]) {
      const [status] = await call(server, "POST", "/v1/chat/completions", {
        key: A,
        body: { conversation_id: "shared-conv", messages: [{ role: "user", content }] },
      });
      assert.equal(status, 200);
    }
    await t.step("the owner sees the turns, oldest first", async () => {
      const [status, body] = await call(server, "GET", path, { key: A });
      assert.equal(status, 200);
      assert.equal(body.object, "list");
      assert.equal(body.conversation_id, "shared-conv");
      assert.ok(body.data.length >= 4, `got ${body.data.length} messages`);
      assert.equal(body.data[0].role, "user");
      assert.equal(body.data[0].content, "Hello there");
      assert.equal(typeof body.data[0].created_at, "number");
    });
    await t.step("limit returns the most recent messages", async () => {
      const [status, body] = await call(server, "GET", `${path}?limit=1`, { key: A });
      assert.equal(status, 200);
      assert.equal(body.data.length, 1);
      assert.equal(body.data[0].role, "assistant");
    });
    await t.step("limit is validated", async () => {
      for (const limit of ["0", "1001", "abc", "2.5"]) {
        const [status, body] = await call(server, "GET", `${path}?limit=${limit}`, { key: A });
        assert.equal(status, 400, limit);
        assertOpenAIError(body);
        assert.equal(body.error.param, "limit");
      }
    });
    await t.step("another key sees nothing and cannot clear it", async () => {
      const [status, body] = await call(server, "GET", path, { key: B });
      assert.equal(status, 200);
      assert.deepEqual(body.data, []);
      const [dStatus, deleted] = await call(server, "DELETE", path, { key: B });
      assert.equal(dStatus, 200);
      assert.equal(deleted.deleted, false);
      assert.equal(deleted.deleted_messages, 0);
      const [, still] = await call(server, "GET", path, { key: A });
      assert.ok(still.data.length >= 4);
    });
    await t.step("the owner clears it", async () => {
      const [status, body] = await call(server, "DELETE", path, { key: A });
      assert.equal(status, 200);
      assert.equal(body.deleted, true);
      assert.ok(body.deleted_messages >= 4);
      const [, after] = await call(server, "GET", path, { key: A });
      assert.deepEqual(after.data, []);
    });
  } finally {
    await server.close();
  }
});

Deno.test("conversation ids follow one rule on the WebSocket and REST doors", async (t) => {
  const server = await startTestServer();
  const { client } = await TestClient.connect(server.ws);
  try {
    for (const id of ["abc ", " abc", "a\nb", "x".repeat(257)]) {
      await t.step(`${JSON.stringify(id.slice(0, 12))} is refused by both doors`, async () => {
        const ws = await client.request({
          type: "text_message",
          content: "hi",
          conversation_id: id,
        });
        assert.equal(ws.type, "error");
        assert.equal((ws.error as { code: string }).code, "validation_error");
        const [status, body] = await call(server, "POST", "/v1/chat/completions", {
          body: { conversation_id: id, messages: [{ role: "user", content: "hi" }] },
        });
        assert.equal(status, 400);
        assert.equal(body.error.param, "conversation_id");
        const path = `/v1/conversations/${encodeURIComponent(id)}/memory`;
        const [dStatus, deleted] = await call(server, "DELETE", path);
        assert.equal(dStatus, 400);
        assert.equal(deleted.error.param, "conversation_id");
      });
    }
    await t.step("an id with inner spaces names the same conversation on both doors", async () => {
      const id = "my conversation";
      await client.request({ type: "text_message", content: "hello", conversation_id: id });
      await client.until("stream_end");
      const path = `/v1/conversations/${encodeURIComponent(id)}/memory`;
      const [, listed] = await call(server, "GET", path);
      assert.equal(listed.data.length, 2);
      const [status, deleted] = await call(server, "DELETE", path);
      assert.equal(status, 200);
      assert.deepEqual([deleted.deleted, deleted.deleted_messages], [true, 2]);
      const [, again] = await call(server, "DELETE", path);
      assert.deepEqual([again.deleted, again.deleted_messages], [false, 0]);
    });
  } finally {
    await client.close();
    await server.close();
  }
});

Deno.test("/v1/tools lists and calls built-in tools", async (t) => {
  const server = await startTestServer({});
  try {
    await t.step("list", async () => {
      const [status, body] = await call(server, "GET", "/v1/tools");
      assert.equal(status, 200);
      assert.equal(body.object, "list");
      const calc = body.data.find((x: Json) => x.name === "calculator");
      assert.ok(calc, "calculator is listed");
      assert.equal(typeof calc.description, "string");
      assert.equal(calc.parameters.type, "object");
      assert.ok(body.data.some((x: Json) => x.name === "gettime"));
    });
    await t.step("call calculator", async () => {
      const [status, body] = await call(server, "POST", "/v1/tools/call", {
        body: { tool_name: "calculator", params: { operation: "multiply", a: 12, b: 7 } },
      });
      assert.equal(status, 200, JSON.stringify(body));
      assert.equal(body.status, "success");
      assert.equal(JSON.stringify(body.result).includes("84"), true, JSON.stringify(body));
    });
    await t.step("a failing call is 400 with the tool's message", async () => {
      const [status, body] = await call(server, "POST", "/v1/tools/call", {
        body: { tool_name: "calculator", params: { operation: "teleport", a: 1 } },
      });
      assert.equal(status, 400);
      assertOpenAIError(body, "tool_error");
      assert.match(body.error.message, /teleport/);
    });
    await t.step("an unknown tool is 404", async () => {
      const [status, body] = await call(server, "POST", "/v1/tools/call", {
        body: { tool_name: "nope", params: {} },
      });
      assert.equal(status, 404);
      assertOpenAIError(body, "tool_not_found");
    });
    await t.step("a body without tool_name is 400 naming it", async () => {
      const [status, body] = await call(server, "POST", "/v1/tools/call", {
        body: { params: {} },
      });
      assert.equal(status, 400);
      assert.equal(body.error.param, "tool_name");
    });
  } finally {
    await server.close();
  }
});

Deno.test("/v1/mcp routes work without configured servers", async (t) => {
  const server = await startTestServer({ YYCHAT_MCP_CONFIG: "/nonexistent/mcp.json" });
  try {
    await t.step("tools: empty list", async () => {
      const [status, body] = await call(server, "GET", "/v1/mcp/tools");
      assert.equal(status, 200);
      assert.deepEqual(body, { object: "list", data: [] });
    });
    await t.step("servers: empty list", async () => {
      const [status, body] = await call(server, "GET", "/v1/mcp/servers");
      assert.equal(status, 200);
      assert.deepEqual(body, { object: "list", data: [] });
    });
    await t.step("call: unknown tool is 404", async () => {
      const [status, body] = await call(server, "POST", "/v1/mcp/call", {
        body: { tool_name: "echo", params: { message: "hi" } },
      });
      assert.equal(status, 404);
      assertOpenAIError(body, "tool_not_found");
    });
  } finally {
    await server.close();
  }
});

Deno.test("/v1 answers unknown routes with 404 and wrong methods with 405", async (t) => {
  const server = await startTestServer({});
  try {
    await t.step("404", async () => {
      const [status, body] = await call(server, "GET", "/v1/nope");
      assert.equal(status, 404);
      assertOpenAIError(body, "not_found");
      assert.equal(body.error.type, "not_found_error");
    });
    const cases: [string, string, string][] = [
      ["PUT", "/v1/models", "GET"],
      ["GET", "/v1/chat/completions", "POST"],
      ["POST", "/v1/conversations/c1/memory", "GET, DELETE"],
      ["DELETE", "/v1/tools/call", "POST"],
    ];
    for (const [method, path, allow] of cases) {
      await t.step(`405 ${method} ${path}`, async () => {
        const [status, body, headers] = await call(server, method, path);
        assert.equal(status, 405);
        assertOpenAIError(body, "method_not_allowed");
        assert.equal(headers.get("allow"), allow);
      });
    }
    await t.step("every response carries a request id", async () => {
      const [, , headers] = await call(server, "GET", "/v1/models");
      assert.match(headers.get("x-request-id") ?? "", /^req_[0-9a-f]{32}$/);
    });
  } finally {
    await server.close();
  }
});

Deno.test("/v1 refuses request bodies over HTTP_MAX_REQUEST_BYTES with 413", async (t) => {
  const server = await startTestServer({ HTTP_MAX_REQUEST_BYTES: "2048" });
  const big = JSON.stringify({
    messages: [{ role: "user", content: "x".repeat(4096) }],
  });
  try {
    await t.step("declared by Content-Length", async () => {
      const res = await fetch(server.http + "/v1/chat/completions", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: big,
      });
      assert.equal(res.status, 413);
      assertOpenAIError(await res.json(), "request_too_large");
    });
    await t.step("streamed without Content-Length", async () => {
      const bytes = new TextEncoder().encode(big);
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          for (let i = 0; i < bytes.length; i += 512) controller.enqueue(bytes.slice(i, i + 512));
          controller.close();
        },
      });
      const res = await fetch(server.http + "/v1/tools/call", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
      });
      assert.equal(res.status, 413);
      assertOpenAIError(await res.json(), "request_too_large");
    });
    await t.step("a body under the limit is served", async () => {
      const [status] = await call(server, "POST", "/v1/tools/call", {
        body: { tool_name: "calculator", params: { operation: "add", a: 1, b: 2 } },
      });
      assert.equal(status, 200);
    });
  } finally {
    await server.close();
  }
});

Deno.test("/v1 logs one line per request without content", async () => {
  const server = await startTestServer({});
  try {
    await call(server, "POST", "/v1/chat/completions", {
      body: { messages: [{ role: "user", content: "a very private sentence" }] },
    });
    const lines = server.logs.map((l) => JSON.parse(l)).filter((l) => l.event === "http_request");
    assert.equal(lines.length, 1);
    const line = lines[0];
    assert.equal(line.method, "POST");
    assert.equal(line.path, "/v1/chat/completions");
    assert.equal(line.status, 200);
    assert.equal(typeof line.duration_ms, "number");
    assert.match(line.request_id, /^req_/);
    assert.ok(!server.logs.some((l) => l.includes("very private")), "no content in logs");
  } finally {
    await server.close();
  }
});
