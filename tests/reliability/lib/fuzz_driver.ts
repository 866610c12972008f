/**
 * Sends seeded malformed frames over many WebSocket connections and checks
 * each one is answered. After every frame the driver sends a valid `ping`
 * with a sync `request_id`; the events before its `pong` are the frame's
 * answer, so a missing answer is attributed to its frame without waiting for
 * a timeout.
 */
import { type Event, TestClient } from "../../helpers/ws_client.ts";
import { connectionScript, type FrameCategory, type FuzzFrame } from "./fuzz_frames.ts";
import { Rng } from "./rng.ts";

export interface FuzzRunOptions {
  url: string;
  seed: number;
  /** Malformed frames in total (the sync pings are not counted). */
  frames: number;
  framesPerConnection: number;
  /** Connections open at once. */
  concurrency: number;
  maxMessageBytes: number;
  /** Share of connections whose last frame is over the size limit. */
  oversizeRatio: number;
  /** Share of frames drawn from the large categories (near the size limit). */
  largeRatio: number;
  maxDepth?: number;
  /** See `FuzzOptions.typeAtLimit` (defect D1). */
  typeAtLimit?: boolean;
}

export interface FuzzFailure {
  connection: number;
  index: number;
  category: FrameCategory;
  problem: string;
  /** The frame's first bytes, for reproducing it. */
  preview: string;
}

export interface FuzzResult {
  seed: number;
  framesSent: number;
  connections: number;
  bytesSent: number;
  /** `error.code` → count. */
  codes: Record<string, number>;
  /** Close codes seen after oversized frames → count. */
  closes: Record<string, number>;
  failures: FuzzFailure[];
}

function preview(data: string | Uint8Array): string {
  if (typeof data !== "string") return `<binary ${data.byteLength} bytes>`;
  return JSON.stringify(data.slice(0, 80)) + (data.length > 80 ? `… (${data.length} chars)` : "");
}

async function runConnection(
  n: number,
  frames: FuzzFrame[],
  opts: FuzzRunOptions,
  result: FuzzResult,
): Promise<void> {
  const { client } = await TestClient.connect(opts.url);
  try {
    for (let i = 0; i < frames.length; i++) {
      const frame = frames[i]!;
      const fail = (problem: string) =>
        result.failures.push({
          connection: n,
          index: i,
          category: frame.category,
          problem,
          preview: preview(frame.data),
        });
      client.send(frame.data);
      result.framesSent++;
      result.bytesSent += typeof frame.data === "string"
        ? frame.data.length
        : frame.data.byteLength;
      if (frame.expect === "close_1009") {
        const events: Event[] = [];
        for (;;) {
          const e = await client.next(10_000).catch(() => undefined);
          if (!e) break;
          events.push(e);
        }
        const { code } = await client.closed;
        result.closes[code] = (result.closes[code] ?? 0) + 1;
        const err = events.find((e) => e.type === "error");
        const errCode = (err?.error as { code?: string } | undefined)?.code;
        if (errCode) result.codes[errCode] = (result.codes[errCode] ?? 0) + 1;
        if (errCode !== "message_too_large") fail(`no message_too_large error before close`);
        if (code !== 1009) fail(`closed with ${code}, not 1009`);
        return;
      }
      const sync = `sync-${n}-${i}`;
      client.send({ type: "ping", request_id: sync });
      const answers: Event[] = [];
      for (;;) {
        const e = await client.next(10_000).catch((err: Error) => err);
        if (e instanceof Error) {
          fail(`no pong to the sync ping: ${e.message}`);
          return;
        }
        if (e.type === "pong" && e.request_id === sync) break;
        answers.push(e);
      }
      const errors = answers.filter((e) => e.type === "error");
      for (const e of errors) {
        const code = (e.error as { code?: string }).code ?? "<none>";
        result.codes[code] = (result.codes[code] ?? 0) + 1;
      }
      if (errors.length !== 1 || answers.length !== 1) {
        fail(`answered with [${answers.map((e) => e.type).join(", ")}], not one error`);
      }
    }
  } finally {
    await client.close();
  }
}

/** Runs the whole fuzz campaign; never throws for a bad answer (see `failures`). */
export async function runFuzz(opts: FuzzRunOptions): Promise<FuzzResult> {
  const rng = new Rng(opts.seed);
  const result: FuzzResult = {
    seed: opts.seed,
    framesSent: 0,
    connections: 0,
    bytesSent: 0,
    codes: {},
    closes: {},
    failures: [],
  };
  const scripts: FuzzFrame[][] = [];
  for (let left = opts.frames; left > 0; left -= opts.framesPerConnection) {
    scripts.push(
      connectionScript(rng, Math.min(left, opts.framesPerConnection), {
        maxMessageBytes: opts.maxMessageBytes,
        maxDepth: opts.maxDepth,
        typeAtLimit: opts.typeAtLimit,
        oversizeRatio: opts.oversizeRatio,
        largeRatio: opts.largeRatio,
      }),
    );
  }
  let next = 0;
  const worker = async () => {
    while (next < scripts.length) {
      const n = next++;
      result.connections++;
      await runConnection(n, scripts[n]!, opts, result);
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency }, worker));
  return result;
}
