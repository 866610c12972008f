/**
 * `GET /metrics` of a real server on 127.0.0.1: the series move by the right
 * amounts as real WebSocket and REST traffic flows, label sets stay bounded
 * under hostile input, the endpoint is behind the key unless
 * `METRICS_PUBLIC=true`, and `promtool check metrics` accepts what a server
 * that served traffic renders.
 */
import assert from "node:assert/strict";
import { HTTP_ROUTES } from "../../src/server/http_metrics.ts";
import { REST_ROUTES } from "../../src/server/rest/mod.ts";
import { OpenAIMock } from "../helpers/openai_mock.ts";
import {
  delta,
  hasPromtool,
  labelValues,
  promtoolCheck,
  type Samples,
  scrape,
  seriesOf,
} from "../helpers/prom_text.ts";
import { startTestServer, type TestServer } from "../helpers/test_server.ts";
import { waitFor } from "../helpers/wait.ts";
import { TestClient } from "../helpers/ws_client.ts";

if (!hasPromtool) {
  console.warn(
    "promtool not found: `promtool check metrics` on a live server is IGNORED. " +
      "Install it with `apt-get install prometheus` (.ci/run does).",
  );
}

async function post(server: TestServer, path: string, body: unknown): Promise<Response> {
  return await fetch(server.http + path, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
}

Deno.test("WebSocket traffic moves connections, messages, generations and errors", async () => {
  const server = await startTestServer({ LOG_LEVEL: "warn" });
  try {
    const before = await scrape(server.http);
    const { client } = await TestClient.connect(server.ws);
    assert.equal((await client.request({ type: "ping" })).type, "pong");
    assert.equal((await client.request({ type: "no_such_type" })).type, "error");
    assert.equal((await client.request("{not json")).type, "error");
    client.send({ type: "text_message", content: "what is 6 * 7?", request_id: "m1" });
    const events = await client.until("stream_end", 10_000);
    assert.ok(events.some((e) => e.type === "stream_chunk"));
    const open = await scrape(server.http);
    await client.close();
    await waitFor(() => server.app.supervisor.size === 0, 5000, "the connection to be released");
    const after = await scrape(server.http);

    const d = (series: string) => delta(before, open, series);
    assert.equal(open.get("yychat_ws_connections"), 1);
    assert.equal(after.get("yychat_ws_connections"), 0);
    assert.equal(d("yychat_ws_connections_accepted_total"), 1);
    assert.equal(d('yychat_ws_messages_total{type="ping"}'), 1);
    assert.equal(d('yychat_ws_messages_total{type="text_message"}'), 1);
    assert.equal(d('yychat_ws_messages_total{type="invalid"}'), 2, "unknown type + bad JSON");
    assert.equal(d('yychat_errors_total{code="unknown_message_type"}'), 1);
    assert.equal(d('yychat_errors_total{code="invalid_json"}'), 1);
    assert.equal(d('yychat_generations_total{door="ws",outcome="stop"}'), 1);
    assert.equal(open.get("yychat_generations_running"), 0);
    assert.equal(d("yychat_time_to_first_chunk_seconds_count"), 1);
    assert.equal(d("yychat_generation_duration_seconds_count"), 1);
    assert.ok(d('yychat_tokens_total{direction="in"}') > 0, "offline provider reports usage");
    assert.ok(d('yychat_tokens_total{direction="out"}') > 0);
    assert.equal(d('yychat_http_requests_total{route="/ws/chat",method="GET",status="101"}'), 1);
    assert.equal(
      d('yychat_http_requests_total{route="/metrics",method="GET",status="200"}'),
      1,
      "the first scrape is counted once it is answered",
    );
    assert.equal(delta(open, after, 'yychat_ws_closes_total{code="1000"}'), 1);
  } finally {
    await server.close();
  }
});

Deno.test("REST traffic moves requests by route pattern, generations, tokens and errors", async () => {
  const server = await startTestServer({ LOG_LEVEL: "warn" });
  try {
    const before = await scrape(server.http);
    const plain = await post(server, "/v1/chat/completions", {
      messages: [{ role: "user", content: "Hello" }],
    });
    const completion = await plain.json();
    assert.equal(plain.status, 200);
    const streamed = await post(server, "/v1/chat/completions", {
      messages: [{ role: "user", content: "Hello again" }],
      stream: true,
    });
    assert.match(await streamed.text(), /data: \[DONE\]/);
    const memory = await fetch(`${server.http}/v1/conversations/conv-secret-42/memory?limit=5`);
    await memory.body?.cancel();
    const missing = await fetch(`${server.http}/v1/models/no-such-model`);
    assert.equal((await missing.json()).error.code, "model_not_found");
    const bad = await post(server, "/v1/chat/completions", { messages: [] });
    assert.equal(bad.status, 400);
    await bad.body?.cancel();
    const after = await scrape(server.http);

    const d = (series: string) => delta(before, after, series);
    const route = (r: string, m: string, s: number) =>
      `yychat_http_requests_total{route="${r}",method="${m}",status="${s}"}`;
    assert.equal(d(route("/v1/chat/completions", "POST", 200)), 2);
    assert.equal(d(route("/v1/chat/completions", "POST", 400)), 1);
    assert.equal(d(route("/v1/conversations/:id/memory", "GET", 200)), 1);
    assert.equal(d(route("/v1/models/:id", "GET", 404)), 1);
    assert.equal(
      d('yychat_http_request_duration_seconds_count{route="/v1/chat/completions"}'),
      3,
      "the streamed request is counted when its stream ends",
    );
    assert.equal(d('yychat_generations_total{door="rest",outcome="stop"}'), 2);
    assert.equal(d("yychat_time_to_first_chunk_seconds_count"), 1, "only the streamed one");
    assert.equal(after.get("yychat_generations_running"), 0);
    assert.ok(
      d('yychat_tokens_total{direction="in"}') >= completion.usage.prompt_tokens,
      "both replies' usage is counted",
    );
    assert.equal(d('yychat_errors_total{code="model_not_found"}'), 1);
    assert.equal(d('yychat_errors_total{code="invalid_request"}'), 1);
    assert.ok(
      ![...after.keys()].some((k) => k.includes("conv-secret-42") || k.includes("no-such-model")),
      "ids in paths never become label values",
    );
  } finally {
    await server.close();
  }
});

Deno.test("REST token counts are the provider's reported usage, exactly", async () => {
  const server = await startTestServer({ LOG_LEVEL: "warn" });
  try {
    const before = await scrape(server.http);
    const res = await post(server, "/v1/chat/completions", {
      messages: [{ role: "user", content: "what is 2 + 3?" }],
    });
    const { usage } = await res.json();
    const after = await scrape(server.http);
    assert.equal(delta(before, after, 'yychat_tokens_total{direction="in"}'), usage.prompt_tokens);
    assert.equal(
      delta(before, after, 'yychat_tokens_total{direction="out"}'),
      usage.completion_tokens,
    );
  } finally {
    await server.close();
  }
});

Deno.test("provider failures count as upstream errors by code on both doors", async () => {
  const mock = await OpenAIMock.start();
  const server = await startTestServer({
    LOG_LEVEL: "silent",
    OPENAI_BASE_URL: mock.baseUrl,
    OPENAI_API_KEY: "sk-test",
    PROVIDER_MAX_RETRIES: "0",
  });
  try {
    const before = await scrape(server.http);
    mock.enqueue(
      { kind: "error", status: 429, message: "slow down" },
      { kind: "error", status: 500, message: "boom" },
    );
    const { client } = await TestClient.connect(server.ws);
    client.send({ type: "text_message", content: "hi", request_id: "u1" });
    const [failure] = (await client.until("error", 10_000)).slice(-1);
    assert.equal((failure!.error as { code: string }).code, "rate_limited");
    await client.close();
    const res = await post(server, "/v1/chat/completions", {
      messages: [{ role: "user", content: "hi" }],
    });
    assert.equal(res.status, 502);
    await res.body?.cancel();
    const after = await scrape(server.http);
    const d = (series: string) => delta(before, after, series);
    assert.equal(d('yychat_upstream_errors_total{code="rate_limited"}'), 1);
    assert.equal(d('yychat_upstream_errors_total{code="upstream_error"}'), 1);
    assert.equal(d('yychat_generations_total{door="ws",outcome="error"}'), 1);
    assert.equal(d('yychat_generations_total{door="rest",outcome="error"}'), 1);
    assert.equal(d('yychat_errors_total{code="rate_limited"}'), 1, "the WS error event");
    assert.equal(d('yychat_errors_total{code="upstream_error"}'), 1, "the REST 502");
  } finally {
    await server.close();
    await mock.close();
  }
});

/** Every label value of every series, e.g. `type=ping`. */
function labelPairs(samples: Samples): Set<string> {
  const out = new Set<string>();
  for (const key of samples.keys()) {
    for (const m of key.matchAll(/([a-z_]+)="((?:[^"\\]|\\.)*)"/g)) out.add(`${m[1]}=${m[2]}`);
  }
  return out;
}

Deno.test("label sets stay bounded under hostile message types, paths and methods", async () => {
  const server = await startTestServer({ LOG_LEVEL: "silent", WS_MESSAGES_PER_SECOND: "0" });
  const hostile = async (rounds: number) => {
    const { client } = await TestClient.connect(server.ws);
    for (let i = 0; i < rounds; i++) {
      const junk = `evil-${crypto.randomUUID()}`;
      client.send({ type: junk });
      client.send({ type: 12 });
      client.send(`{"type":"${junk}`);
      await client.next();
      await client.next();
      await client.next();
      for (
        const [method, path] of [
          ["GET", `/${junk}`],
          ["GET", `/v1/${junk}`],
          ["DELETE", `/v1/conversations/${junk}/memory`],
          ["GET", `/docs/${junk}`],
          [junk.slice(0, 12).toUpperCase().replaceAll("-", ""), `/v1/models/${junk}`],
          ["PUT", "/health"],
        ]
      ) {
        const res = await fetch(`${server.http}${path}`, { method });
        await res.body?.cancel();
      }
    }
    await client.close();
    await waitFor(() => server.app.supervisor.size === 0, 5000, "the connection to close");
    return await scrape(server.http);
  };
  try {
    await scrape(server.http); // a scrape is counted after it is answered: count one first
    const few = await hostile(3);
    const many = await hostile(40);
    assert.deepEqual(
      [...labelPairs(many)].filter((p) => !labelPairs(few).has(p)),
      [],
      "40 more rounds of new junk added no label value",
    );
    assert.equal(many.size, few.size, "no new series");
    for (const value of labelPairs(many)) assert.ok(!value.includes("evil"), value);
    const known = [...REST_ROUTES.map((r) => r.path.replace(/\(.*\)/, "")), ...HTTP_ROUTES];
    for (const route of labelValues(many, "yychat_http_requests_total", "route")) {
      assert.ok(route === "other" || known.includes(route), `route label ${route}`);
    }
    assert.deepEqual(
      labelValues(many, "yychat_ws_messages_total", "type"),
      new Set([
        "audio_input",
        "auth",
        "cancel",
        "get_status",
        "heartbeat",
        "invalid",
        "ping",
        "resume",
        "text_message",
      ]),
    );
    assert.ok(many.get('yychat_ws_messages_total{type="invalid"}')! >= 3 * 43);
    assert.ok(many.get('yychat_http_requests_total{route="other",method="GET",status="404"}')! > 0);
    assert.ok(seriesOf(many, "yychat_http_requests_total").length < 30);
  } finally {
    await server.close();
  }
});

Deno.test("GET /metrics needs the key when one is set, unless METRICS_PUBLIC=true", async (t) => {
  const key = "sk-metrics-test-1234";
  for (const metricsPublic of [false, true]) {
    const server = await startTestServer({
      LOG_LEVEL: "silent",
      YYCHAT_API_KEY: key,
      ...(metricsPublic ? { METRICS_PUBLIC: "true" } : {}),
    });
    try {
      await t.step(`METRICS_PUBLIC=${metricsPublic}`, async () => {
        const anonymous = await fetch(`${server.http}/metrics`);
        const wrong = await fetch(`${server.http}/metrics`, {
          headers: { authorization: "Bearer sk-wrong" },
        });
        const right = await fetch(`${server.http}/metrics`, {
          headers: { authorization: `Bearer ${key}` },
        });
        assert.equal(right.status, 200);
        assert.equal(right.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8");
        assert.match(await right.text(), /^# HELP yychat_ws_connections /m);
        if (metricsPublic) {
          assert.equal(anonymous.status, 200);
          assert.equal(wrong.status, 200, "a public endpoint ignores the header");
          await anonymous.body?.cancel();
          await wrong.body?.cancel();
        } else {
          assert.equal(anonymous.status, 401);
          assert.equal(anonymous.headers.get("www-authenticate"), 'Bearer realm="yychat"');
          assert.equal((await anonymous.json()).error.code, "invalid_api_key");
          assert.equal(wrong.status, 401);
          assert.equal((await wrong.json()).error.code, "invalid_api_key");
        }
        for (const path of ["/openapi.json", "/docs"]) {
          const res = await fetch(`${server.http}${path}`);
          assert.equal(res.status, 200, `${path} is public`);
          await res.body?.cancel();
        }
        const post = await fetch(`${server.http}/metrics`, { method: "POST" });
        assert.equal(post.status, 405);
        assert.equal(post.headers.get("allow"), "GET, HEAD");
        await post.body?.cancel();
      });
    } finally {
      await server.close();
    }
  }
});

Deno.test("yychat_mcp_servers counts the configured MCP servers by state", async () => {
  const dir = await Deno.makeTempDir({ prefix: "yychat-mcp-metrics-" });
  const config = `${dir}/mcp.json`;
  await Deno.writeTextFile(
    config,
    JSON.stringify({
      mcpServers: {
        everything: {
          command: "npx",
          args: ["-y", "@modelcontextprotocol/server-everything", "stdio"],
        },
        broken: { command: `${dir}/no-such-program` },
      },
    }),
  );
  const server = await startTestServer({ LOG_LEVEL: "silent", YYCHAT_MCP_CONFIG: config });
  try {
    const mcp = server.app.services.mcp;
    await waitFor(
      () => mcp.servers().some((s) => s.name === "everything" && s.state === "connected"),
      60_000,
      "server-everything to connect",
    );
    const s = await scrape(server.http);
    assert.equal(s.get('yychat_mcp_servers{state="connected"}'), 1, "the broken one never is");
    const total = ["connecting", "connected", "failed", "closed"]
      .reduce((n, state) => n + s.get(`yychat_mcp_servers{state="${state}"}`)!, 0);
    assert.equal(total, 2);
  } finally {
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "promtool check metrics accepts the output of a server that served traffic",
  ignore: !hasPromtool,
  fn: async () => {
    const server = await startTestServer({ LOG_LEVEL: "silent" });
    try {
      const { client } = await TestClient.connect(server.ws);
      client.send({ type: "text_message", content: "what is 6 * 7?" });
      await client.until("stream_end", 10_000);
      client.send({ type: "bogus" });
      await client.next();
      await client.close();
      for (const path of ["/v1/models", "/v1/nope", "/health", "/openapi.json"]) {
        const res = await fetch(server.http + path);
        await res.body?.cancel();
      }
      const text = await (await fetch(`${server.http}/metrics`)).text();
      assert.match(text, /yychat_generations_total\{door="ws",outcome="stop"\} 1/);
      const { code, output } = await promtoolCheck(text);
      assert.equal(code, 0, output);
    } finally {
      await server.close();
    }
  },
});
