/**
 * Short slow-consumer run (CI). The long version with more observers and a
 * bigger stream is `bench/reliability/slow_consumer.ts`.
 */
import assert from "node:assert/strict";
import { startTestServer } from "../helpers/test_server.ts";
import { waitFor } from "../helpers/wait.ts";
import { mib } from "../helpers/proc.ts";
import { providerEnv, startScriptedProvider } from "./lib/scripted_provider.ts";
import { runSlowConsumer } from "./lib/slow_consumer.ts";

Deno.test("Connection closes a client that stops reading with 4001 and cancels its stream", async () => {
  const mock = await startScriptedProvider();
  const server = await startTestServer({
    ...providerEnv(mock),
    LOG_LEVEL: "info",
    WS_MAX_BUFFERED_BYTES: String(256 * 1024),
    // The transport ping timeout (idleTimeout = this interval) also closes a
    // client that never reads (1001 "No response from ping frame."); keep it
    // well above the time the 4001 check needs.
    WS_HEARTBEAT_INTERVAL: "5",
  });
  try {
    const r = await runSlowConsumer({
      http: server.http,
      ws: server.ws,
      logs: () => server.logs,
      streamKiB: 24 * 1024,
      observers: 4,
      pingEveryMs: 20,
      beforeMs: 1500,
      timeoutMs: 20_000,
    });
    console.log(
      `slow consumer: close ${r.closeCode} (${r.closeReason}), ${mib(r.bytesQueued)} queued of a ${
        mib(r.streamBytes)
      } stream, cancelled after ${r.charsBeforeCancel} chars in ${r.timeToCancelMs} ms; observer ping before ${
        JSON.stringify(r.before)
      }, during ${JSON.stringify(r.during)}`,
    );
    assert.equal(r.cancelled, true, "the slow client's stream was not cancelled");
    assert.equal(r.closeCode, 4001);
    // Bounded: far less than the stream was ever queued for the client
    // (WS_MAX_BUFFERED_BYTES + one event + the kernel's socket buffers).
    assert.ok(r.bytesQueued < r.streamBytes / 2, `queued ${mib(r.bytesQueued)}`);
    // Sanity bound only (numbers are in docs/RELIABILITY.md): observers kept being served.
    assert.ok(r.during.n > 0 && r.during.p99 < 2000, `during: ${JSON.stringify(r.during)}`);
    await waitFor(() => server.app.supervisor.size === 0, 10_000, "the slow client to be released");
  } finally {
    await server.close();
    await mock.close();
  }
});
