/**
 * Slow-consumer scenario: a raw TCP client asks for a big, fast stream and
 * never reads; other clients ping meanwhile. Measures their ping latency
 * before and during, and what became of the slow client (close code, bytes
 * the server had queued for it, whether its stream was cancelled).
 */
import { rawUpgrade } from "../../helpers/raw_http.ts";
import { TestClient } from "../../helpers/ws_client.ts";
import { clientFrame, drainUntilClose, Opcode, writeAll } from "./raw_ws.ts";
import { type LatencySummary, sleep, summarize } from "./stats.ts";

export interface SlowConsumerOptions {
  /** `http://127.0.0.1:PORT` of the server. */
  http: string;
  ws: string;
  /** The server's log lines so far (in-process `logs`, or a child's stdout `lines`). */
  logs: () => readonly string[];
  /** Words of 1 KiB the provider streams as fast as it can. */
  streamKiB: number;
  /** Clients pinging while the slow one stalls. */
  observers: number;
  /** Pause between one observer's pings. */
  pingEveryMs: number;
  /** Length of the "before" window. */
  beforeMs: number;
  /** Give up waiting for the close after this long. */
  timeoutMs: number;
}

export interface SlowConsumerResult {
  before: LatencySummary;
  during: LatencySummary;
  /** Close code found in the slow client's socket once it finally reads. */
  closeCode: number | undefined;
  closeReason: string;
  /** Bytes the slow client could read afterwards: the server queue plus kernel buffers. */
  bytesQueued: number;
  /** Bytes the provider would have streamed in full. */
  streamBytes: number;
  /** The server cancelled the slow client's stream (its `generation` log line). */
  cancelled: boolean;
  /** Characters of the reply the server had sent when it cancelled. */
  charsBeforeCancel: number;
  /** From the request to the cancel. */
  timeToCancelMs: number;
}

async function pingWindow(clients: TestClient[], everyMs: number, until: () => boolean) {
  const samples: number[] = [];
  await Promise.all(clients.map(async (c) => {
    while (!until()) {
      const t0 = performance.now();
      const e = await c.request({ type: "ping" });
      if (e.type !== "pong") throw new Error(`Observer got ${e.type}, not pong`);
      samples.push(performance.now() - t0);
      await sleep(everyMs);
    }
  }));
  return samples;
}

export async function runSlowConsumer(opts: SlowConsumerOptions): Promise<SlowConsumerResult> {
  const port = Number(new URL(opts.http).port);
  const observers = await Promise.all(
    Array.from({ length: opts.observers }, async () => (await TestClient.connect(opts.ws)).client),
  );
  try {
    const beforeEnd = performance.now() + opts.beforeMs;
    const before = await pingWindow(
      observers,
      opts.pingEveryMs,
      () => performance.now() > beforeEnd,
    );

    const slow = await rawUpgrade(port);
    if (slow.status !== 101) throw new Error(`Upgrade refused: ${slow.status}`);
    try {
      const t0 = performance.now();
      await writeAll(
        slow.conn,
        clientFrame(
          Opcode.text,
          JSON.stringify({
            type: "text_message",
            content: `[big:${opts.streamKiB}] go`,
            // A reply runs on after a disconnect by default; this client wants it stopped.
            on_disconnect: "cancel",
          }),
        ),
      );
      const cancelLine = () =>
        opts.logs().find((l) => l.includes('"event":"generation"') && l.includes('"cancelled"'));
      const done = () => cancelLine() !== undefined || performance.now() - t0 > opts.timeoutMs;
      const during = await pingWindow(observers, opts.pingEveryMs, done);
      const cancelledAt = performance.now();
      const line = cancelLine();
      // Now read: everything queued for the slow client, then its close frame.
      const drained = await drainUntilClose(slow.conn, opts.timeoutMs);
      return {
        before: summarize(before),
        during: summarize(during),
        closeCode: drained.closeCode,
        closeReason: drained.closeReason,
        bytesQueued: drained.bytes,
        streamBytes: opts.streamKiB * 1024,
        cancelled: line !== undefined,
        charsBeforeCancel: line ? Number(JSON.parse(line).chars) : NaN,
        timeToCancelMs: Math.round(cancelledAt - t0),
      };
    } finally {
      try {
        slow.conn.close();
      } catch { /* closed by the server */ }
    }
  } finally {
    await Promise.all(observers.map((c) => c.close()));
  }
}
