/**
 * Other connections' ping latency while 1 MiB messages with a
 * `conversation_id` flow (SPEC §8: "a 1 MiB message (any script, CJK
 * included) with a `conversation_id` keeps other connections' ping p99
 * under 50 ms").
 *
 * yychat runs as a child process like `deno task start` (SQLite memory in a
 * temporary directory, or PostgreSQL with `--postgres`), reading an OpenAI
 * mock. A worker thread (`bench/memory_load_worker.ts`) runs the mock and two
 * clients that each send a 1 MiB `text_message`, wait for its `stream_end`
 * and send the next; meanwhile this thread keeps 8 other connections in a
 * closed ping→pong loop (`bench/ws_load.ts`, raw client) and records their
 * round trips. Phases, alternated in every round:
 *
 * - `idle`: pings only (the baseline);
 * - `CJK, no conversation_id`: 1 MiB Chinese messages without memory (what
 *   the frame, the validation and the provider request cost on their own);
 * - `CJK, conversation_id`: the same with memory (store + recall);
 * - `English, conversation_id`.
 *
 * Each conversation grows by one 1 MiB turn per message, so later messages
 * recall against more big stored messages.
 *
 * With `--baseline DIR` a second yychat runs from another checkout (for
 * example the commit before a change: `git archive <commit> | tar -x -C DIR`)
 * and every phase runs against both, alternating which goes first, with the
 * same messages: the two columns of the result are side by side.
 *
 * Run: `deno run --allow-all bench/memory_load_bench.ts [--quick] [--rounds N]
 * [--postgres] [--baseline DIR]`.
 */
import { startServerProcess } from "../tests/helpers/server_process.ts";
import type { ServerProcess } from "../tests/helpers/server_process.ts";
import { runLoad } from "./ws_load.ts";
import type { LoadResult } from "./ws_load.ts";
import type { SendCommand, WorkerCommand, WorkerReply } from "./memory_load_worker.ts";

interface Phase {
  name: string;
  send?: Pick<SendCommand, "script" | "conversation">;
}

const PHASES: Phase[] = [
  { name: "idle (pings only)" },
  { name: "1 MiB CJK, no conversation_id", send: { script: "cjk", conversation: false } },
  { name: "1 MiB CJK, conversation_id", send: { script: "cjk", conversation: true } },
  { name: "1 MiB English, conversation_id", send: { script: "latin", conversation: true } },
];

export interface MemoryLoadRow {
  /** `yychat`, or `baseline` (the checkout given with `--baseline`). */
  server: string;
  phase: string;
  rounds: number;
  /** Medians over rounds. */
  p50Ms: number;
  p99Ms: number;
  /** Worst over rounds. */
  maxMs: number;
  /** Big messages completed per second (median over rounds). */
  bigPerS: number;
  /** Other processes' CPU, % of one core (median over rounds): the noise flag. */
  otherCpuPct: number;
}

class WorkerClient {
  readonly #worker = new Worker(new URL("./memory_load_worker.ts", import.meta.url), {
    type: "module",
  });
  #waiting: ((reply: WorkerReply) => void) | undefined;

  constructor() {
    this.#worker.onmessage = (ev: MessageEvent<WorkerReply>) => {
      const w = this.#waiting;
      this.#waiting = undefined;
      w?.(ev.data);
    };
  }

  request(cmd: WorkerCommand): Promise<WorkerReply> {
    return new Promise((resolve) => {
      this.#waiting = resolve;
      this.#worker.postMessage(cmd);
    });
  }

  terminate(): void {
    this.#worker.terminate();
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
};

function argValue(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

async function databaseUrl(args: string[]): Promise<
  { url: string; close(): Promise<void> } | undefined
> {
  if (!args.includes("--postgres")) return undefined;
  const { postgresAvailable, startPostgres } = await import(
    new URL("../tests/helpers/postgres_server.ts", import.meta.url).href
  );
  if (!postgresAvailable()) {
    console.log("(--postgres ignored: install Debian's postgresql package)");
    return undefined;
  }
  return await startPostgres();
}

/** Runs the benchmark and prints a markdown table; returns the rows. */
export async function main(args: string[] = []): Promise<MemoryLoadRow[]> {
  const quick = args.includes("--quick");
  const rounds = Number(argValue(args, "--rounds") ?? (quick ? 1 : 3));
  const durationMs = quick ? 2500 : 8000;
  const baseline = argValue(args, "--baseline");
  const worker = new WorkerClient();
  const pg = await databaseUrl(args);
  const servers: { name: string; process: ServerProcess }[] = [];
  const samples = new Map<string, { load: LoadResult; big: number }[]>();
  try {
    const ready = await worker.request({ type: "start" });
    if (ready.type !== "ready") throw new Error(`Worker answered ${ready.type}`);
    const env = {
      OPENAI_BASE_URL: ready.baseUrl,
      OPENAI_API_KEY: "x",
      OPENAI_MODEL: "mock-model",
      PROVIDER_MAX_RETRIES: "0",
      LOG_LEVEL: "warn",
      WS_MESSAGES_PER_SECOND: "1000000",
    };
    servers.push({
      name: "yychat",
      process: await startServerProcess({
        ...env,
        ...(pg ? { YYCHAT_DATABASE_URL: pg.url } : {}),
      }),
    });
    // The baseline: another checkout (e.g. `git archive <commit> | tar -x -C DIR`), SQLite.
    if (baseline) {
      servers.push({
        name: "baseline",
        process: await startServerProcess(env, { root: baseline }),
      });
    }
    let seed = 1;
    for (let round = 0; round < rounds; round++) {
      // Rotate the order so no phase always follows the same one.
      const order = PHASES.map((_, i) => PHASES[(i + round) % PHASES.length]!);
      for (const phase of order) {
        const pair = round % 2 === 0 ? servers : [...servers].reverse();
        seed += 1000;
        for (const { name, process: server } of pair) {
          const sending = phase.send
            ? worker.request({
              type: "send",
              url: server.ws,
              senders: 2,
              durationMs: durationMs + 800,
              // The same messages for both servers.
              seed,
              ...phase.send,
            })
            : Promise.resolve(undefined);
          const load = await runLoad({
            url: server.ws,
            mode: "closed",
            connections: 8,
            durationMs,
            warmupMs: 500,
            serverPid: server.pid,
            client: "raw",
          });
          const sent = await sending;
          let big = 0;
          if (sent?.type === "sent") {
            if (sent.errors > 0) throw new Error(`${name}, ${phase.name}: ${sent.firstError}`);
            big = sent.messages / ((durationMs + 800) / 1000);
          }
          if (load.errors > 0) {
            throw new Error(`${name}, ${phase.name}: ping errors: ${load.firstError}`);
          }
          const key = `${name}\u0000${phase.name}`;
          const list = samples.get(key) ?? [];
          list.push({ load, big });
          samples.set(key, list);
        }
      }
    }
  } finally {
    for (const s of servers) await s.process.stop();
    await worker.request({ type: "stop" }).catch(() => {});
    worker.terminate();
    await pg?.close();
  }
  const rows: MemoryLoadRow[] = servers.flatMap(({ name }) =>
    PHASES.map((phase) => {
      const s = samples.get(`${name}\u0000${phase.name}`) ?? [];
      return {
        server: name,
        phase: phase.name,
        rounds: s.length,
        p50Ms: median(s.map((x) => x.load.latency?.p50Ms ?? NaN)),
        p99Ms: median(s.map((x) => x.load.latency?.p99Ms ?? NaN)),
        maxMs: Math.max(...s.map((x) => x.load.latency?.maxMs ?? NaN)),
        bigPerS: median(s.map((x) => x.big)),
        otherCpuPct: median(s.map((x) => x.load.otherCpuPct ?? NaN)),
      };
    })
  );
  console.log(
    `| server (${
      pg ? "PostgreSQL" : "SQLite"
    }) | phase | rounds | ping p50 | ping p99 | ping max | ` +
      "1 MiB msgs/s | other CPU | p99 < 50 ms |",
  );
  console.log("|---|---|---:|---:|---:|---:|---:|---:|---|");
  for (const r of rows) {
    console.log(
      `| ${r.server} | ${r.phase} | ${r.rounds} | ${r.p50Ms.toFixed(2)} ms | ${
        r.p99Ms.toFixed(2)
      } ms | ${r.maxMs.toFixed(1)} ms | ${r.bigPerS.toFixed(2)} | ${r.otherCpuPct.toFixed(0)} % | ${
        r.p99Ms < 50 ? "PASS" : "FAIL"
      } |`,
    );
  }
  return rows;
}

if (import.meta.main) await main(Deno.args);
