/**
 * Mixed WebSocket traffic for soak runs: virtual users that ping, stream,
 * cancel, call tools, trigger injected provider faults and reconnect, at a
 * bounded rate, recording latencies and every unexpected answer. Talks to a
 * server whose provider is the scripted mock (`scripted_provider.ts`).
 */
import { type Event, TestClient } from "../../helpers/ws_client.ts";
import type { Rng } from "./rng.ts";
import { sleep } from "./stats.ts";

export type Op = "ping" | "stream" | "cancel" | "tool" | "fault" | "non_stream";

export interface TrafficStats {
  ops: Record<string, number>;
  /** Unexpected answers (not counting injected faults). */
  errors: { op: string; detail: string; atMs: number }[];
  /** Injected provider faults answered with the expected error event. */
  injected: number;
  reconnects: number;
  /** [performance.now() at completion, latency ms] */
  ping: [number, number][];
  /** Time to `stream_end` of a 12-word stream. */
  stream: [number, number][];
}

export function newTrafficStats(): TrafficStats {
  return { ops: {}, errors: [], injected: 0, reconnects: 0, ping: [], stream: [] };
}

const MIX: readonly Op[] = [
  "ping",
  "ping",
  "ping",
  "ping",
  "stream",
  "stream",
  "stream",
  "cancel",
  "tool",
  "fault",
  "non_stream",
];

/** Events until one of `types` (inclusive); rejects on timeout or close. */
export async function untilAny(
  client: TestClient,
  types: readonly string[],
  timeoutMs = 10_000,
): Promise<Event[]> {
  const events: Event[] = [];
  for (;;) {
    const e = await client.next(timeoutMs);
    events.push(e);
    if (types.includes(e.type)) return events;
  }
}

const errorCode = (e: Event | undefined) => (e?.error as { code?: string } | undefined)?.code;

async function runOp(
  op: Op,
  client: TestClient,
  n: number,
  stats: TrafficStats,
  conversations: number,
): Promise<void> {
  const fail = (detail: string): void => {
    stats.errors.push({ op, detail, atMs: performance.now() });
  };
  const rid = `op-${n}`;
  const conversation_id = `soak-${n % conversations}`;
  const t0 = performance.now();
  switch (op) {
    case "ping": {
      const e = await client.request({ type: "ping", request_id: rid });
      if (e.type !== "pong") return fail(`got ${e.type}`);
      stats.ping.push([performance.now(), performance.now() - t0]);
      return;
    }
    case "stream": {
      client.send({
        type: "text_message",
        content: "hello there",
        conversation_id,
        request_id: rid,
      });
      const events = await untilAny(client, ["stream_end", "error"]);
      const end = events.at(-1)!;
      if (end.type !== "stream_end" || end.finish_reason !== "stop") {
        return fail(`ended with ${end.type} ${errorCode(end) ?? end.finish_reason}`);
      }
      stats.stream.push([performance.now(), performance.now() - t0]);
      return;
    }
    case "cancel": {
      client.send({ type: "text_message", content: "[slow] tell me more", request_id: rid });
      const first = await untilAny(client, ["stream_chunk", "error"]);
      if (first.at(-1)!.type !== "stream_chunk") {
        return fail(`no chunk: ${errorCode(first.at(-1))}`);
      }
      client.send({ type: "cancel", request_id: rid });
      const end = (await untilAny(client, ["stream_end", "error"])).at(-1)!;
      if (end.type !== "stream_end" || end.finish_reason !== "cancelled") {
        return fail(`ended with ${end.type} ${errorCode(end) ?? end.finish_reason}`);
      }
      return;
    }
    case "tool": {
      client.send({
        type: "text_message",
        content: "[calc] what is 2 + 3?",
        tool_events: true,
        conversation_id,
        request_id: rid,
      });
      const events = await untilAny(client, ["stream_end", "error"]);
      const end = events.at(-1)!;
      const result = events.find((e) => e.type === "tool_result");
      if (end.type !== "stream_end" || result?.ok !== true) {
        return fail(`ended with ${end.type} ${errorCode(end) ?? ""}, tool ok=${result?.ok}`);
      }
      return;
    }
    case "fault": {
      client.send({ type: "text_message", content: "[fail500] break", request_id: rid });
      const end = (await untilAny(client, ["stream_end", "error"])).at(-1)!;
      if (errorCode(end) !== "upstream_error") return fail(`fault answered with ${end.type}`);
      stats.injected++;
      return;
    }
    case "non_stream": {
      client.send({ type: "text_message", content: "hello", stream: false, request_id: rid });
      const end = (await untilAny(client, ["text_response", "error"])).at(-1)!;
      if (end.type !== "text_response") return fail(`got ${end.type} ${errorCode(end)}`);
      return;
    }
  }
}

export interface VirtualUserOptions {
  url: string;
  rng: Rng;
  stats: TrafficStats;
  /** Stop starting operations after this `performance.now()` value. */
  deadlineMs: number;
  /** Pause after each operation (bounds the rate). */
  pauseMs: number;
  /** Operations per connection before reconnecting. */
  opsPerConnection: number;
  /** Conversation ids used (memory grows within this pool). */
  conversations: number;
}

/** One user: connect, run random operations, reconnect, until the deadline. */
export async function virtualUser(opts: VirtualUserOptions): Promise<void> {
  const { stats, rng } = opts;
  let n = 0;
  while (performance.now() < opts.deadlineMs) {
    let client: TestClient;
    try {
      client = (await TestClient.connect(opts.url)).client;
    } catch (err) {
      stats.errors.push({ op: "connect", detail: String(err), atMs: performance.now() });
      await sleep(500);
      continue;
    }
    try {
      for (let i = 0; i < opts.opsPerConnection && performance.now() < opts.deadlineMs; i++) {
        const op = rng.pick(MIX);
        stats.ops[op] = (stats.ops[op] ?? 0) + 1;
        await runOp(op, client, n++, stats, opts.conversations);
        await sleep(opts.pauseMs);
      }
    } catch (err) {
      stats.errors.push({ op: "session", detail: String(err), atMs: performance.now() });
    } finally {
      await client.close();
    }
    stats.reconnects++;
  }
}
