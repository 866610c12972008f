/**
 * Gateway benchmark: yychat against a bare `Deno.serve` echo server
 * (`bench/echo_server.ts`) with the same load, in one invocation, and the
 * ratios the issue sets targets for.
 *
 * Both servers run as child processes (so `/proc/<pid>` measures only the
 * server) on free ports, one after the other with identical parameters; the
 * order alternates between repetitions and each number is the median over
 * repetitions, so drift of the shared 2-core machine hits both alike.
 *
 * Per server run: warm-up, idle connections (RSS per connection), closed
 * loop (Deno `WebSocket` client: the lowest latency floor on this box), then
 * pipelined (raw client with batched frames: the server saturates first).
 *
 * `deno run --allow-net --allow-env --allow-read --allow-write --allow-run --allow-sys
 *   bench/gateway_bench.ts [--quick] [--reps N] [--idle N] [--json FILE]`
 */
import { type LoadResult, runLoad } from "./ws_load.ts";

const REPO_ROOT = new URL("../", import.meta.url);

export interface GatewayBenchOptions {
  reps: number;
  idleConnections: number;
  /** Seconds the idle connections are held before RSS is read. */
  idleHoldS: number;
  closedConnections: number;
  pipelinedConnections: number;
  inflight: number;
  warmupS: number;
  durationS: number;
}

const FULL: GatewayBenchOptions = {
  reps: 3,
  idleConnections: 10_000,
  idleHoldS: 1,
  closedConnections: 32,
  pipelinedConnections: 32,
  inflight: 16,
  warmupS: 1,
  durationS: 4,
};

const QUICK: GatewayBenchOptions = {
  reps: 1,
  idleConnections: 500,
  idleHoldS: 0.3,
  closedConnections: 16,
  pipelinedConnections: 16,
  inflight: 8,
  warmupS: 0.3,
  durationS: 1,
};

type Target = "baseline" | "yychat";

/** One server run's measurements. */
export interface RunResult {
  target: Target;
  idle: LoadResult;
  closed: LoadResult;
  pipelined: LoadResult;
}

interface ServerProcess {
  pid: number;
  url: string;
  stop(): Promise<void>;
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** Starts one server as a child process and waits until it accepts connections. */
async function startServer(target: Target, dataDir: string): Promise<ServerProcess> {
  const port = freePort();
  const args = target === "baseline"
    ? ["run", "--allow-net", "--allow-env", "bench/echo_server.ts", String(port)]
    : [
      "run",
      "--allow-net",
      "--allow-env",
      "--allow-read",
      `--allow-write=${dataDir}`,
      "--allow-run",
      "--allow-sys=hostname,osRelease",
      "main.ts",
    ];
  const child = new Deno.Command(Deno.execPath(), {
    args,
    cwd: REPO_ROOT,
    env: {
      SERVER_HOST: "127.0.0.1",
      SERVER_PORT: String(port),
      // Room for the idle run; the rate limit stays in the chain but never rejects.
      WS_MAX_CONNECTIONS: "20000",
      WS_MESSAGES_PER_SECOND: "1000000",
      LOG_LEVEL: "warn",
      SHUTDOWN_GRACE_PERIOD: "1",
      YYCHAT_DATA_DIR: dataDir,
    },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  // Keep the tail of stderr for diagnostics; draining it means a chatty server never blocks.
  let stderrTail = "";
  const drained = (async () => {
    const dec = new TextDecoder();
    for await (const chunk of child.stderr) {
      stderrTail = (stderrTail + dec.decode(chunk, { stream: true })).slice(-4000);
    }
  })().catch(() => {});
  let exited = false;
  const status = child.status.then((s) => {
    exited = true;
    return s;
  });

  const stop = async () => {
    if (!exited) {
      try {
        child.kill("SIGTERM");
      } catch { /* already gone */ }
      const timer = setTimeout(() => {
        try {
          child.kill("SIGKILL");
        } catch { /* already gone */ }
      }, 8000);
      await status;
      clearTimeout(timer);
    }
    await drained;
  };

  const deadline = Date.now() + 20_000;
  for (;;) {
    if (exited) {
      await stop();
      throw new Error(`${target} server exited before listening:\n${stderrTail}`);
    }
    try {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      conn.close();
      break;
    } catch {
      if (Date.now() > deadline) {
        await stop();
        throw new Error(`${target} server did not listen on port ${port} within 20 s`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return { pid: child.pid, url: `ws://127.0.0.1:${port}/ws/chat`, stop };
}

/** One full measurement of one server. */
async function measure(
  target: Target,
  opts: GatewayBenchOptions,
  dataDir: string,
): Promise<RunResult> {
  const server = await startServer(target, dataDir);
  try {
    const common = { url: server.url, serverPid: server.pid, timeoutMs: 120_000 };
    // JIT warm-up of both sides; not recorded.
    await runLoad({ ...common, mode: "closed", connections: 8, durationMs: 300, warmupMs: 300 });
    await new Promise((r) => setTimeout(r, 300));
    const idle = await runLoad({
      ...common,
      mode: "idle",
      connections: opts.idleConnections,
      durationMs: opts.idleHoldS * 1000,
      connectConcurrency: 128,
    });
    const closed = await runLoad({
      ...common,
      mode: "closed",
      client: "ws",
      connections: opts.closedConnections,
      durationMs: opts.durationS * 1000,
      warmupMs: opts.warmupS * 1000,
    });
    const pipelined = await runLoad({
      ...common,
      mode: "pipelined",
      client: "raw",
      connections: opts.pipelinedConnections,
      inflight: opts.inflight,
      durationMs: opts.durationS * 1000,
      warmupMs: opts.warmupS * 1000,
    });
    return { target, idle, closed, pipelined };
  } finally {
    await server.stop();
  }
}

function median(values: number[]): number {
  const s = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** A row of the results table. */
export interface Row {
  metric: string;
  baseline: number;
  yychat: number;
  ratio: number;
  /** "≤ 1.25" etc.; empty for rows without a target. */
  target: string;
  pass?: boolean;
  digits: number;
}

/** Medians over repetitions, as table rows with ratios and pass/fail. */
export function summarize(runs: RunResult[]): Row[] {
  const pick = (t: Target, f: (r: RunResult) => number | undefined) =>
    median(runs.filter((r) => r.target === t).map((r) => f(r) ?? NaN));
  const row = (
    metric: string,
    f: (r: RunResult) => number | undefined,
    digits: number,
    target?: { op: "<=" | ">="; ratio: number },
  ): Row => {
    const baseline = pick("baseline", f);
    const yychat = pick("yychat", f);
    const ratio = yychat / baseline;
    return {
      metric,
      baseline,
      yychat,
      ratio,
      digits,
      target: target ? `${target.op === "<=" ? "≤" : "≥"} ${target.ratio}` : "",
      ...(target
        ? { pass: target.op === "<=" ? ratio <= target.ratio : ratio >= target.ratio }
        : {}),
    };
  };
  const idleN = runs[0]?.idle.connections ?? 0;
  return [
    row("Server CPU µs per ping→pong (pipelined)", (r) => r.pipelined.serverCpuUsPerMsg, 2, {
      op: "<=",
      ratio: 1.25,
    }),
    row("Server CPU µs per ping→pong (closed loop)", (r) => r.closed.serverCpuUsPerMsg, 2),
    row("Pipelined throughput, msgs/s", (r) => r.pipelined.msgsPerS, 0, {
      op: ">=",
      ratio: 0.85,
    }),
    row("Pipelined: server CPU, % of a core", (r) => r.pipelined.serverCpuPct, 0),
    row("Closed-loop throughput, msgs/s", (r) => r.closed.msgsPerS, 0),
    row("Closed-loop latency p50, ms", (r) => r.closed.latency?.p50Ms, 3),
    row("Closed-loop latency p90, ms", (r) => r.closed.latency?.p90Ms, 3),
    row("Closed-loop latency p99, ms", (r) => r.closed.latency?.p99Ms, 3, {
      op: "<=",
      ratio: 1.3,
    }),
    row("Closed-loop latency max, ms", (r) => r.closed.latency?.maxMs, 2),
    row(
      `Idle RSS per connection, KiB (${idleN} held)`,
      (r) => r.idle.rss && r.idle.rss.held === idleN ? r.idle.rss.perConnBytes / 1024 : NaN,
      2,
      { op: "<=", ratio: 1.2 },
    ),
  ];
}

/** The rows as a markdown table. */
export function markdownTable(rows: Row[]): string {
  const fmt = (v: number, d: number) =>
    Number.isFinite(v) ? v.toLocaleString("en-US", { maximumFractionDigits: d }) : "n/a";
  const lines = [
    "| metric | baseline (bare Deno.serve) | yychat | yychat / baseline | target | result |",
    "|---|---:|---:|---:|---|---|",
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.metric} | ${fmt(r.baseline, r.digits)} | ${fmt(r.yychat, r.digits)} | ${
        fmt(r.ratio, 3)
      } | ${r.target} | ${r.pass === undefined ? "" : r.pass ? "PASS" : "FAIL"} |`,
    );
  }
  return lines.join("\n");
}

function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(`--${name}`);
  return i === -1 ? undefined : args[i + 1];
}

function brief(r: RunResult): string {
  const f = (v: number | undefined, d = 1) => v === undefined ? "-" : v.toFixed(d);
  return `${r.target.padEnd(8)} idle ${r.idle.rss?.held} held, ${
    f((r.idle.rss?.perConnBytes ?? NaN) / 1024, 2)
  } KiB/conn | closed ${f(r.closed.msgsPerS, 0)}/s p99 ${f(r.closed.latency?.p99Ms, 3)} ms, ${
    f(r.closed.serverCpuUsPerMsg, 2)
  } µs/msg (server ${f(r.closed.serverCpuPct, 0)}%, client ${
    f(r.closed.clientCpuPct, 0)
  }%) | pipelined ${f(r.pipelined.msgsPerS, 0)}/s, ${
    f(r.pipelined.serverCpuUsPerMsg, 2)
  } µs/msg (server ${f(r.pipelined.serverCpuPct, 0)}%, client ${f(r.pipelined.clientCpuPct, 0)}%)`;
}

/**
 * Runs the benchmark and prints the table. `--quick`: a smoke run (< 20 s);
 * `--reps N`, `--idle N` override; `--json FILE` also writes every run.
 * Returns the rows; failures of correctness (lost pongs, errors, idle
 * connections not all held) throw.
 */
export async function main(args: string[] = []): Promise<Row[]> {
  const opts = { ...(args.includes("--quick") ? QUICK : FULL) };
  if (flag(args, "reps")) opts.reps = Number(flag(args, "reps"));
  if (flag(args, "idle")) opts.idleConnections = Number(flag(args, "idle"));
  const started = performance.now();
  const dataDir = await Deno.makeTempDir({ prefix: "yychat_bench_" });
  const runs: RunResult[] = [];
  try {
    console.log(
      `# Gateway benchmark: yychat vs bare Deno.serve echo (${opts.reps} rep(s), ` +
        `${opts.idleConnections} idle, closed ${opts.closedConnections} conns, ` +
        `pipelined ${opts.pipelinedConnections}×${opts.inflight}, ${opts.durationS} s windows)`,
    );
    for (let rep = 0; rep < opts.reps; rep++) {
      const order: Target[] = rep % 2 === 0 ? ["baseline", "yychat"] : ["yychat", "baseline"];
      for (const target of order) {
        const run = await measure(target, opts, dataDir);
        runs.push(run);
        console.log(`  rep ${rep + 1} ${brief(run)}`);
        for (
          const [mode, r] of [["idle", run.idle], ["closed", run.closed], [
            "pipelined",
            run.pipelined,
          ]] as const
        ) {
          if (r.errors > 0 || r.unanswered > 0) {
            throw new Error(
              `${target} ${mode}: ${r.errors} error(s), ${r.unanswered} unanswered ping(s)` +
                (r.firstError ? ` — first: ${r.firstError}` : ""),
            );
          }
        }
      }
    }
  } finally {
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  }
  const rows = summarize(runs);
  console.log("");
  console.log(markdownTable(rows));
  console.log(
    `\nMedians over ${opts.reps} rep(s); ${
      ((performance.now() - started) / 1000).toFixed(0)
    } s in all. Client and server share this machine's ${navigator.hardwareConcurrency} cores.`,
  );
  const json = flag(args, "json");
  if (json) await Deno.writeTextFile(json, JSON.stringify({ opts, runs, rows }, null, 2));
  return rows;
}

if (import.meta.main) await main(Deno.args);
