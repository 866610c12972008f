/**
 * `GET /openapi.json`: every REST route is documented, the document is valid
 * OpenAPI 3.1 (checked by an OpenAPI schema validator), and the answers of a
 * real server to every route validate against the schemas the document
 * publishes (with Ajv, JSON Schema 2020-12), so the document stays honest.
 */
import assert from "node:assert/strict";
import { Validator } from "@seriousme/openapi-schema-validator";
import { Ajv2020 } from "ajv/dist/2020.js";
import { API_VERSION, openApiDocument, openApiPath, ROUTE_DOCS } from "../../src/server/openapi.ts";
import { REST_ROUTES } from "../../src/server/rest/mod.ts";
import { startTestServer } from "../helpers/test_server.ts";

// deno-lint-ignore no-explicit-any
type Doc = any;

Deno.test("every route of REST_ROUTES is in the OpenAPI document", () => {
  const doc: Doc = openApiDocument();
  const missing = REST_ROUTES
    .filter((r) => doc.paths[openApiPath(r.path)]?.[r.method.toLowerCase()] === undefined)
    .map((r) => `${r.method} ${r.path}`);
  assert.deepEqual(
    missing,
    [],
    `Undocumented REST routes: ${missing.join(", ")}.\nAdd an entry keyed exactly "METHOD path" ` +
      "(as in REST_ROUTES) to ROUTE_DOCS in src/server/openapi.ts: its request body schema from " +
      "src/server/rest/schemas.ts, its answer as a zod schema in " +
      "src/server/rest/response_schemas.ts (this file's last test checks real answers against it).",
  );
  const keys = new Set(REST_ROUTES.map((r) => `${r.method} ${r.path}`));
  const stale = Object.keys(ROUTE_DOCS).filter((k) => !keys.has(k));
  assert.deepEqual(stale, [], `ROUTE_DOCS entries for routes that no longer exist: ${stale}`);
});

Deno.test("openApiPath() turns URLPattern parameters into OpenAPI ones", () => {
  assert.equal(openApiPath("/v1/models/:id(.+)"), "/v1/models/{id}");
  assert.equal(openApiPath("/v1/conversations/:id/memory"), "/v1/conversations/{id}/memory");
  assert.equal(openApiPath("/v1/a/:x([a-z]+)/b/:y"), "/v1/a/{x}/b/{y}");
});

Deno.test("the document is valid OpenAPI 3.1, with every $ref resolvable", async () => {
  const doc: Doc = openApiDocument();
  const validator = new Validator();
  const result = await validator.validate(doc);
  assert.equal(validator.version, "3.1");
  assert.deepEqual(result, { valid: true });
  const refs = JSON.stringify(doc).matchAll(/"\$ref":"#\/([^"]+)"/g);
  for (const [, pointer] of refs) {
    const target = pointer!.split("/").reduce((node, key) => node?.[key], doc);
    assert.ok(target !== undefined, `$ref #/${pointer} resolves`);
  }
  const invalid = await new Validator().validate({ ...doc, info: { title: "no version" } });
  assert.equal(invalid.valid, false, "the validator does reject a broken document");
});

Deno.test("info.version is yychat's version in deno.json", async () => {
  const config = JSON.parse(await Deno.readTextFile(new URL("../../deno.json", import.meta.url)));
  assert.equal(API_VERSION, config.version);
});

Deno.test("the documented request schemas accept and refuse what the routes do", () => {
  const doc: Doc = openApiDocument();
  const ajv = new Ajv2020({ strict: false });
  const chat = ajv.compile(doc.components.schemas.ChatCompletionRequest);
  const ok = {
    messages: [
      { role: "system", content: "Be brief" },
      { role: "user", content: [{ type: "text", text: "hi" }] },
      { role: "assistant", content: null, tool_calls: [] },
    ],
    stream: true,
    conversation_id: "c1",
  };
  assert.ok(chat(ok), JSON.stringify(chat.errors));
  assert.equal(chat({ messages: [] }), false, "at least one message");
  assert.equal(chat({ messages: [{ role: "robot", content: "x" }] }), false);
  assert.equal(chat({ messages: [{ role: "user", content: "x" }], temperature: 3 }), false);
  const call = ajv.compile(doc.components.schemas.ToolCallRequest);
  assert.ok(call({ tool_name: "calculator", params: { a: 1 } }));
  assert.equal(call({ params: {} }), false);
});

Deno.test("every request example is valid and a real server answers it with 200", async () => {
  const doc: Doc = openApiDocument();
  const ajv = new Ajv2020({ strict: false });
  const server = await startTestServer({ LOG_LEVEL: "silent" });
  try {
    let examples = 0;
    for (const [path, item] of Object.entries<Doc>(doc.paths)) {
      for (const [method, op] of Object.entries<Doc>(item)) {
        const media = op.requestBody?.content["application/json"];
        if (media?.example === undefined) continue;
        examples++;
        const name = media.schema.$ref.split("/").at(-1);
        const validate = ajv.compile(doc.components.schemas[name]);
        assert.ok(validate(media.example), `${method} ${path}: ${JSON.stringify(validate.errors)}`);
        const res = await fetch(server.http + path, {
          method: method.toUpperCase(),
          headers: { "content-type": "application/json" },
          body: JSON.stringify(media.example),
        });
        const answer = await res.text();
        assert.equal(res.status, 200, `${method} ${path}: ${answer}`);
      }
    }
    assert.ok(examples >= 2);
  } finally {
    await server.close();
  }
});

Deno.test("GET /openapi.json serves the document publicly", async () => {
  const server = await startTestServer({ LOG_LEVEL: "silent", YYCHAT_API_KEY: "sk-openapi-1" });
  try {
    const res = await fetch(`${server.http}/openapi.json`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type")!, /^application\/json/);
    const served = await res.json();
    assert.equal(served.openapi, "3.1.0");
    assert.deepEqual(served, JSON.parse(JSON.stringify(openApiDocument())));
    assert.deepEqual(served.components.securitySchemes.bearerAuth, {
      type: "http",
      scheme: "bearer",
      description: "One of the keys of YYCHAT_API_KEY",
    });
  } finally {
    await server.close();
  }
});

Deno.test("real answers of every route match the schemas the document publishes", async () => {
  const dir = await Deno.makeTempDir({ prefix: "yychat-openapi-" });
  await Deno.writeTextFile(
    `${dir}/mcp.json`,
    JSON.stringify({ mcpServers: { broken: { command: `${dir}/no-such-program` } } }),
  );
  const server = await startTestServer({
    LOG_LEVEL: "silent",
    YYCHAT_MCP_CONFIG: `${dir}/mcp.json`,
  });
  const doc: Doc = openApiDocument();
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  const validators = new Map<string, ReturnType<typeof ajv.compile>>();
  const check = (schemaName: string, value: unknown, what: string) => {
    let validate = validators.get(schemaName);
    if (!validate) {
      validate = ajv.compile(doc.components.schemas[schemaName]);
      validators.set(schemaName, validate);
    }
    assert.ok(
      validate(value),
      `${what} does not match ${schemaName}: ${JSON.stringify(validate.errors)}\n` +
        JSON.stringify(value).slice(0, 500),
    );
  };
  /** Sends a request; checks the answer against the operation's documented 200 or error schema. */
  const call = async (method: string, path: string, route: string, body?: unknown) => {
    const res = await fetch(server.http + path, {
      method,
      headers: body === undefined ? {} : { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const operation = doc.paths[openApiPath(route)][method.toLowerCase()];
    const json = await res.json();
    if (res.status === 200) {
      const ref: string = operation.responses["200"].content["application/json"].schema.$ref;
      check(ref.split("/").at(-1)!, json, `${method} ${path}`);
    } else {
      assert.ok(operation.responses[String(res.status)], `${res.status} is documented`);
      check("Error", json, `${method} ${path} (${res.status})`);
    }
    return { status: res.status, json };
  };
  try {
    const seen = new Set<string>();
    const covered = async (method: string, route: string, path: string, body?: unknown) => {
      seen.add(`${method} ${route}`);
      return await call(method, path, route, body);
    };
    const chat = "/v1/chat/completions";
    const done = await covered("POST", chat, chat, {
      messages: [{ role: "user", content: "what is 6 * 7?" }],
      conversation_id: "doc-conv",
    });
    assert.equal(done.status, 200);
    assert.ok(done.json.usage, "usage is part of what is checked");
    await covered("POST", chat, chat, { messages: [{ role: "user", content: 1 }] });
    await covered("POST", chat, chat, {
      messages: [{ role: "user", content: "hi" }],
      personality_id: "nobody",
    });
    await covered("GET", "/v1/models", "/v1/models");
    const models = await covered("GET", "/v1/models/:id(.+)", "/v1/models/yychat-offline");
    assert.equal(models.status, 200);
    await covered("GET", "/v1/models/:id(.+)", "/v1/models/none");
    await covered("GET", "/v1/personalities", "/v1/personalities");
    const personality = await covered(
      "GET",
      "/v1/personalities/:id",
      "/v1/personalities/assistant",
    );
    assert.equal(personality.status, 200);
    await covered("GET", "/v1/personalities/:id", "/v1/personalities/nobody");
    const memory = await covered(
      "GET",
      "/v1/conversations/:id/memory",
      "/v1/conversations/doc-conv/memory",
    );
    assert.ok(
      memory.json.data.some((m: { tool_calls?: unknown }) => m.tool_calls !== undefined),
      "the stored tool call and its result are part of what is checked",
    );
    await covered(
      "GET",
      "/v1/conversations/:id/memory",
      "/v1/conversations/doc-conv/memory?limit=0",
    );
    const deleted = await covered(
      "DELETE",
      "/v1/conversations/:id/memory",
      "/v1/conversations/doc-conv/memory",
    );
    assert.equal(deleted.json.deleted, true);
    await covered("GET", "/v1/tools", "/v1/tools");
    const tool = await covered("POST", "/v1/tools/call", "/v1/tools/call", {
      tool_name: "calculator",
      params: { operation: "add", a: 2, b: 3 },
    });
    assert.equal(tool.status, 200, JSON.stringify(tool.json));
    await covered("POST", "/v1/tools/call", "/v1/tools/call", { tool_name: "nope", params: {} });
    await covered("GET", "/v1/mcp/tools", "/v1/mcp/tools");
    await covered("POST", "/v1/mcp/call", "/v1/mcp/call", { tool_name: "nope" });
    const servers = await covered("GET", "/v1/mcp/servers", "/v1/mcp/servers");
    assert.equal(servers.json.data[0].name, "broken");

    const stream = await fetch(server.http + chat, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        messages: [{ role: "user", content: "Hello" }],
        stream: true,
        stream_options: { include_usage: true },
      }),
    });
    const payloads = (await stream.text()).split("\n\n").map((e) =>
      e.split("\n").find((line) => line.startsWith("data: "))
    ).filter((line) => line !== undefined).map((line) => line.slice("data: ".length));
    assert.equal(payloads.at(-1), "[DONE]");
    for (const p of payloads.slice(0, -1)) check("ChatCompletionChunk", JSON.parse(p), "a chunk");

    // The same stream, continued from its start within the resume window.
    const resumeRoute = "/v1/chat/completions/:id/stream";
    const resumePath = `${chat}/${stream.headers.get("x-yychat-request-id")}/stream`;
    const resumed = await fetch(`${server.http}${resumePath}?starting_after=0`, {
      headers: { "x-yychat-resume-token": stream.headers.get("x-yychat-resume-token")! },
    });
    assert.equal(resumed.status, 200);
    const replayed = (await resumed.text()).split("\n\n").map((e) =>
      e.split("\n").find((line) => line.startsWith("data: "))
    ).filter((line) => line !== undefined).map((line) => line.slice("data: ".length));
    assert.equal(replayed.at(-1), "[DONE]");
    for (const p of replayed.slice(0, -1)) check("ChatCompletionChunk", JSON.parse(p), "a replay");
    const missingToken = await covered("GET", resumeRoute, resumePath);
    assert.equal(missingToken.status, 400);

    // Audio: the JSON answers go through `covered`; audio bytes and multipart uploads are
    // checked against the documented media types and schemas here.
    await covered("POST", "/v1/audio/speech", "/v1/audio/speech", { input: "Hi.", speed: 9 });
    await covered("POST", "/v1/audio/transcriptions", "/v1/audio/transcriptions", {});
    const voices = await covered("GET", "/v1/audio/voices", "/v1/audio/voices");
    await covered("GET", "/v1/audio/models", "/v1/audio/models");
    if (voices.status === 200) {
      // The offline speech engines are installed (503, checked above as an Error, otherwise).
      const speechOp = doc.paths["/v1/audio/speech"].post;
      const spoken = await fetch(`${server.http}/v1/audio/speech`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ input: "Good morning.", response_format: "wav" }),
      });
      assert.equal(spoken.status, 200);
      assert.ok(speechOp.responses["200"].content[spoken.headers.get("content-type")!]);
      const wav = new Uint8Array(await spoken.arrayBuffer());
      for (const format of ["json", "verbose_json"]) {
        const form = new FormData();
        form.append("file", new File([wav], "a.wav", { type: "audio/wav" }));
        form.append("response_format", format);
        const res = await fetch(`${server.http}/v1/audio/transcriptions`, {
          method: "POST",
          body: form,
        });
        assert.equal(res.status, 200);
        check("Transcription", await res.json(), `transcription (${format})`);
      }
    }

    const health = await fetch(`${server.http}/health`);
    check("Health", await health.json(), "GET /health");

    const untested = REST_ROUTES.map((r) => `${r.method} ${r.path}`).filter((k) => !seen.has(k));
    assert.deepEqual(untested, [], "add a request for each new route to this test");
  } finally {
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});
