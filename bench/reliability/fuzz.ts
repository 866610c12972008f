/**
 * Long fuzz run against `main.ts` as a child process: seeded malformed
 * WebSocket frames (including unknown types that fill the size limit, defect
 * D1) and malformed REST requests; the server's RSS and descriptors from
 * /proc before, right after and 10 s after.
 *
 *   deno task reliability:fuzz [--long] [--frames N] [--seed N]
 */
import { parseArgs } from "node:util";
import { startServerProcess } from "../../tests/helpers/server_process.ts";
import { runFuzz } from "../../tests/reliability/lib/fuzz_driver.ts";
import { fdCount, machine, mib, rssBytes } from "../../tests/helpers/proc.ts";
import { runRestFuzz } from "../../tests/reliability/lib/rest_fuzz.ts";
import { Rng } from "../../tests/reliability/lib/rng.ts";
import { sleep } from "../../tests/reliability/lib/stats.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    long: { type: "boolean", default: false },
    frames: { type: "string" },
    seed: { type: "string" },
  },
});
const frames = Number(values.frames ?? (values.long ? 100_000 : 10_000));
const seed = Rng.seedFrom(values.seed);
const limit = 256 * 1024;
const maxRequestBytes = 256 * 1024;
console.log(JSON.stringify({ bench: "fuzz", frames, seed, limit, ...machine() }));

const server = await startServerProcess({
  WS_MESSAGES_PER_SECOND: "0",
  WS_MESSAGE_SIZE_LIMIT: String(limit),
  WS_MAX_CONNECTIONS: "1000",
  WS_MAX_CONNECTIONS_PER_IP: "1000",
  HTTP_MAX_REQUEST_BYTES: String(maxRequestBytes),
});
const pid = server.child.pid;
const active = async () =>
  (await (await fetch(`${server.http}/ws/status`)).json()).data.active_connections as number;
const settle = async () => {
  for (let i = 0; i < 100 && (await active()) > 0; i++) await sleep(100);
};
try {
  const common = { url: server.ws, maxMessageBytes: limit, oversizeRatio: 0.5, largeRatio: 0.03 };
  await runFuzz({
    ...common,
    seed: seed ^ 1,
    frames: 500,
    framesPerConnection: 100,
    concurrency: 4,
  });
  await settle();
  await sleep(2000);
  const before = { rss: rssBytes(pid), fds: fdCount(pid) };
  const t0 = performance.now();
  const ws = await runFuzz({
    ...common,
    seed,
    frames,
    framesPerConnection: 100,
    concurrency: 8,
    typeAtLimit: true,
  });
  const wsMs = performance.now() - t0;
  const rest = await runRestFuzz(server.http, new Rng(seed ^ 2), {
    count: Math.max(1000, frames / 10),
    concurrency: 8,
    maxRequestBytes,
  });
  await settle();
  const after = { rss: rssBytes(pid), fds: fdCount(pid), active: await active() };
  await sleep(10_000);
  const later = { rss: rssBytes(pid), fds: fdCount(pid) };
  const byCategory: Record<string, number> = {};
  for (const f of ws.failures) byCategory[f.category] = (byCategory[f.category] ?? 0) + 1;
  console.log(JSON.stringify(
    {
      seed,
      ws_frames: ws.framesSent,
      ws_connections: ws.connections,
      ws_mib_sent: +(ws.bytesSent / 2 ** 20).toFixed(1),
      ws_seconds: +(wsMs / 1000).toFixed(1),
      ws_error_codes: ws.codes,
      ws_closes: ws.closes,
      ws_unanswered: ws.failures.length,
      ws_unanswered_by_category: byCategory,
      ws_first_unanswered: ws.failures.slice(0, 3),
      rest_requests: rest.requests,
      rest_statuses: rest.statuses,
      rest_failures: rest.failures.length,
      rest_first_failures: rest.failures.slice(0, 3),
      rss_before: mib(before.rss),
      rss_after: mib(after.rss),
      rss_10s_later: mib(later.rss),
      fds_before: before.fds,
      fds_after: after.fds,
      fds_10s_later: later.fds,
      active_connections_after: after.active,
      server_alive: (await fetch(`${server.http}/health`)).ok,
    },
    null,
    1,
  ));
} finally {
  console.log(`server exit code ${await server.stop("SIGTERM")}`);
}
