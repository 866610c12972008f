/**
 * Streaming, REST and cancel benchmark (issue 4, item 7): what yychat adds
 * on top of reading the same OpenAI-compatible mock directly with the
 * `openai` client.
 *
 * 1. streamed chunks/s of a 2,000-chunk reply (upstream chunks delivered, so
 *    a server that coalesces deltas into fewer frames is not penalised):
 *    `/ws/chat` vs the `openai`
 *    client (`stream: true`) → ratio;
 * 2. time to first chunk: `text_message` sent → first `stream_chunk`, vs the
 *    `openai` client's request → first delta → added p50/p99, without
 *    `conversation_id`, and with it (memory on) in two conversations that grow
 *    by one turn per sample: one repeating the same message (every stored
 *    turn matches the recall query: the worst case) and one where every
 *    message is a new word (recall finds nothing);
 * 3. REST non-stream: `POST /v1/chat/completions` through yychat vs straight
 *    to the mock, both with the `openai` client → added p50/p99;
 * 4. cancel: `cancel` frame sent → the mock sees its stream abandoned (the
 *    body's `cancel()` in `Deno.serve`), and → `stream_end{cancelled}`.
 *
 * The mock (`bench/stream_mock.ts`) answers from pre-encoded bytes and runs
 * in this process, so "direct" and "through yychat" share it and its clock.
 * yychat runs as a child process, started like `deno task start`. Rounds
 * alternate which side goes first and interleave samples, so drift on the
 * shared machine hits both sides alike; the table shows the per-round spread.
 *
 * `deno run --allow-net --allow-env --allow-read --allow-write --allow-run --allow-sys
 *   bench/stream_bench.ts [--quick] [--rounds N] [--server-cpu-prof DIR]
 *   [--only throughput|ttfc|rest|cancel]`
 */
import { type ServerProcess, startServerProcess } from "../tests/helpers/server_process.ts";
import OpenAI from "openai";
import process from "node:process";
import { LONG_CHUNKS, StreamMock, WORD } from "./stream_mock.ts";
import { cpuSeconds, machineBusySeconds } from "./ws_load.ts";

const MODEL = "mock-model";

// ---------------------------------------------------------------------------
// Building blocks (also used by tests/bench/stream_bench_test.ts)

/** One finished `text_message` (times are `performance.now()` of this process). */
export interface WsResult {
  /** `stream_chunk` events (or SDK deltas) with content. */
  chunks: number;
  /** Characters of content received. */
  chars: number;
  sentMs: number;
  /** NaN when no chunk came. */
  firstChunkMs: number;
  endMs: number;
  finishReason: string;
}

type WsEvent = Record<string, unknown> & { type: string };

interface Pending {
  result: WsResult;
  onChunk?: (n: number) => void;
  resolve: (r: WsResult) => void;
  reject: (e: Error) => void;
  timer: ReturnType<typeof setTimeout>;
}

/** A `/ws/chat` client running one `text_message` at a time. */
export class WsChat {
  readonly #socket: WebSocket;
  #pending: Pending | undefined;
  #seq = 0;

  private constructor(socket: WebSocket) {
    this.#socket = socket;
    socket.addEventListener("message", (ev) => this.#onMessage(ev));
    socket.addEventListener("close", () => this.#fail(new Error("Socket closed mid-request")));
  }

  /** Connects and waits for `connection_established`. */
  static open(url: string, timeoutMs = 5000): Promise<WsChat> {
    const socket = new WebSocket(url);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        socket.close();
        reject(new Error(`No connection_established from ${url} within ${timeoutMs} ms`));
      }, timeoutMs);
      socket.addEventListener("error", () => {
        clearTimeout(timer);
        reject(new Error(`WebSocket to ${url} failed`));
      }, { once: true });
      socket.addEventListener("message", (ev) => {
        clearTimeout(timer);
        const e = JSON.parse(String(ev.data)) as WsEvent;
        if (e.type === "connection_established") resolve(new WsChat(socket));
        else reject(new Error(`Expected connection_established, got "${e.type}"`));
      }, { once: true });
    });
  }

  /**
   * Sends a `text_message` (stream on) and resolves at its `stream_end`;
   * `onChunk(n)` runs at the n-th `stream_chunk` (1-based).
   */
  run(
    fields: { content: string; conversation_id?: string; use_tools?: boolean },
    options: { onChunk?: (n: number) => void; timeoutMs?: number; requestId?: string } = {},
  ): Promise<WsResult> {
    if (this.#pending) return Promise.reject(new Error("WsChat runs one request at a time"));
    const requestId = options.requestId ?? `bench-${++this.#seq}`;
    return new Promise((resolve, reject) => {
      const timeoutMs = options.timeoutMs ?? 10_000;
      const result: WsResult = {
        chunks: 0,
        chars: 0,
        sentMs: 0,
        firstChunkMs: NaN,
        endMs: NaN,
        finishReason: "",
      };
      this.#pending = {
        result,
        onChunk: options.onChunk,
        resolve,
        reject,
        timer: setTimeout(
          () => this.#fail(new Error(`No stream_end for "${requestId}" within ${timeoutMs} ms`)),
          timeoutMs,
        ),
      };
      result.sentMs = performance.now();
      this.#socket.send(
        JSON.stringify({ type: "text_message", stream: true, request_id: requestId, ...fields }),
      );
    });
  }

  /** Sends `{type:"cancel", request_id}`. */
  cancel(requestId: string): void {
    this.#socket.send(JSON.stringify({ type: "cancel", request_id: requestId }));
  }

  close(): Promise<void> {
    if (this.#socket.readyState === WebSocket.CLOSED) return Promise.resolve();
    const closed = new Promise<void>((r) =>
      this.#socket.addEventListener("close", () => r(), { once: true })
    );
    this.#socket.close(1000);
    return closed;
  }

  #onMessage(ev: MessageEvent): void {
    const now = performance.now();
    const p = this.#pending;
    if (!p) return;
    const e = JSON.parse(String(ev.data)) as WsEvent;
    switch (e.type) {
      case "stream_chunk":
        if (p.result.chunks++ === 0) p.result.firstChunkMs = now;
        p.result.chars += (e.content as string).length;
        p.onChunk?.(p.result.chunks);
        return;
      case "stream_end":
        p.result.endMs = now;
        p.result.finishReason = String(e.finish_reason);
        clearTimeout(p.timer);
        this.#pending = undefined;
        p.resolve(p.result);
        return;
      case "error":
        this.#fail(new Error(`yychat error event: ${JSON.stringify(e.error)}`));
        return;
    }
  }

  #fail(err: Error): void {
    const p = this.#pending;
    if (!p) return;
    this.#pending = undefined;
    clearTimeout(p.timer);
    p.reject(err);
  }
}

/** An `openai` client for `baseUrl` (no retries: a failure should show). */
export function openaiClient(baseUrl: string): OpenAI {
  return new OpenAI({ apiKey: "sk-bench", baseURL: baseUrl, maxRetries: 0 });
}

/** One streamed request read with the `openai` client (times as in {@linkcode WsResult}). */
export async function directStream(client: OpenAI, content: string): Promise<WsResult> {
  const sentMs = performance.now();
  let firstChunkMs = NaN;
  let chunks = 0;
  let chars = 0;
  let finishReason = "";
  const stream = await client.chat.completions.create({
    model: MODEL,
    messages: [{ role: "user", content }],
    stream: true,
  });
  for await (const chunk of stream) {
    const choice = chunk.choices[0];
    if (choice?.delta?.content) {
      if (chunks++ === 0) firstChunkMs = performance.now();
      chars += choice.delta.content.length;
    }
    if (choice?.finish_reason) finishReason = choice.finish_reason;
  }
  return { chunks, chars, sentMs, firstChunkMs, endMs: performance.now(), finishReason };
}

/** One non-streamed completion with the `openai` client; returns its duration in ms. */
export async function completeOnce(client: OpenAI, content: string): Promise<number> {
  const t0 = performance.now();
  const res = await client.chat.completions.create({
    model: MODEL,
    messages: [{ role: "user", content }],
  });
  const elapsed = performance.now() - t0;
  if (!res.choices[0]?.message?.content) throw new Error("Completion without content");
  return elapsed;
}

/** What one cancel cost, in ms from sending the `cancel` frame. */
export interface CancelResult {
  toUpstreamAbortMs: number;
  toStreamEndMs: number;
}

/**
 * Starts a `"slow"` stream, cancels it after `afterChunks` chunks, and
 * measures until `stream_end{cancelled}` and until the mock saw the abort.
 */
export async function cancelOnce(
  ws: WsChat,
  mock: StreamMock,
  options: { requestId: string; afterChunks?: number; timeoutMs?: number },
): Promise<CancelResult> {
  const index = mock.slowStreams.length;
  const after = options.afterChunks ?? 3;
  let cancelMs = NaN;
  const result = await ws.run({ content: "slow", use_tools: false }, {
    requestId: options.requestId,
    timeoutMs: options.timeoutMs ?? 10_000,
    onChunk: (n) => {
      if (n !== after) return;
      cancelMs = performance.now();
      ws.cancel(options.requestId);
    },
  });
  if (result.finishReason !== "cancelled") {
    throw new Error(`Cancelled stream ended with finish_reason "${result.finishReason}"`);
  }
  const abortedMs = await mock.abortOf(index, options.timeoutMs ?? 10_000);
  return { toUpstreamAbortMs: abortedMs - cancelMs, toStreamEndMs: result.endMs - cancelMs };
}

/** Environment for a yychat reading `mock`. */
export function yychatEnv(mock: StreamMock, dataDir: string): Record<string, string> {
  return {
    OPENAI_BASE_URL: mock.baseUrl,
    OPENAI_API_KEY: "x",
    OPENAI_MODEL: MODEL,
    PROVIDER_MAX_RETRIES: "0",
    LOG_LEVEL: "warn",
    WS_MESSAGES_PER_SECOND: "1000000",
    WS_MAX_STREAMS_PER_CONNECTION: "4",
    SHUTDOWN_GRACE_PERIOD: "1",
    YYCHAT_DATA_DIR: dataDir,
  };
}

/** Starts `main.ts` as a child process (like `deno task start`) and waits until it listens. */
function startYychat(
  env: Record<string, string>,
  options: { cpuProfDir?: string } = {},
): Promise<ServerProcess> {
  const denoFlags = options.cpuProfDir
    ? ["--cpu-prof", `--cpu-prof-dir=${options.cpuProfDir}`]
    : [];
  return startServerProcess(env, { denoFlags });
}

/** CPU ms (user + system, all threads) this process used so far. */
function ownCpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

// ---------------------------------------------------------------------------
// Statistics and the report

function percentile(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
}

const median = (values: number[]) => percentile(values, 50);

function range(values: number[], digits: number, unit = ""): string {
  return `${Math.min(...values).toFixed(digits)}–${Math.max(...values).toFixed(digits)}${unit}`;
}

export interface StreamBenchOptions {
  rounds: number;
  /** 2,000-chunk requests per side and round. */
  throughputRequests: number;
  /** Time-to-first-chunk samples per variant and round. */
  ttfcSamples: number;
  /** REST samples per side and round. */
  restSamples: number;
  /** Cancels per round. */
  cancelSamples: number;
  warmup: number;
}

const FULL: StreamBenchOptions = {
  rounds: 10,
  throughputRequests: 4,
  ttfcSamples: 150,
  restSamples: 150,
  cancelSamples: 20,
  warmup: 60,
};

const QUICK: StreamBenchOptions = {
  rounds: 2,
  throughputRequests: 1,
  ttfcSamples: 25,
  restSamples: 25,
  cancelSamples: 5,
  warmup: 15,
};

/** One row of the printed table. */
export interface Row {
  what: string;
  yychat: string;
  direct: string;
  result: string;
  spread: string;
  target: string;
  pass: boolean | undefined;
}

interface Samples {
  wsChunksPerS: number[];
  directChunksPerS: number[];
  /** `stream_chunk` frames the yychat side received (fewer than upstream chunks if it coalesces). */
  wsFrames: number;
  /** CPU ms over the throughput requests: [yychat process, this process] per side. */
  cpu: { ws: [number, number]; direct: [number, number]; wsChunks: number; directChunks: number };
  ttfcDirect: number[][];
  ttfcWs: number[][];
  /** Same message every time: every stored turn matches the recall query (worst case). */
  ttfcWsMemory: number[][];
  /** A fresh word every time: recall finds nothing, so this is memory minus recall. */
  ttfcWsMemoryNoHit: number[][];
  restDirect: number[][];
  restYychat: number[][];
  cancelAbort: number[][];
  cancelEnd: number[][];
  /** Per round: CPU the rest of the machine used, in cores (the noise flag). */
  otherCores: number[];
}

/**
 * At most this much CPU used by other processes during a round, in cores, for
 * it to count (as in the gateway benchmark; `machineBusySeconds()` leaves out
 * irq/softirq time, mostly this benchmark's own loopback traffic).
 */
const QUIET_OTHER_CORES = 0.3;

/**
 * The rounds that count: those where other processes used at most
 * {@linkcode QUIET_OTHER_CORES}, when at least 2 qualify; otherwise all (noisy).
 */
function quietRounds(s: Samples): { used: Samples; noisy: boolean } {
  const keep = s.otherCores.map((c, i) => (c <= QUIET_OTHER_CORES ? i : -1)).filter((i) => i >= 0);
  if (keep.length < 2) return { used: s, noisy: true };
  const pick = <T>(xs: T[]) => keep.map((i) => xs[i]!);
  return {
    used: {
      ...s,
      wsChunksPerS: pick(s.wsChunksPerS),
      directChunksPerS: pick(s.directChunksPerS),
      ttfcDirect: pick(s.ttfcDirect),
      ttfcWs: pick(s.ttfcWs),
      ttfcWsMemory: pick(s.ttfcWsMemory),
      ttfcWsMemoryNoHit: pick(s.ttfcWsMemoryNoHit),
      restDirect: pick(s.restDirect),
      restYychat: pick(s.restYychat),
      cancelAbort: pick(s.cancelAbort),
      cancelEnd: pick(s.cancelEnd),
      otherCores: pick(s.otherCores),
    },
    noisy: false,
  };
}

function latencyRows(
  label: string,
  viaYychat: number[][],
  direct: number[][],
  targets: { p50: number; p99: number },
): Row[] {
  const all = (xs: number[][]) => xs.flat();
  const perRound50 = viaYychat.map((xs, i) => median(xs) - median(direct[i]!));
  const perRound99 = viaYychat.map((xs, i) => percentile(xs, 99) - percentile(direct[i]!, 99));
  return ([[50, targets.p50, perRound50], [99, targets.p99, perRound99]] as const).map(
    ([p, target, perRound]) => {
      const y = percentile(all(viaYychat), p);
      const d = percentile(all(direct), p);
      const added = y - d;
      return {
        what: `${label} p${p} (n = ${all(direct).length})`,
        yychat: `${y.toFixed(2)} ms`,
        direct: `${d.toFixed(2)} ms`,
        result: `${added >= 0 ? "+" : "−"}${Math.abs(added).toFixed(2)} ms`,
        spread: range(perRound, 2, " ms"),
        target: `≤ ${target} ms`,
        pass: added <= target,
      };
    },
  );
}

function buildRows(s: Samples): Row[] {
  const ratios = s.wsChunksPerS.map((w, i) => w / s.directChunksPerS[i]!);
  const ws = median(s.wsChunksPerS);
  const direct = median(s.directChunksPerS);
  const rows: Row[] = [{
    what: `streamed chunks/s, ${LONG_CHUNKS.toLocaleString("en")}-chunk reply`,
    yychat: Math.round(ws).toLocaleString("en"),
    direct: Math.round(direct).toLocaleString("en"),
    result: `${(ws / direct).toFixed(2)}×`,
    spread: range(ratios, 2, "×"),
    target: "≥ 0.8×",
    pass: ws / direct >= 0.8,
  }];
  rows.push(
    ...latencyRows("time to first chunk, no memory", s.ttfcWs, s.ttfcDirect, { p50: 2, p99: 8 }),
    ...latencyRows(
      "time to first chunk, conversation_id, every stored turn matches recall",
      s.ttfcWsMemory,
      s.ttfcDirect,
      { p50: 2, p99: 8 },
    ),
    ...latencyRows(
      "time to first chunk, conversation_id, no stored turn matches recall",
      s.ttfcWsMemoryNoHit,
      s.ttfcDirect,
      { p50: 2, p99: 8 },
    ),
    ...latencyRows("REST non-stream completion", s.restYychat, s.restDirect, { p50: 1, p99: 5 }),
  );
  for (
    const [label, xs, target] of [
      ["cancel → upstream abort seen by the mock", s.cancelAbort.flat(), 50],
      ["cancel → stream_end{cancelled} at the client", s.cancelEnd.flat(), undefined],
    ] as const
  ) {
    const p50 = percentile(xs, 50);
    const p99 = percentile(xs, 99);
    rows.push({
      what: `${label} (n = ${xs.length})`,
      yychat: `p50 ${p50.toFixed(2)} ms, p99 ${p99.toFixed(2)} ms`,
      direct: "—",
      result: `p99 ${p99.toFixed(2)} ms`,
      spread: `max ${Math.max(...xs).toFixed(2)} ms`,
      target: target === undefined ? "—" : `p99 ≤ ${target} ms`,
      pass: target === undefined ? undefined : p99 <= target,
    });
  }
  return rows;
}

function printTable(rows: Row[]): void {
  console.log(
    "| measurement | through yychat | direct | ratio / added | per-round spread | target | |",
  );
  console.log("|---|---:|---:|---:|---:|---:|---|");
  for (const r of rows) {
    const verdict = r.pass === undefined ? "" : r.pass ? "PASS" : "FAIL";
    console.log(
      `| ${r.what} | ${r.yychat} | ${r.direct} | ${r.result} | ${r.spread} | ${r.target} | ${verdict} |`,
    );
  }
}

function argValue(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

// ---------------------------------------------------------------------------
// The run

/** Runs the benchmark and prints a markdown table; returns the rows. */
export async function main(args: string[] = []): Promise<Row[]> {
  const started = performance.now();
  const opts = { ...(args.includes("--quick") ? QUICK : FULL) };
  const rounds = argValue(args, "--rounds");
  if (rounds) opts.rounds = Math.max(1, Math.min(100, Number(rounds) | 0));
  const cpuProfDir = argValue(args, "--server-cpu-prof");
  // For profiling one phase: the others run no samples (and report NaN).
  const only = argValue(args, "--only");
  if (only !== undefined) {
    if (only !== "throughput") opts.throughputRequests = 0;
    if (only !== "ttfc") opts.ttfcSamples = 0;
    if (only !== "rest") opts.restSamples = 0;
    if (only !== "cancel") opts.cancelSamples = 0;
  }

  const mock = new StreamMock();
  const dataDir = await Deno.makeTempDir({ prefix: "yychat_stream_bench_" });
  let server: ServerProcess | undefined;
  let ws: WsChat | undefined;
  const samples: Samples = {
    wsChunksPerS: [],
    directChunksPerS: [],
    wsFrames: 0,
    cpu: { ws: [0, 0], direct: [0, 0], wsChunks: 0, directChunks: 0 },
    ttfcDirect: [],
    ttfcWs: [],
    ttfcWsMemory: [],
    ttfcWsMemoryNoHit: [],
    restDirect: [],
    restYychat: [],
    cancelAbort: [],
    cancelEnd: [],
    otherCores: [],
  };
  try {
    server = await startYychat(yychatEnv(mock, dataDir), { cpuProfDir });
    ws = await WsChat.open(server.ws);
    const direct = openaiClient(mock.baseUrl);
    const viaRest = openaiClient(`${server.http}/v1`);
    const wsChat = ws;
    const serverPid = server.pid;
    let cancels = 0;
    // Unique one-word messages ("w1", "w2", …): no earlier turn shares a term.
    let words = 0;

    const checkLong = (r: WsResult, side: string) => {
      if (r.chars !== LONG_CHUNKS * WORD.length || r.finishReason !== "stop") {
        throw new Error(
          `${side}: ${r.chars} of ${LONG_CHUNKS * WORD.length} characters, "${r.finishReason}"`,
        );
      }
    };
    const ttfc = (r: WsResult) => r.firstChunkMs - r.sentMs;

    // Warm-up: JIT on both sides, pooled connections, SQLite pages.
    for (let i = 0; i < opts.warmup; i++) {
      await directStream(direct, "hi");
      await wsChat.run({ content: "hi" });
      await wsChat.run({ content: "hi", conversation_id: "bench-memory" });
      await wsChat.run({ content: `w${++words}`, conversation_id: "bench-memory-nohit" });
      await completeOnce(direct, "hi");
      await completeOnce(viaRest, "hi");
    }
    for (let i = 0; i < 3; i++) {
      checkLong(await directStream(direct, "long"), "direct");
      checkLong(await wsChat.run({ content: "long" }), "yychat");
      await cancelOnce(wsChat, mock, { requestId: `cancel-${++cancels}` });
    }

    for (let round = 0; round < opts.rounds; round++) {
      const yychatFirst = round % 2 === 1;
      const machine0 = await machineBusySeconds();
      const server0 = await cpuSeconds(serverPid);
      const own0 = ownCpuMs();
      const wall0 = performance.now();
      // 1. Throughput.
      let wsChunks = 0, wsMs = 0, directChunks = 0, directMs = 0;
      for (let i = 0; i < opts.throughputRequests; i++) {
        for (const side of yychatFirst ? ["yychat", "direct"] : ["direct", "yychat"]) {
          const serverCpu0 = await cpuSeconds(serverPid);
          const selfCpu0 = ownCpuMs();
          const r = side === "yychat"
            ? await wsChat.run({ content: "long" })
            : await directStream(direct, "long");
          const selfCpu = ownCpuMs() - selfCpu0;
          const cpu = [(await cpuSeconds(serverPid) - serverCpu0) * 1000, selfCpu];
          checkLong(r, side);
          const c = samples.cpu;
          if (side === "yychat") {
            wsChunks += r.chars / WORD.length;
            samples.wsFrames += r.chunks;
            wsMs += r.endMs - r.sentMs;
            c.ws = [c.ws[0] + cpu[0]!, c.ws[1] + cpu[1]!];
            c.wsChunks += r.chars / WORD.length;
          } else {
            directChunks += r.chars / WORD.length;
            directMs += r.endMs - r.sentMs;
            c.direct = [c.direct[0] + cpu[0]!, c.direct[1] + cpu[1]!];
            c.directChunks += r.chars / WORD.length;
          }
        }
      }
      samples.wsChunksPerS.push(wsChunks / (wsMs / 1000));
      samples.directChunksPerS.push(directChunks / (directMs / 1000));

      // 2. Time to first chunk, four variants interleaved.
      const td: number[] = [], tw: number[] = [], tm: number[] = [], tn: number[] = [];
      for (let i = 0; i < opts.ttfcSamples; i++) {
        const order = (i + round) % 2 === 0;
        if (order) td.push(ttfc(await directStream(direct, "hi")));
        tw.push(ttfc(await wsChat.run({ content: "hi" })));
        tm.push(ttfc(await wsChat.run({ content: "hi", conversation_id: "bench-memory" })));
        tn.push(ttfc(
          await wsChat.run({ content: `w${++words}`, conversation_id: "bench-memory-nohit" }),
        ));
        if (!order) td.push(ttfc(await directStream(direct, "hi")));
      }
      samples.ttfcDirect.push(td);
      samples.ttfcWs.push(tw);
      samples.ttfcWsMemory.push(tm);
      samples.ttfcWsMemoryNoHit.push(tn);

      // 3. REST non-stream.
      const rd: number[] = [], ry: number[] = [];
      for (let i = 0; i < opts.restSamples; i++) {
        if ((i + round) % 2 === 0) {
          rd.push(await completeOnce(direct, "hi"));
          ry.push(await completeOnce(viaRest, "hi"));
        } else {
          ry.push(await completeOnce(viaRest, "hi"));
          rd.push(await completeOnce(direct, "hi"));
        }
      }
      samples.restDirect.push(rd);
      samples.restYychat.push(ry);

      // 4. Cancel.
      const ca: number[] = [], ce: number[] = [];
      for (let i = 0; i < opts.cancelSamples; i++) {
        const c = await cancelOnce(wsChat, mock, { requestId: `cancel-${++cancels}` });
        ca.push(c.toUpstreamAbortMs);
        ce.push(c.toStreamEndMs);
      }
      samples.cancelAbort.push(ca);
      samples.cancelEnd.push(ce);

      const wallS = (performance.now() - wall0) / 1000;
      const ownS = (ownCpuMs() - own0) / 1000;
      const serverS = await cpuSeconds(serverPid) - server0;
      const machineS = await machineBusySeconds() - machine0;
      samples.otherCores.push(Math.max(0, machineS - serverS - ownS) / wallS);
    }
  } finally {
    await ws?.close().catch(() => {});
    await server?.stop();
    await mock.close();
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  }

  const { used, noisy } = quietRounds(samples);
  const rows = buildRows(used);
  const cpu = Deno.build.target;
  const other = samples.otherCores.map((c) => c.toFixed(2)).join(", ");
  console.log(
    `${used.otherCores.length} of ${opts.rounds} round(s) used` +
      (noisy ? " — NOISY: fewer than 2 quiet rounds, all used" : "") +
      `; other processes' CPU per round (cores): ${other}`,
  );
  console.log(
    `yychat as a child process, mock and clients in this process; ` +
      `${navigator.hardwareConcurrency} CPUs (${cpu}); Deno ${Deno.version.deno}; ` +
      `${((performance.now() - started) / 1000).toFixed(1)} s\n`,
  );
  printTable(rows);
  const c = samples.cpu;
  const us = (ms: number, n: number) => `${((ms * 1000) / n).toFixed(1)} µs`;
  console.log(
    `\nCPU per streamed chunk (yychat: /proc ticks; this process: cpuUsage): through yychat: yychat process ` +
      `${us(c.ws[0], c.wsChunks)}, client+mock process ${us(c.ws[1], c.wsChunks)}; ` +
      `direct: client+mock process ${us(c.direct[1], c.directChunks)}; ` +
      `${samples.wsFrames} stream_chunk frames for ${c.wsChunks} upstream chunks`,
  );
  if (cpuProfDir) console.log(`\nyychat CPU profile written to ${cpuProfDir}`);
  return rows;
}

if (import.meta.main) await main(Deno.args);
