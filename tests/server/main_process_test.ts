import assert from "node:assert/strict";
import { runServerExpectingExit, startServerProcess } from "../helpers/server_process.ts";
import { TestClient } from "../helpers/ws_client.ts";
import { hasPythonWebsockets, PYTHON } from "../helpers/python.ts";
import { OpenAIMock, textReply } from "../helpers/openai_mock.ts";

async function runPythonClient(
  url: string,
  ...flags: string[]
): Promise<Record<string, unknown>[]> {
  const out = await new Deno.Command(PYTHON, {
    args: [new URL("../fixtures/stage1_client.py", import.meta.url).pathname, url, ...flags],
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(30_000),
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  assert.ok(out.success, `python client failed: ${new TextDecoder().decode(out.stderr)}`);
  return text.trim().split("\n").map((l) => JSON.parse(l));
}

Deno.test({
  name: "main.ts serves an unchanged stage-1 Python client (python3-websockets)",
  ignore: !hasPythonWebsockets,
  async fn() {
    const server = await startServerProcess();
    try {
      const steps = await runPythonClient(server.ws);
      const byStep: Record<string, Record<string, unknown>> = Object.fromEntries(
        steps.map((s) => [s.step, s.event as Record<string, unknown>]),
      );
      const clientId = byStep.connect!.client_id;
      assert.equal(byStep.connect!.type, "connection_established");
      assert.equal(byStep.heartbeat!.type, "heartbeat_response");
      assert.equal(byStep.ping!.type, "pong");
      assert.equal(byStep.get_status!.type, "status_response");
      for (const e of Object.values(byStep)) {
        assert.equal(e.client_id, clientId);
        assert.equal(typeof e.timestamp, "number");
      }
      const data = byStep.get_status!.data as Record<string, number>;
      assert.equal(data.active_connections, 1);
      assert.equal(data.max_connections, 100);
    } finally {
      assert.equal(await server.stop(), 0);
    }
  },
});

Deno.test({
  name: "main.ts streams a stage-1 text_message to the Python client on the offline provider",
  ignore: !hasPythonWebsockets,
  async fn() {
    const server = await startServerProcess();
    try {
      const steps = await runPythonClient(server.ws, "--text");
      const events = steps.find((s) => s.step === "text_message")!.events as Record<
        string,
        unknown
      >[];
      const types = events.map((e) => e.type);
      assert.deepEqual(types.slice(0, 2), ["processing_start", "stream_start"]);
      assert.equal(types.at(-1), "stream_end");
      assert.ok(types.slice(2, -1).every((t) => t === "stream_chunk") && types.length > 4);
      const text = events.filter((e) => e.type === "stream_chunk").map((e) => e.content).join("");
      assert.equal(events.at(-1)!.full_content, text);
      assert.match(text, /offline/);
    } finally {
      assert.equal(await server.stop(), 0);
    }
  },
});

Deno.test("main.ts on SIGTERM closes clients with 1001 and exits 0", async () => {
  const server = await startServerProcess({ SHUTDOWN_GRACE_PERIOD: "1" });
  const { client } = await TestClient.connect(server.ws);
  const code = await server.stop("SIGTERM");
  assert.equal((await client.next()).type, "server_shutdown");
  assert.equal((await client.closed).code, 1001);
  assert.equal(code, 0);
  const events = server.lines.map((l) => JSON.parse(l).event);
  assert.ok(events.includes("shutdown") && events.at(-1) === "stopped", events.join(","));
});

Deno.test("main.ts refuses to start on bad configuration, naming the variable", async (t) => {
  const cases: [string, Record<string, string>, RegExp][] = [
    [
      "non-numeric limit",
      { WS_MAX_CONNECTIONS: "lots" },
      /WS_MAX_CONNECTIONS must be an integer from 1 to/,
    ],
    [
      "port out of range",
      { SERVER_PORT: "70000" },
      /SERVER_PORT must be an integer from 0 to 65535/,
    ],
    [
      "negative timeout",
      { WS_CONNECTION_TIMEOUT: "-5" },
      /WS_CONNECTION_TIMEOUT must be a number of seconds/,
    ],
    ["bad log level", { LOG_LEVEL: "loud" }, /LOG_LEVEL must be one of/],
    [
      "public bind without a key",
      { SERVER_HOST: "0.0.0.0" },
      /Refusing to listen on 0\.0\.0\.0 without YYCHAT_API_KEY/,
    ],
  ];
  for (const [name, env, message] of cases) {
    await t.step(name, async () => {
      const { code, output } = await runServerExpectingExit({ LOG_LEVEL: "info", ...env });
      assert.equal(code, 2, output);
      assert.match(output, message);
    });
  }
});

Deno.test("main.ts says loudly that authentication is off without a key", async () => {
  const server = await startServerProcess();
  try {
    const warning = server.lines.map((l) => JSON.parse(l)).find((l) => l.event === "auth_disabled");
    assert.match(warning?.message ?? "", /authentication is OFF/);
  } finally {
    await server.stop();
  }
});

Deno.test("main.ts reports an unusable MCP config file clearly and exits 1", async () => {
  const dir = await Deno.makeTempDir({ prefix: "yychat-badmcp-" });
  try {
    await Deno.writeTextFile(`${dir}/mcp.json`, "{not json");
    const { code, output } = await runServerExpectingExit({
      LOG_LEVEL: "info",
      YYCHAT_MCP_CONFIG: `${dir}/mcp.json`,
      YYCHAT_DATA_DIR: dir,
    });
    assert.equal(code, 1, output);
    const failure = output.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l))
      .find((l) => l.event === "startup_failed");
    assert.match(failure?.error ?? "", /Invalid MCP config ".*mcp\.json"/);
    assert.doesNotMatch(output, /Uncaught| {4}at /, "no stack trace");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "main.ts: an independent Python client drops its socket mid-reply and resumes it",
  ignore: !hasPythonWebsockets,
  async fn(t) {
    const mock = await OpenAIMock.start();
    const words = Array.from({ length: 30 }, (_, i) => `word${i} `);
    const server = await startServerProcess({
      OPENAI_BASE_URL: mock.baseUrl,
      OPENAI_API_KEY: "sk-test-provider",
    });
    try {
      for (const mode of ["clean", "abrupt"]) {
        await t.step(`${mode} disconnect`, async () => {
          mock.enqueue(
            textReply(words.join(""), { chunkDelayMs: 30 }),
            textReply(words.join(""), { chunkDelayMs: 1 }),
          );
          const out = await new Deno.Command(PYTHON, {
            args: [
              new URL("../fixtures/resume_client.py", import.meta.url).pathname,
              server.ws,
              mode,
            ],
            stdout: "piped",
            stderr: "piped",
            signal: AbortSignal.timeout(30_000),
          }).output();
          assert.ok(out.success, new TextDecoder().decode(out.stderr));
          const { first, second, undisturbed } = JSON.parse(
            new TextDecoder().decode(out.stdout),
          ) as Record<string, Record<string, unknown>[]>;
          assert.equal(second![0]!.type, "resume_ok");
          const resumed = [...first!, ...second!.slice(1)];
          const seqs = resumed.map((e) => Number(e.seq));
          assert.deepEqual(seqs, seqs.map((_, i) => i + 1), "no seq missing, none twice");
          const text = (events: Record<string, unknown>[]) =>
            events.filter((e) => e.type === "stream_chunk").map((e) => e.content).join("");
          assert.equal(text(resumed), text(undisturbed!), "what an undisturbed client got");
          assert.equal(resumed.at(-1)!.full_content, undisturbed!.at(-1)!.full_content);
          assert.equal(text(resumed), words.join(""));
        });
      }
    } finally {
      assert.equal(await server.stop(), 0);
      await mock.close();
    }
  },
});
