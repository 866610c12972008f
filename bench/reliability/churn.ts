/**
 * Long churn run against `main.ts` as a child process: 20,000 connections
 * (2,000 without `--long`) opened and closed in bursts, 5% dropped over raw
 * TCP mid-stream. Reports the server's registry, descriptors and RSS from
 * /proc before and after.
 *
 *   deno task reliability:churn [--long] [--connections N] [--burst N] [--seed N]
 */
import { parseArgs } from "node:util";
import { startServerProcess } from "../../tests/helpers/server_process.ts";
import { runChurn } from "../../tests/reliability/lib/churn.ts";
import { fdCount, machine, mib, rssBytes } from "../../tests/helpers/proc.ts";
import { Rng } from "../../tests/reliability/lib/rng.ts";
import {
  providerEnv,
  startScriptedProvider,
} from "../../tests/reliability/lib/scripted_provider.ts";
import { sleep } from "../../tests/reliability/lib/stats.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    long: { type: "boolean", default: false },
    connections: { type: "string" },
    burst: { type: "string", default: "200" },
    seed: { type: "string" },
  },
});
const connections = Number(values.connections ?? (values.long ? 20_000 : 2_000));
const burst = Number(values.burst);
const seed = Rng.seedFrom(values.seed);
console.log(JSON.stringify({ bench: "churn", connections, burst, seed, ...machine() }));

const mock = await startScriptedProvider();
const server = await startServerProcess({
  ...providerEnv(mock),
  WS_MAX_CONNECTIONS: "2000",
  WS_MAX_CONNECTIONS_PER_IP: "2000",
  WS_HEARTBEAT_INTERVAL: "1",
});
const pid = server.child.pid;
const port = server.port;
const status = async () => (await (await fetch(`${server.http}/ws/status`)).json()).data;
const settle = async () => {
  for (let i = 0; i < 300 && (await status()).active_connections > 0; i++) await sleep(100);
};
try {
  await runChurn({
    ws: server.ws,
    port,
    rng: new Rng(seed ^ 1),
    connections: 200,
    burst: 100,
    abruptRatio: 0.05,
  });
  await settle();
  await sleep(2000);
  const before = {
    rss: rssBytes(pid),
    fds: fdCount(pid),
    total: (await status()).total_connections,
  };
  let peakFds = before.fds;
  let peakRss = before.rss;
  const r = await runChurn({
    ws: server.ws,
    port,
    rng: new Rng(seed),
    connections,
    burst,
    abruptRatio: 0.05,
    onBurst: (done) => {
      peakFds = Math.max(peakFds, fdCount(pid));
      peakRss = Math.max(peakRss, rssBytes(pid));
      if (done % 2000 === 0) {
        console.log(`${done} connections, server fds ${fdCount(pid)}, rss ${mib(rssBytes(pid))}`);
      }
    },
  });
  const settleT0 = performance.now();
  await settle();
  const settleMs = Math.round(performance.now() - settleT0);
  const streamsOpen = () =>
    mock.completionRequests.filter((q) => !q.aborted && !q.completed).length;
  for (let i = 0; i < 100 && streamsOpen() > 0; i++) await sleep(100);
  await sleep(5000);
  const st = await status();
  console.log(JSON.stringify(
    {
      seed,
      connections: r.opened,
      dropped_mid_stream: r.abrupt,
      failures: r.failures,
      first_failures: r.firstFailures.slice(0, 3),
      seconds: +(r.durationMs / 1000).toFixed(1),
      connections_per_second: Math.round(r.opened / (r.durationMs / 1000)),
      accepted_by_server: st.total_connections - before.total,
      active_after: st.active_connections,
      settle_ms: settleMs,
      provider_streams: mock.completionRequests.length,
      provider_streams_still_open: streamsOpen(),
      fds_before: before.fds,
      fds_peak: peakFds,
      fds_after: fdCount(pid),
      rss_before: mib(before.rss),
      rss_peak: mib(peakRss),
      rss_after: mib(rssBytes(pid)),
    },
    null,
    1,
  ));
} finally {
  console.log(`server exit code ${await server.stop("SIGTERM")}`);
  await mock.close();
}
