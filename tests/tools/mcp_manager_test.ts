/**
 * McpManager against real MCP servers: `@modelcontextprotocol/server-everything`
 * from npm (stdio, Streamable HTTP and SSE) and a small Deno fixture server
 * for behaviour server-everything cannot trigger (list changes, crashes).
 * Needs `npx` with the package in its cache (first run downloads it).
 */
import assert from "node:assert/strict";
import { descendants } from "../helpers/proc.ts";
import { McpManager, type McpManagerOptions } from "../../src/tools/mcp_manager.ts";
import type { McpServerConfig } from "../../src/tools/mcp_config.ts";

const FIXTURE = new URL("./fixtures/mcp_dynamic_server.ts", import.meta.url).pathname;
const DENO_CONFIG = new URL("../../deno.json", import.meta.url).pathname;

let binCache: string | undefined;
/** Path of server-everything's entry script, so tests run `node` directly (no npx wrapper). */
async function everythingBin(): Promise<string> {
  if (binCache) return binCache;
  const out = await new Deno.Command("npx", {
    args: [
      "-y",
      "-p",
      "@modelcontextprotocol/server-everything",
      "-c",
      "command -v mcp-server-everything",
    ],
    stdout: "piped",
    stderr: "null",
  }).output();
  const path = new TextDecoder().decode(out.stdout).trim();
  assert.ok(out.success && path, "npx could not provide @modelcontextprotocol/server-everything");
  binCache = await Deno.realPath(path);
  return binCache;
}

async function everythingStdio(name = "everything"): Promise<McpServerConfig> {
  return { name, transport: "stdio", command: "node", args: [await everythingBin(), "stdio"] };
}

function fixtureStdio(name = "fixture"): McpServerConfig {
  return {
    name,
    transport: "stdio",
    command: Deno.execPath(),
    args: ["run", "--quiet", "--allow-all", "--config", DENO_CONFIG, FIXTURE],
  };
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** Starts server-everything over HTTP on 127.0.0.1 and waits until it listens. */
async function startHttpEverything(mode: "streamableHttp" | "sse", port = freePort()) {
  const child = new Deno.Command("node", {
    args: [await everythingBin(), mode],
    env: { PORT: String(port) },
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  const deadline = Date.now() + 15_000;
  while (!/port \d+/i.test(seen)) {
    assert.ok(Date.now() < deadline, `server-everything ${mode} did not start: ${seen}`);
    const { value, done } = await reader.read();
    if (done) break;
    seen += value;
  }
  // Keep draining stderr so the server never blocks on a full pipe.
  const drained = (async () => {
    while (!(await reader.read()).done) { /* discard */ }
  })();
  return {
    url: `http://127.0.0.1:${port}/${mode === "sse" ? "sse" : "mcp"}`,
    async stop() {
      try {
        child.kill("SIGTERM");
      } catch { /* already exited */ }
      await child.status;
      await drained;
    },
  };
}

async function withManager(
  options: McpManagerOptions,
  fn: (manager: McpManager) => Promise<void>,
): Promise<void> {
  const manager = new McpManager({ connectTimeoutMs: 20_000, ...options });
  try {
    await manager.start();
    await fn(manager);
  } finally {
    await manager.close();
  }
}

async function until(what: string, ok: () => boolean | Promise<boolean>, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await ok())) {
    assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const signal = () => new AbortController().signal;

Deno.test("McpManager lists server-everything tools over stdio with full schemas and calls them", async () => {
  await withManager({ servers: [await everythingStdio()] }, async (manager) => {
    const tools = manager.list();
    const names = tools.map((t) => t.name);
    for (const expected of ["echo", "get-sum", "trigger-long-running-operation"]) {
      assert.ok(names.includes(expected), `missing ${expected} in ${names}`);
    }
    const sum = tools.find((t) => t.name === "get-sum")!;
    assert.equal(sum.description, "Returns the sum of two numbers");
    assert.deepEqual(sum.parameters.properties, {
      a: { type: "number", description: "First number" },
      b: { type: "number", description: "Second number" },
    });
    assert.deepEqual(sum.parameters.required, ["a", "b"]);
    assert.equal(sum.parameters.type, "object");

    assert.equal(
      await manager.call("echo", { message: "你好 yychat" }, { signal: signal() }),
      "Echo: 你好 yychat",
    );
    assert.equal(
      await manager.call("get-sum", { a: 2, b: 40 }, { signal: signal() }),
      "The sum of 2 and 40 is 42.",
    );
    const structured = await manager.call("get-structured-content", { location: "New York" }, {
      signal: signal(),
    });
    assert.equal(typeof (structured as { temperature: unknown }).temperature, "number");
    await assert.rejects(() => manager.call("nope", {}, { signal: signal() }), RangeError);

    const [status] = manager.servers();
    assert.equal(status!.state, "connected");
    assert.equal(status!.toolCount, tools.length);
    assert.equal(status!.lastError, undefined);
  });
});

Deno.test("McpManager talks to server-everything over Streamable HTTP and SSE", async (t) => {
  const cases: ["streamableHttp" | "sse", McpServerConfig["transport"]][] = [
    ["streamableHttp", "http"],
    ["streamableHttp", "auto"],
    ["sse", "sse"],
    ["sse", "auto"],
  ];
  for (const [mode, transport] of cases) {
    await t.step(`${mode} as "${transport}"`, async () => {
      const http = await startHttpEverything(mode);
      try {
        const server = {
          name: "remote",
          transport,
          url: http.url,
          headers: { "X-Test": "1" },
        } as McpServerConfig;
        await withManager({ servers: [server] }, async (manager) => {
          assert.equal(manager.servers()[0]!.state, "connected", manager.servers()[0]!.lastError);
          const sum = manager.list().find((t) => t.name === "get-sum");
          assert.deepEqual(sum?.parameters.required, ["a", "b"]);
          assert.equal(
            await manager.call("echo", { message: "over http" }, { signal: signal() }),
            "Echo: over http",
          );
        });
      } finally {
        await http.stop();
      }
    });
  }
});

Deno.test("McpManager keeps working servers when another fails, and retries it with backoff", async () => {
  const started = performance.now();
  await withManager({
    servers: [
      {
        name: "broken",
        transport: "stdio",
        command: "/nonexistent/yychat-no-such-server",
        args: [],
      },
      { name: "down", transport: "http", url: `http://127.0.0.1:${freePort()}/mcp` },
      await everythingStdio(),
    ],
    retry: { initialDelayMs: 20, maxDelayMs: 40, maxAttempts: 3 },
  }, async (manager) => {
    assert.ok(performance.now() - started < 15_000);
    assert.equal(
      await manager.call("echo", { message: "still here" }, { signal: signal() }),
      "Echo: still here",
    );
    const byName = Object.fromEntries(manager.servers().map((s) => [s.name, s]));
    assert.equal(byName.everything!.state, "connected");
    assert.equal(byName.broken!.state, "failed");
    assert.match(byName.broken!.lastError!, /ENOENT|not found|No such file/i);
    assert.equal(byName.broken!.toolCount, 0);
    assert.equal(byName.down!.state, "failed");
    // Background retries are bounded: it gives up after maxAttempts.
    await until(
      "three attempts",
      () => manager.servers().every((s) => s.state === "connected" || s.failures === 3),
    );
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(manager.servers().find((s) => s.name === "broken")!.failures, 3);
  });
});

Deno.test("McpManager.start() is bounded by the connect timeout when a server never answers", async () => {
  const t0 = performance.now();
  await withManager({
    servers: [
      { name: "mute", transport: "stdio", command: "sleep", args: ["60"] },
      fixtureStdio(),
    ],
    // Long enough for the fixture (a `deno run` child) to start on a loaded
    // machine, far below the 60 s the mute server would hold start() for.
    connectTimeoutMs: 3000,
    retry: { maxAttempts: 1 },
  }, async (manager) => {
    const elapsedMs = performance.now() - t0;
    assert.ok(elapsedMs < 15_000, `start() took ${elapsedMs} ms`);
    const byName = Object.fromEntries(manager.servers().map((s) => [s.name, s]));
    assert.equal(byName.mute!.state, "failed");
    assert.match(byName.mute!.lastError!, /timed out after 3000 ms/);
    assert.equal(byName.fixture!.state, "connected");
    assert.equal(
      await manager.call("echo", { message: "ok" }, { signal: signal() }),
      "fixture: ok",
    );
  });
  // The silent child was killed, not left behind.
  if (Deno.build.os === "linux") assert.deepEqual(descendants("sleep 60"), []);
});

Deno.test("McpManager prefixes colliding tool names with the server name", async () => {
  await withManager({
    servers: [await everythingStdio(), fixtureStdio()],
    reservedNames: ["get-sum"],
  }, async (manager) => {
    const names = manager.list().map((t) => t.name);
    assert.ok(names.includes("everything__echo"), names.join());
    assert.ok(names.includes("fixture__echo"), names.join());
    assert.ok(!names.includes("echo"));
    assert.ok(names.includes("everything__get-sum"), "reserved built-in name is prefixed");
    assert.ok(names.includes("get-tiny-image"), "unique names are kept");
    assert.ok(names.includes("pid"));
    assert.equal(
      await manager.call("fixture__echo", { message: "x" }, { signal: signal() }),
      "fixture: x",
    );
    assert.equal(
      await manager.call("everything__echo", { message: "x" }, { signal: signal() }),
      "Echo: x",
    );
  });
});

Deno.test("McpManager offers only valid, unique names and calls the real tool behind each", async () => {
  const tricky = [
    "github.search",
    "github/search",
    "say hello",
    "天气",
    "🔥fire",
    "a".repeat(64),
    "b".repeat(65),
    "c".repeat(200),
    "calculator",
  ];
  const config = {
    ...fixtureStdio("my server"),
    env: { FIXTURE_TOOL_NAMES: JSON.stringify(tricky) },
  };
  await withManager(
    { servers: [config], reservedNames: ["calculator", "gettime"] },
    async (manager) => {
      const tools = manager.list();
      const offered = tools.map((t) => t.name);
      for (const name of offered) assert.match(name, /^[a-zA-Z0-9_-]{1,64}$/);
      assert.equal(new Set([...offered, "calculator", "gettime"]).size, offered.length + 2);
      for (const real of tricky) {
        const tool = tools.find((t) => t.mcpName === real);
        assert.ok(tool, `${real} is offered`);
        assert.equal(tool.server, "my server");
        assert.equal(
          await manager.call(tool.name, {}, { signal: signal() }),
          `called ${JSON.stringify(real)}`,
          `${tool.name} reaches ${real}`,
        );
      }
      const byReal = (real: string) => tools.find((t) => t.mcpName === real)!.name;
      assert.equal(byReal("say hello"), "say_hello");
      assert.equal(byReal("a".repeat(64)), "a".repeat(64));
      assert.equal(byReal("calculator"), "my_server__calculator");
      assert.equal(byReal("echo"), "echo");
    },
  );
});

Deno.test("McpManager.call() times out and aborts a slow tool without breaking the server", async (t) => {
  await withManager({ servers: [await everythingStdio()], callTimeoutMs: 300 }, async (manager) => {
    const args = { duration: 10, steps: 5 };
    await t.step("timeout", async () => {
      const t0 = performance.now();
      await assert.rejects(
        () => manager.call("trigger-long-running-operation", args, { signal: signal() }),
        /timed out after 300 ms/,
      );
      assert.ok(performance.now() - t0 < 3000);
    });
    await t.step("abort", async () => {
      const ac = new AbortController();
      const timer = setTimeout(() => ac.abort(), 150);
      const t0 = performance.now();
      await assert.rejects(
        () =>
          manager.call("trigger-long-running-operation", args, {
            signal: ac.signal,
            timeoutMs: 20_000,
          }),
        /cancelled/,
      );
      clearTimeout(timer);
      assert.ok(performance.now() - t0 < 3000);
    });
    await t.step("already aborted", async () => {
      await assert.rejects(() =>
        manager.call("echo", { message: "x" }, { signal: AbortSignal.abort() })
      );
    });
    assert.equal(
      await manager.call("echo", { message: "after" }, { signal: signal() }),
      "Echo: after",
    );
    assert.equal(manager.servers()[0]!.state, "connected");
  });
});

Deno.test("McpManager.call() throws the tool's own text when it reports isError", async () => {
  await withManager({ servers: [fixtureStdio()] }, async (manager) => {
    await assert.rejects(() => manager.call("fail", {}, { signal: signal() }), (err: unknown) => {
      assert.ok(err instanceof Error);
      assert.equal(err.message, 'Boom: bad input "x"');
      return true;
    });
  });
});

Deno.test("McpManager re-lists tools on notifications/tools/list_changed", async () => {
  await withManager({ servers: [fixtureStdio()] }, async (manager) => {
    assert.ok(!manager.list().some((t) => t.name === "late_tool"));
    await manager.call("add_tool", { name: "late_tool" }, { signal: signal() });
    await until("late_tool listed", () => manager.list().some((t) => t.name === "late_tool"));
    assert.equal(manager.servers()[0]!.toolCount, 6);
  });
});

Deno.test("McpManager reconnects when a stdio server exits", async () => {
  await withManager({
    servers: [fixtureStdio()],
    retry: { initialDelayMs: 50, maxDelayMs: 200, maxAttempts: 5 },
  }, async (manager) => {
    const before = await manager.call("pid", {}, { signal: signal() });
    await manager.call("exit", {}, { signal: signal() });
    await until("a new server process", async () => {
      if (manager.servers()[0]!.state !== "connected") return false;
      try {
        return (await manager.call("pid", {}, { signal: signal() })) !== before;
      } catch {
        return false;
      }
    }, 20_000);
    assert.deepEqual(manager.list().map((t) => t.name).sort(), [
      "add_tool",
      "echo",
      "exit",
      "fail",
      "pid",
    ]);
  });
});

Deno.test("McpManager reconnects to a Streamable HTTP server that restarted", async () => {
  let http = await startHttpEverything("streamableHttp");
  const port = Number(new URL(http.url).port);
  try {
    await withManager({
      servers: [{ name: "remote", transport: "http", url: http.url }],
      retry: { initialDelayMs: 50, maxDelayMs: 200, maxAttempts: 50 },
    }, async (manager) => {
      assert.equal(await manager.call("echo", { message: "1" }, { signal: signal() }), "Echo: 1");
      await http.stop();
      await assert.rejects(() => manager.call("echo", { message: "2" }, { signal: signal() }));
      await until("server marked down", () => manager.servers()[0]!.state !== "connected");
      http = await startHttpEverything("streamableHttp", port);
      await until("reconnected", () => manager.servers()[0]!.state === "connected", 15_000);
      assert.equal(await manager.call("echo", { message: "3" }, { signal: signal() }), "Echo: 3");
    });
  } finally {
    await http.stop();
  }
});

Deno.test("McpManager backs off and gives up on a server that crashes after every connect", async () => {
  const crashing = { ...fixtureStdio("crashy"), env: { FIXTURE_EXIT_AFTER_MS: "300" } };
  await withManager({
    servers: [crashing],
    retry: { initialDelayMs: 20, maxDelayMs: 100, maxAttempts: 3 },
  }, async (manager) => {
    assert.equal(manager.servers()[0]!.state, "connected");
    await until(
      "gave up",
      () => /closed 3 time/.test(manager.servers()[0]!.lastError ?? ""),
      20_000,
    );
    await new Promise((r) => setTimeout(r, 800));
    const [status] = manager.servers();
    assert.equal(status!.state, "failed");
    assert.match(status!.lastError!, /closed 3 time\(s\) within 10000 ms/);
    assert.deepEqual(manager.list(), []);
  });
});

Deno.test({
  name: "McpManager.close() ends stdio servers started through npx, grandchildren included",
  ignore: Deno.build.os !== "linux",
  async fn() {
    const manager = new McpManager({
      servers: [{
        name: "everything",
        transport: "stdio",
        command: "npx",
        args: ["-y", "@modelcontextprotocol/server-everything"],
      }],
      connectTimeoutMs: 30_000,
    });
    try {
      await manager.start();
      assert.equal(manager.servers()[0]!.state, "connected", manager.servers()[0]!.lastError);
      assert.ok(descendants("server-everything").length >= 1);
    } finally {
      await manager.close();
    }
    await until(
      "children gone",
      () => descendants("server-everything").length === 0,
      5000,
    );
    assert.equal(manager.servers()[0]!.state, "closed");
    assert.deepEqual(manager.list(), []);
  },
});
