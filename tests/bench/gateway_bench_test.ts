/**
 * Correctness of the benchmark tooling (not a timed assertion): the load
 * client, in each mode, drives a real yychat app on a real socket and every
 * ping gets its pong, with no error events.
 */
import assert from "node:assert/strict";
import { loadSettings } from "../../config/settings.ts";
import { createApp } from "../../src/server/app.ts";
import { runLoad } from "../../bench/ws_load.ts";

Deno.test("runLoad() gets every pong from yychat in closed, pipelined and idle modes", async (t) => {
  const dataDir = await Deno.makeTempDir({ prefix: "yychat_bench_test_" });
  await Deno.writeTextFile(`${dataDir}/mcp.json`, '{"mcpServers":{}}');
  const app = await createApp(loadSettings({
    SERVER_PORT: "0",
    LOG_LEVEL: "silent",
    WS_MAX_CONNECTIONS: "500",
    WS_MAX_CONNECTIONS_PER_IP: "500",
    // The rate-limit middleware stays in the chain but never rejects.
    WS_MESSAGES_PER_SECOND: "1000000",
    YYCHAT_DATA_DIR: dataDir,
    YYCHAT_MCP_CONFIG: `${dataDir}/mcp.json`,
  }));
  const ac = new AbortController();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen: () => {} },
    app.handler,
  );
  const url = `ws://127.0.0.1:${server.addr.port}/ws/chat`;
  const common = { url, serverPid: Deno.pid, durationMs: 500, warmupMs: 100, timeoutMs: 10_000 };
  try {
    for (const client of ["raw", "ws"] as const) {
      for (const mode of ["closed", "pipelined"] as const) {
        await t.step(`${mode} loop, ${client} client`, async () => {
          const r = await runLoad({ ...common, mode, client, connections: 8, inflight: 4 });
          assert.equal(r.errors, 0, r.firstError);
          assert.equal(r.unanswered, 0);
          assert.ok(r.messages > 0, "no pong inside the measured window");
          assert.ok(r.serverCpuUsPerMsg !== undefined && r.serverCpuUsPerMsg > 0);
          if (mode === "closed") {
            assert.ok(r.latency !== undefined && r.latency.p50Ms <= r.latency.p99Ms);
          }
        });
      }
    }
    await t.step("idle connections are all held and RSS is read", async () => {
      const r = await runLoad({ ...common, mode: "idle", connections: 100, durationMs: 100 });
      assert.equal(r.errors, 0, r.firstError);
      assert.equal(r.rss?.held, 100);
      assert.ok(r.rss.beforeKiB > 0 && r.rss.afterKiB > 0);
    });
  } finally {
    ac.abort();
    await server.finished;
    await app.shutdown();
    await Deno.remove(dataDir, { recursive: true });
  }
});
