/**
 * Long slow-consumer run against `main.ts` as a child process: a raw TCP
 * client asks for a big, fast stream and never reads, while observers ping;
 * repeated `--rounds` times. Reports close codes, bytes queued for the slow
 * client, the server's RSS, and the observers' ping latency before and during.
 *
 *   deno task reliability:slow_consumer [--rounds N] [--stream-mib N] [--observers N]
 */
import { parseArgs } from "node:util";
import { startServerProcess } from "../../tests/helpers/server_process.ts";
import { machine, mib, rssBytes } from "../../tests/helpers/proc.ts";
import {
  providerEnv,
  startScriptedProvider,
} from "../../tests/reliability/lib/scripted_provider.ts";
import { runSlowConsumer } from "../../tests/reliability/lib/slow_consumer.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    rounds: { type: "string", default: "3" },
    "stream-mib": { type: "string", default: "48" },
    observers: { type: "string", default: "8" },
    "max-buffered": { type: "string", default: String(1024 * 1024) },
  },
});
const rounds = Number(values.rounds);
const streamKiB = Number(values["stream-mib"]) * 1024;
const maxBuffered = Number(values["max-buffered"]);
console.log(
  JSON.stringify({ bench: "slow_consumer", rounds, streamKiB, maxBuffered, ...machine() }),
);

const mock = await startScriptedProvider();
const server = await startServerProcess({
  ...providerEnv(mock),
  WS_MAX_BUFFERED_BYTES: String(maxBuffered),
  WS_HEARTBEAT_INTERVAL: "10",
  WS_MESSAGES_PER_SECOND: "0",
});
try {
  const rssStart = rssBytes(server.child.pid);
  for (let round = 1; round <= rounds; round++) {
    const linesBefore = server.lines.length;
    const r = await runSlowConsumer({
      http: server.http,
      ws: server.ws,
      logs: () => server.lines.slice(linesBefore),
      streamKiB,
      observers: Number(values.observers),
      pingEveryMs: 10,
      beforeMs: 3000,
      timeoutMs: 30_000,
    });
    console.log(JSON.stringify({
      round,
      close: r.closeCode,
      reason: r.closeReason,
      cancelled: r.cancelled,
      chars_sent_before_cancel: r.charsBeforeCancel,
      time_to_cancel_ms: r.timeToCancelMs,
      queued_for_client: mib(r.bytesQueued),
      stream_size: mib(r.streamBytes),
      ping_before: r.before,
      ping_during: r.during,
      server_rss: mib(rssBytes(server.child.pid)),
      server_rss_start: mib(rssStart),
    }));
  }
} finally {
  console.log(`server exit code ${await server.stop("SIGTERM")}`);
  await mock.close();
}
