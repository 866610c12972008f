/**
 * Soak: mixed WebSocket traffic (pings, streams, cancels, tool calls,
 * injected provider faults, reconnects) at a bounded rate against `main.ts`
 * run as a child process with the scripted OpenAI mock. Samples the server's
 * RSS from /proc every 10 s; prints RSS growth after warm-up, error counts
 * and ping / stream latency p50/p99 per minute, then a JSON summary.
 *
 *   deno task reliability:soak [--minutes N] [--users N] [--seed N]
 */
import { parseArgs } from "node:util";
import { startServerProcess } from "../../tests/helpers/server_process.ts";
import { machine, mib, rssBytes } from "../../tests/helpers/proc.ts";
import { Rng } from "../../tests/reliability/lib/rng.ts";
import {
  providerEnv,
  startScriptedProvider,
} from "../../tests/reliability/lib/scripted_provider.ts";
import { sleep, summarize } from "../../tests/reliability/lib/stats.ts";
import { newTrafficStats, virtualUser } from "../../tests/reliability/lib/traffic.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    minutes: { type: "string", default: "10" },
    users: { type: "string", default: "16" },
    seed: { type: "string" },
    "pause-ms": { type: "string", default: "100" },
  },
});
const minutes = Number(values.minutes);
const users = Number(values.users);
const seed = Rng.seedFrom(values.seed);
const pauseMs = Number(values["pause-ms"]);

console.log(JSON.stringify({ bench: "soak", minutes, users, pauseMs, seed, ...machine() }));
const mock = await startScriptedProvider();
const server = await startServerProcess({
  ...providerEnv(mock),
  // startServerProcess waits for the info-level "listening" line.
  LOG_LEVEL: "info",
  WS_MAX_CONNECTIONS: "1000",
  WS_MAX_CONNECTIONS_PER_IP: "1000",
});
const pid = server.child.pid;
const stats = newTrafficStats();
const rssSamples: { atS: number; rss: number }[] = [];
const started = performance.now();
const deadlineMs = started + minutes * 60_000;
let sampling = true;
const sampler = (async () => {
  while (sampling) {
    rssSamples.push({ atS: Math.round((performance.now() - started) / 1000), rss: rssBytes(pid) });
    const last = rssSamples.at(-1)!;
    console.log(
      `t=${last.atS}s rss=${mib(last.rss)} ops=${
        Object.values(stats.ops).reduce((a, b) => a + b, 0)
      } errors=${stats.errors.length} injected=${stats.injected}`,
    );
    for (let i = 0; i < 100 && sampling; i++) await sleep(100);
  }
})();

const rng = new Rng(seed);
await Promise.all(
  Array.from({ length: users }, (_, i) =>
    virtualUser({
      url: server.ws,
      rng: new Rng(seed + i + 1),
      stats,
      deadlineMs,
      pauseMs: pauseMs + rng.int(0, pauseMs),
      opsPerConnection: 25,
      conversations: 50,
    })),
);
sampling = false;
await sampler;
const rssEnd = rssBytes(pid);
const exit = await server.stop("SIGTERM");
await mock.close();

const perMinute: Record<string, unknown>[] = [];
for (let m = 0; m < Math.ceil(minutes); m++) {
  const inMinute = (s: [number, number][]) =>
    s.filter(([at]) => at - started >= m * 60_000 && at - started < (m + 1) * 60_000).map((
      [, ms],
    ) => ms);
  perMinute.push({
    minute: m + 1,
    ping: summarize(inMinute(stats.ping)),
    stream: summarize(inMinute(stats.stream)),
    errors: stats.errors.filter((e) =>
      e.atMs - started >= m * 60_000 && e.atMs - started < (m + 1) * 60_000
    ).length,
  });
}
const warm = rssSamples.find((s) => s.atS >= Math.min(60, minutes * 30)) ?? rssSamples[0]!;
const peak = Math.max(rssEnd, ...rssSamples.map((s) => s.rss));
const summary = {
  seed,
  minutes,
  users,
  ops: stats.ops,
  total_ops: Object.values(stats.ops).reduce((a, b) => a + b, 0),
  reconnects: stats.reconnects,
  injected_faults: stats.injected,
  unexpected_errors: stats.errors.length,
  first_errors: stats.errors.slice(0, 10),
  rss_start_mib: +(rssSamples[0]!.rss / 2 ** 20).toFixed(1),
  rss_after_warmup_mib: +(warm.rss / 2 ** 20).toFixed(1),
  rss_end_mib: +(rssEnd / 2 ** 20).toFixed(1),
  rss_peak_mib: +(peak / 2 ** 20).toFixed(1),
  rss_growth_after_warmup_pct: +(((rssEnd - warm.rss) / warm.rss) * 100).toFixed(1),
  rss_samples_mib: rssSamples.map((s) => [s.atS, +(s.rss / 2 ** 20).toFixed(1)]),
  per_minute: perMinute,
  server_exit_code: exit,
};
console.log(JSON.stringify(summary, null, 2));
