/**
 * OpenAI gateway overhead (issue 12, item 6): one instant upstream
 * (`bench/instant_mock.ts`, its own process), and in front of it, measured
 * in the same run with interleaved rounds:
 * - `direct`: the client talks to the upstream itself;
 * - `bare`: a bare Deno pass-through proxy (`bench/bare_proxy.ts`:
 *   `Deno.serve` + `fetch` + the body piped back), the runtime's limit for
 *   any gateway;
 * - `yychat`: `main.ts` as `deno task start` runs it (`USE_TOOLS_DEFAULT=false`:
 *   a pure gateway request; the default personality's prompt is still added);
 * - `portkey`: `@portkey-ai/gateway` from npm under Node (`bench/portkey.ts`).
 *
 * Phases (each round runs every phase; inside a phase the targets take turns
 * in an order that rotates from round to round):
 * 1. `nonstream`: 32 concurrent closed-loop clients, non-streaming
 *    completions of 8 words → requests/s, and the gateway's CPU per request;
 * 2. `stream`: 8 concurrent clients reading 200-chunk SSE streams → streams/s
 *    and the gateway's CPU per stream (÷ 200 = per chunk);
 * 3. `latency`: one request at a time, the targets interleaved sample by
 *    sample → p50/p99, and p50 added over `direct`;
 * 4. `first_chunk`: one paced stream at a time (first chunk, 50 ms pause, the
 *    rest) → time to the first content chunk, added over `direct`.
 *
 * CPU is `utime + stime` from `/proc/<pid>/stat` of the process that owns
 * the listening socket (found through `/proc/net/tcp` and `/proc/<pid>/fd`),
 * so a launcher process can never hide the server. Each window also records
 * how busy the rest of the machine was (the noise flag).
 *
 * `deno run --allow-net --allow-env --allow-read --allow-write --allow-run --allow-sys
 *   bench/completions_bench.ts [--quick] [--rounds N] [--no-portkey] [--only PHASE]
 *   [--yychat-cpu-prof DIR] [--json FILE]`
 */
import process from "node:process";
import { startServerProcess } from "../tests/helpers/server_process.ts";
import { PACED_PAUSE_MS, STREAM_CHUNKS } from "./instant_mock.ts";
import { nodeAvailable, startPortkey } from "./portkey.ts";
import { cpuSeconds, machineBusySeconds } from "./ws_load.ts";

export type TargetName = "direct" | "bare" | "yychat" | "portkey";
export type Phase = "nonstream" | "stream" | "latency" | "first_chunk";
export const PHASES: Phase[] = ["nonstream", "stream", "latency", "first_chunk"];

/** A server the load is sent to. */
export interface Target {
  name: TargetName;
  /** Base URL ending `/v1`. */
  baseUrl: string;
  /** Extra request headers (Portkey's routing headers). */
  headers: Record<string, string>;
  /** The process owning the listening socket. */
  pid: number;
  stop(): Promise<void>;
}

export interface BenchOptions {
  rounds: number;
  warmupS: number;
  windowS: number;
  nonstreamConcurrency: number;
  streamConcurrency: number;
  /** Samples per target per round (latency, first chunk). */
  latencySamples: number;
  firstChunkSamples: number;
  portkey: boolean;
  only?: Phase;
  yychatCpuProfDir?: string;
}

const FULL: BenchOptions = {
  rounds: 3,
  warmupS: 0.5,
  windowS: 2,
  nonstreamConcurrency: 32,
  streamConcurrency: 8,
  latencySamples: 300,
  firstChunkSamples: 30,
  portkey: true,
};

const QUICK: BenchOptions = {
  rounds: 1,
  warmupS: 0.2,
  windowS: 0.5,
  nonstreamConcurrency: 32,
  streamConcurrency: 8,
  latencySamples: 30,
  firstChunkSamples: 4,
  portkey: true,
};

// ---------------------------------------------------------------- /proc

/** Stdout of a short child process (Deno asks for `--allow-all` to read `/proc/net` itself). */
async function output(cmd: string, args: string[]): Promise<string> {
  const out = await new Deno.Command(cmd, {
    args,
    stdout: "piped",
    stderr: "null",
    stdin: "null",
    signal: AbortSignal.timeout(10_000),
  }).output();
  return new TextDecoder().decode(out.stdout);
}

/**
 * The pid of the process holding the listening TCP socket on `port`
 * (`/proc/net/tcp` gives the socket's inode, `/proc/<pid>/fd` its owner).
 */
export async function listeningPid(port: number): Promise<number> {
  const hexPort = port.toString(16).toUpperCase().padStart(4, "0");
  const inodes = new Set<string>();
  const table = await output("cat", ["/proc/net/tcp", "/proc/net/tcp6"]);
  for (const line of table.split("\n")) {
    const f = line.trim().split(/\s+/);
    // sl local_address rem_address st … inode (10th field)
    if (f.length > 9 && f[1]!.endsWith(`:${hexPort}`) && f[3] === "0A") inodes.add(f[9]!);
  }
  if (inodes.size === 0) throw new Error(`No process listens on port ${port}`);
  for (const inode of inodes) {
    const found = await output("find", [
      "/proc",
      "-maxdepth",
      "3",
      "-path",
      "/proc/[0-9]*/fd/*",
      "-lname",
      `socket:\\[${inode}\\]`, // -lname takes a glob: brackets escaped
    ]);
    const m = /^\/proc\/(\d+)\/fd\//m.exec(found);
    if (m) return Number(m[1]);
  }
  throw new Error(`Cannot find the process owning port ${port}`);
}

// ---------------------------------------------------------------- clients

const CHAT_BODY = (content: string, stream: boolean) =>
  JSON.stringify({
    model: "mock-model",
    messages: [{ role: "user", content }],
    ...(stream ? { stream: true } : {}),
  });
const NONSTREAM_BODY = CHAT_BODY("hi", false);
const STREAM_BODY = CHAT_BODY("long", true);
const PACED_BODY = CHAT_BODY("paced", true);
const DONE = new TextEncoder().encode("[DONE]");

function post(target: Target, body: string): Promise<Response> {
  return fetch(`${target.baseUrl}/chat/completions`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      authorization: "Bearer bench",
      ...target.headers,
    },
    body,
  });
}

/** One non-streaming completion; throws unless it is a 200 with a completion. */
export async function completeOnce(target: Target): Promise<void> {
  const res = await post(target, NONSTREAM_BODY);
  const text = await res.text();
  if (res.status !== 200 || !text.includes('"chat.completion"')) {
    throw new Error(`${target.name}: HTTP ${res.status}: ${text.slice(0, 300)}`);
  }
}

/** Bytes of `hay` end with `needle` somewhere in its last 64 bytes. */
function tailHas(hay: Uint8Array, needle: Uint8Array): boolean {
  outer: for (let i = Math.max(0, hay.length - 64); i <= hay.length - needle.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

/**
 * One streamed completion read to its end; returns the ms from the request
 * to the first chunk carrying content. Throws unless it ends with `[DONE]`.
 */
export async function streamOnce(target: Target, paced = false): Promise<number> {
  const started = performance.now();
  const res = await post(target, paced ? PACED_BODY : STREAM_BODY);
  if (res.status !== 200 || res.body === null) {
    throw new Error(`${target.name}: HTTP ${res.status}: ${(await res.text()).slice(0, 300)}`);
  }
  const decoder = new TextDecoder();
  let firstMs = NaN;
  let last: Uint8Array = new Uint8Array(0);
  for await (const chunk of res.body) {
    if (Number.isNaN(firstMs) && /"content":\s*"word/.test(decoder.decode(chunk))) {
      firstMs = performance.now() - started;
    }
    last = chunk;
  }
  if (!tailHas(last, DONE)) throw new Error(`${target.name}: the stream did not end with [DONE]`);
  if (Number.isNaN(firstMs)) throw new Error(`${target.name}: no content chunk`);
  return firstMs;
}

/** Runs `concurrency` closed loops of `once` for `seconds` after a warm-up; counts completions. */
async function closedLoop(
  once: () => Promise<unknown>,
  concurrency: number,
  warmupS: number,
  seconds: number,
  pid: number,
): Promise<{ perS: number; cpuUsPerOp: number; otherCores: number }> {
  let phase: "warmup" | "measure" | "stop" = "warmup";
  let count = 0;
  const loops = Array.from({ length: concurrency }, async () => {
    while (phase !== "stop") {
      await once();
      if (phase === "measure") count++;
    }
  });
  const failed = Promise.all(loops).then(() => undefined);
  const wait = (s: number) =>
    Promise.race([new Promise((r) => setTimeout(r, s * 1000)), failed.then(() => {})]);
  await wait(warmupS);
  const cpu0 = await cpuSeconds(pid);
  const busy0 = await machineBusySeconds();
  const own0 = ownCpuSeconds();
  const t0 = performance.now();
  phase = "measure";
  await wait(seconds);
  const n = count;
  phase = "stop";
  const t1 = performance.now();
  const cpu1 = await cpuSeconds(pid);
  const busy1 = await machineBusySeconds();
  const own1 = ownCpuSeconds();
  await failed;
  const windowS = (t1 - t0) / 1000;
  const gatewayCpu = cpu1 - cpu0;
  return {
    perS: n / windowS,
    cpuUsPerOp: n > 0 ? (gatewayCpu * 1e6) / n : NaN,
    // Busy cores of everything else (this process, the mock, the gateway are ours).
    otherCores: Math.max(0, (busy1 - busy0) - gatewayCpu - (own1 - own0)) / windowS,
  };
}

/** CPU seconds (user + system, all threads) this process used so far. */
function ownCpuSeconds(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
}

// ---------------------------------------------------------------- targets

/** Starts the upstream and every target in front of it. */
export async function startTargets(
  options: { portkey: boolean; yychatCpuProfDir?: string; dataDir: string },
): Promise<{ targets: Target[]; upstreamPid: number; stop(): Promise<void> }> {
  const mock = await startServerProcess({}, {
    script: "bench/instant_mock.ts",
    permissions: ["--allow-net", "--allow-env"],
  });
  const upstreamBase = `${mock.http}/v1`;
  const stops: (() => Promise<unknown>)[] = [() => mock.stop()];
  const targets: Target[] = [];
  try {
    targets.push({
      name: "direct",
      baseUrl: upstreamBase,
      headers: {},
      pid: await listeningPid(mock.port),
      stop: async () => {},
    });
    const bare = await startServerProcess({ UPSTREAM_URL: mock.http }, {
      script: "bench/bare_proxy.ts",
      permissions: ["--allow-net", "--allow-env"],
    });
    stops.push(() => bare.stop());
    targets.push({
      name: "bare",
      baseUrl: `${bare.http}/v1`,
      headers: {},
      pid: await listeningPid(bare.port),
      stop: async () => void await bare.stop(),
    });
    const yychat = await startServerProcess({
      OPENAI_BASE_URL: upstreamBase,
      OPENAI_API_KEY: "bench",
      OPENAI_MODEL: "mock-model",
      PROVIDER_MAX_RETRIES: "0",
      USE_TOOLS_DEFAULT: "false",
      YYCHAT_API_KEY: "",
      LOG_LEVEL: "warn",
      SHUTDOWN_GRACE_PERIOD: "1",
      YYCHAT_DATA_DIR: options.dataDir,
      YYCHAT_MCP_CONFIG: `${options.dataDir}/mcp.json`,
    }, {
      denoFlags: options.yychatCpuProfDir
        ? ["--cpu-prof", `--cpu-prof-dir=${options.yychatCpuProfDir}`]
        : [],
    });
    stops.push(() => yychat.stop("SIGINT"));
    targets.push({
      name: "yychat",
      baseUrl: `${yychat.http}/v1`,
      headers: {},
      pid: await listeningPid(yychat.port),
      stop: async () => void await yychat.stop("SIGINT"),
    });
    if (options.portkey) {
      const portkey = await startPortkey(upstreamBase);
      stops.push(() => portkey.stop());
      targets.push({
        name: "portkey",
        baseUrl: portkey.baseUrl,
        headers: portkey.headers,
        pid: await listeningPid(portkey.port),
        stop: () => portkey.stop(),
      });
    }
  } catch (err) {
    for (const stop of stops.reverse()) await stop().catch(() => {});
    throw err;
  }
  return {
    targets,
    upstreamPid: targets[0]!.pid,
    async stop() {
      for (const stop of stops.reverse()) await stop().catch(() => {});
    },
  };
}

// ---------------------------------------------------------------- phases

/** One measurement of one target in one round. */
export interface Sample {
  round: number;
  phase: Phase;
  target: TargetName;
  /** nonstream: requests/s; stream: streams/s. */
  perS?: number;
  /** CPU µs of the target's process per request (nonstream) or per stream (stream). */
  cpuUsPerOp?: number;
  otherCores?: number;
  /** latency / first_chunk: every sample, ms. */
  samplesMs?: number[];
}

function rotate<T>(items: T[], by: number): T[] {
  const k = by % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}

async function runRound(round: number, targets: Target[], o: BenchOptions): Promise<Sample[]> {
  const out: Sample[] = [];
  const order = rotate(targets, round);
  const want = (p: Phase) => o.only === undefined || o.only === p;
  if (want("nonstream")) {
    for (const t of order) {
      const r = await closedLoop(
        () => completeOnce(t),
        o.nonstreamConcurrency,
        o.warmupS,
        o.windowS,
        t.pid,
      );
      out.push({ round, phase: "nonstream", target: t.name, ...r });
    }
  }
  if (want("stream")) {
    for (const t of order) {
      const r = await closedLoop(
        () => streamOnce(t),
        o.streamConcurrency,
        o.warmupS,
        o.windowS,
        t.pid,
      );
      out.push({ round, phase: "stream", target: t.name, ...r });
    }
  }
  for (
    const [phase, n, once] of [
      ["latency", o.latencySamples, async (t: Target) => {
        const t0 = performance.now();
        await completeOnce(t);
        return performance.now() - t0;
      }],
      ["first_chunk", o.firstChunkSamples, (t: Target) => streamOnce(t, true)],
    ] as const
  ) {
    if (!want(phase)) continue;
    const samples = new Map<TargetName, number[]>(targets.map((t) => [t.name, []]));
    // Warm each connection pool first.
    for (const t of order) await once(t);
    for (let i = 0; i < n; i++) {
      for (const t of rotate(order, i)) samples.get(t.name)!.push(await once(t));
    }
    for (const t of order) {
      out.push({ round, phase, target: t.name, samplesMs: samples.get(t.name)! });
    }
  }
  return out;
}

// ---------------------------------------------------------------- report

function median(xs: number[]): number {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  return s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
}

/** Per target: the medians over rounds of each measurement. */
export interface Summary {
  target: TargetName;
  nonstreamPerS: number;
  nonstreamCpuUs: number;
  streamPerS: number;
  streamCpuUs: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  firstChunkP50Ms: number;
  otherCores: number;
}

export function summarise(samples: Sample[], targets: TargetName[]): Summary[] {
  const pick = (t: TargetName, phase: Phase) =>
    samples.filter((s) => s.target === t && s.phase === phase);
  return targets.map((t) => {
    const ns = pick(t, "nonstream");
    const st = pick(t, "stream");
    const lat = pick(t, "latency").flatMap((s) => s.samplesMs ?? []);
    const fc = pick(t, "first_chunk").flatMap((s) => s.samplesMs ?? []);
    return {
      target: t,
      nonstreamPerS: median(ns.map((s) => s.perS!)),
      nonstreamCpuUs: median(ns.map((s) => s.cpuUsPerOp!)),
      streamPerS: median(st.map((s) => s.perS!)),
      streamCpuUs: median(st.map((s) => s.cpuUsPerOp!)),
      latencyP50Ms: percentile(lat, 0.5),
      latencyP99Ms: percentile(lat, 0.99),
      firstChunkP50Ms: percentile(fc, 0.5),
      otherCores: median([...ns, ...st].map((s) => s.otherCores!)),
    };
  });
}

const fmt = (x: number, digits = 0) =>
  Number.isFinite(x)
    ? x.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits })
    : "—";

/** Markdown tables: the figures per target, then the targets of the issue. */
export function report(summaries: Summary[]): string {
  const by = new Map(summaries.map((s) => [s.target, s]));
  const cols = summaries.map((s) => s.target);
  const row = (label: string, f: (s: Summary) => string) =>
    `| ${label} | ${summaries.map(f).join(" | ")} |`;
  const lines = [
    `| measurement (median of rounds) | ${cols.join(" | ")} |`,
    `| --- | ${cols.map(() => "---:").join(" | ")} |`,
    row("non-streaming requests/s (32 concurrent)", (s) => fmt(s.nonstreamPerS)),
    row("CPU µs per non-streaming request", (s) => fmt(s.nonstreamCpuUs)),
    row(`streams/s (${STREAM_CHUNKS} chunks, 8 concurrent)`, (s) => fmt(s.streamPerS, 1)),
    row(`CPU µs per ${STREAM_CHUNKS}-chunk stream`, (s) => fmt(s.streamCpuUs)),
    row("CPU µs per streamed chunk", (s) => fmt(s.streamCpuUs / STREAM_CHUNKS, 2)),
    row("one at a time: p50 ms", (s) => fmt(s.latencyP50Ms, 3)),
    row("one at a time: p99 ms", (s) => fmt(s.latencyP99Ms, 3)),
    row(
      `paced stream: first chunk p50 ms (pause ${PACED_PAUSE_MS} ms after it)`,
      (s) => fmt(s.firstChunkP50Ms, 3),
    ),
    row("other processes, cores busy (median)", (s) => fmt(s.otherCores, 2)),
  ];
  const direct = by.get("direct");
  const bare = by.get("bare");
  const yy = by.get("yychat");
  const pk = by.get("portkey");
  if (direct && bare && yy) {
    const addedLat = (s: Summary) => s.latencyP50Ms - direct.latencyP50Ms;
    const addedFirst = (s: Summary) => s.firstChunkP50Ms - direct.firstChunkP50Ms;
    const verdict = (ok: boolean) => ok ? "PASS" : "FAIL";
    const targetRows: [string, number, string, boolean][] = [
      [
        "non-streaming CPU per request, yychat ÷ bare",
        yy.nonstreamCpuUs / bare.nonstreamCpuUs,
        "≤ 2×",
        yy.nonstreamCpuUs / bare.nonstreamCpuUs <= 2,
      ],
      [
        "SSE CPU per chunk, yychat ÷ bare",
        yy.streamCpuUs / bare.streamCpuUs,
        "≤ 4×",
        yy.streamCpuUs / bare.streamCpuUs <= 4,
      ],
      [
        "added latency alone (p50 over direct), yychat ÷ bare",
        addedLat(yy) / addedLat(bare),
        "≤ 1.5×",
        addedLat(yy) / addedLat(bare) <= 1.5,
      ],
      [
        "streamed first chunk added (p50 over direct), yychat ÷ bare",
        addedFirst(yy) / addedFirst(bare),
        "≤ 2×",
        addedFirst(yy) / addedFirst(bare) <= 2,
      ],
    ];
    if (pk) {
      targetRows.push(
        [
          "non-streaming throughput, yychat ÷ Portkey",
          yy.nonstreamPerS / pk.nonstreamPerS,
          "≥ 1.5×",
          yy.nonstreamPerS / pk.nonstreamPerS >= 1.5,
        ],
        [
          "streaming throughput, yychat ÷ Portkey",
          yy.streamPerS / pk.streamPerS,
          "≥ 1.5×",
          yy.streamPerS / pk.streamPerS >= 1.5,
        ],
      );
    }
    lines.push(
      "",
      "| target | ratio | goal | |",
      "| --- | ---: | --- | --- |",
      ...targetRows.map(([label, ratio, goal, ok]) =>
        `| ${label} | ${fmt(ratio, 2)}× | ${goal} | ${verdict(ok)} |`
      ),
      "",
      `Added p50 over direct, one at a time: bare ${fmt(addedLat(bare), 3)} ms, yychat ${
        fmt(addedLat(yy), 3)
      } ms${pk ? `, Portkey ${fmt(addedLat(pk), 3)} ms` : ""}; first chunk: bare ${
        fmt(addedFirst(bare), 3)
      } ms, yychat ${fmt(addedFirst(yy), 3)} ms${
        pk ? `, Portkey ${fmt(addedFirst(pk), 3)} ms` : ""
      }.`,
    );
  }
  return lines.join("\n");
}

// ---------------------------------------------------------------- main

function parseArgs(args: string[]): BenchOptions & { json?: string } {
  const o: BenchOptions & { json?: string } = {
    ...(args.includes("--quick") ? QUICK : FULL),
  };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--rounds") o.rounds = Number(args[++i]);
    else if (a === "--no-portkey") o.portkey = false;
    else if (a === "--only") o.only = args[++i] as Phase;
    else if (a === "--yychat-cpu-prof") o.yychatCpuProfDir = args[++i];
    else if (a === "--json") o.json = args[++i];
  }
  if (o.only !== undefined && !PHASES.includes(o.only)) {
    throw new TypeError(`--only takes one of ${PHASES.join(", ")}`);
  }
  return o;
}

/** Runs the benchmark and prints its tables; returns the per-target summaries. */
export async function main(args: string[] = []): Promise<Summary[]> {
  const o = parseArgs(args);
  if (o.portkey && !await nodeAvailable()) {
    console.warn("node is not installed: Portkey is left out (apt-get install nodejs npm)");
    o.portkey = false;
  }
  const dataDir = await Deno.makeTempDir({ prefix: "yychat-completions-bench-" });
  const started = performance.now();
  const { targets, stop } = await startTargets({
    portkey: o.portkey,
    dataDir,
    yychatCpuProfDir: o.yychatCpuProfDir,
  });
  const samples: Sample[] = [];
  try {
    // Every target answers correctly before anything is timed.
    for (const t of targets) {
      await completeOnce(t);
      await streamOnce(t);
    }
    for (let round = 0; round < o.rounds; round++) {
      samples.push(...await runRound(round, targets, o));
      console.error(`round ${round + 1}/${o.rounds} done`);
    }
  } finally {
    await stop();
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  }
  const summaries = summarise(samples, targets.map((t) => t.name));
  console.log(
    `completions_bench: ${o.rounds} round(s), ${
      ((performance.now() - started) / 1000).toFixed(0)
    } s, Deno ${Deno.version.deno}\n`,
  );
  console.log(report(summaries));
  if (o.json) await Deno.writeTextFile(o.json, JSON.stringify({ samples, summaries }, null, 1));
  return summaries;
}

if (import.meta.main) await main(Deno.args);
