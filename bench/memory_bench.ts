/**
 * Memory work per big message (SPEC §8, "Big inputs do not stall others"):
 * how long one `appendTurn()` and one `context()` take, and how long they
 * hold the event loop, when a message is 1 MiB of Chinese or English text.
 *
 * For each store (SQLite always; PostgreSQL too when `--postgres` is given
 * and the Debian binaries are installed — a private server is started in a
 * temporary directory) one conversation is filled with turns whose user
 * message is 1 MiB, then:
 *
 * - `appendTurn`: one more turn with a 1 MiB user message;
 * - `context`: the next request's context, the query being a 1 MiB message
 *   (the recall query is built from it and matched against the stored big
 *   messages), and a short query for comparison.
 *
 * "stall" is the longest gap between two ticks of a 1 ms timer while the
 * operation ran: the time every other connection of the process waited.
 * For SQLite (synchronous underneath) it is about the whole operation; for
 * PostgreSQL only the part done in this process.
 *
 * With `--baseline DIR`, the SQLite store of another checkout (e.g. the
 * commit before a change: `git archive <commit> | tar -x -C DIR`) runs the
 * same workload first, for a side-by-side comparison.
 *
 * Run: `deno run --allow-all bench/memory_bench.ts [--quick] [--postgres] [--baseline DIR]`.
 */
import type { ChatMessage } from "../src/core/chat.ts";
import type { MemoryStore } from "../src/memory/store.ts";
import { SqliteMemoryStore } from "../src/memory/sqlite_store.ts";
import { cjkText, latinText, ONE_MIB_CONTENT_BYTES } from "./big_text.ts";

export interface MemoryBenchRow {
  store: string;
  what: string;
  n: number;
  p50Ms: number;
  maxMs: number;
  /** Longest event-loop stall over the samples. */
  stallMs: number;
}

/** Measures the longest gap between ticks of a 1 ms interval while `fn` runs. */
async function withStallProbe<T>(fn: () => Promise<T>): Promise<{ ms: number; stallMs: number }> {
  let last = performance.now();
  let stall = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    stall = Math.max(stall, now - last);
    last = now;
  }, 1);
  // Let the interval start ticking before the operation.
  await new Promise((r) => setTimeout(r, 3));
  last = performance.now();
  const t0 = performance.now();
  await fn();
  const ms = performance.now() - t0;
  stall = Math.max(stall, performance.now() - last);
  clearInterval(timer);
  return { ms, stallMs: stall };
}

function row(store: string, what: string, samples: { ms: number; stallMs: number }[]) {
  const ms = samples.map((s) => s.ms).sort((a, b) => a - b);
  return {
    store,
    what,
    n: ms.length,
    p50Ms: ms[Math.floor(ms.length / 2)]!,
    maxMs: ms[ms.length - 1]!,
    stallMs: Math.max(...samples.map((s) => s.stallMs)),
  };
}

function bigTurn(content: string, i: number): ChatMessage[] {
  return [
    { role: "user", content },
    { role: "assistant", content: `Noted, big message ${i}.` },
  ];
}

/** Runs the measurements on one store. */
export async function measureStore(
  name: string,
  store: MemoryStore,
  options: { samples: number; stored: number },
): Promise<MemoryBenchRow[]> {
  const rows: MemoryBenchRow[] = [];
  const ns = "bench";
  const conv = `big-${crypto.randomUUID()}`;
  let seed = 1;
  for (let i = 0; i < options.stored; i++) {
    await store.appendTurn(ns, conv, bigTurn(cjkText(ONE_MIB_CONTENT_BYTES, seed++), i));
    await store.appendTurn(ns, conv, [
      { role: "user", content: `small question ${i} about 北京烤鸭` },
      { role: "assistant", content: `small answer ${i}` },
    ]);
  }
  const texts = {
    cjk: () => cjkText(ONE_MIB_CONTENT_BYTES, seed++),
    latin: () => latinText(ONE_MIB_CONTENT_BYTES, seed++),
  };
  const contextOptions = (query: string) => ({
    query,
    tokenBudget: 6000,
    maxRecentMessages: 20,
  });
  for (const [script, make] of Object.entries(texts)) {
    const appends = [];
    for (let i = 0; i < options.samples; i++) {
      const content = make();
      appends.push(await withStallProbe(() => store.appendTurn(ns, conv, bigTurn(content, i))));
    }
    rows.push(row(name, `appendTurn, 1 MiB ${script} user message`, appends));
    const contexts = [];
    for (let i = 0; i < options.samples; i++) {
      const query = make();
      contexts.push(await withStallProbe(() => store.context(ns, conv, contextOptions(query))));
    }
    rows.push(row(name, `context, 1 MiB ${script} query`, contexts));
  }
  const short = [];
  for (let i = 0; i < options.samples; i++) {
    short.push(await withStallProbe(() => store.context(ns, conv, contextOptions("北京烤鸭"))));
  }
  rows.push(row(name, "context, short query", short));
  return rows;
}

function printRows(rows: MemoryBenchRow[]): void {
  console.log("| store | operation | n | p50 | max | longest stall |");
  console.log("|---|---|---:|---:|---:|---:|");
  for (const r of rows) {
    console.log(
      `| ${r.store} | ${r.what} | ${r.n} | ${r.p50Ms.toFixed(1)} ms | ${r.maxMs.toFixed(1)} ms | ${
        r.stallMs.toFixed(1)
      } ms |`,
    );
  }
}

/** Optional PostgreSQL part: loaded at run time so the SQLite part runs without it. */
async function postgresRows(options: { samples: number; stored: number }) {
  const helper = new URL("../tests/helpers/postgres_server.ts", import.meta.url);
  const storeUrl = new URL("../src/memory/postgres_store.ts", import.meta.url);
  try {
    await Deno.stat(helper);
    await Deno.stat(storeUrl);
  } catch {
    console.log("(PostgreSQL part skipped: store or helper not present)");
    return [];
  }
  const { postgresAvailable, startPostgres } = await import(helper.href);
  if (!postgresAvailable()) {
    console.log("(PostgreSQL part skipped: install Debian's postgresql package)");
    return [];
  }
  const { PostgresMemoryStore } = await import(storeUrl.href);
  const pg = await startPostgres();
  try {
    const store = await PostgresMemoryStore.open({ url: pg.url });
    try {
      return await measureStore("PostgreSQL", store, options);
    } finally {
      await store.close();
    }
  } finally {
    await pg.close();
  }
}

function argValue(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

/** Runs the benchmark and prints a markdown table; returns the rows. */
export async function main(args: string[] = []): Promise<MemoryBenchRow[]> {
  const quick = args.includes("--quick");
  const options = { samples: quick ? 3 : 10, stored: quick ? 3 : 8 };
  const dataDir = await Deno.makeTempDir({ prefix: "yychat_memory_bench_" });
  const rows: MemoryBenchRow[] = [];
  try {
    const baseline = argValue(args, "--baseline");
    if (baseline) {
      // The store of another checkout (e.g. the commit before a change), same workload.
      const old = await import(`${baseline.replace(/\/$/, "")}/src/memory/sqlite_store.ts`);
      const store: MemoryStore = new old.SqliteMemoryStore({ dataDir: `${dataDir}/baseline` });
      try {
        rows.push(...await measureStore("SQLite (baseline)", store, options));
      } finally {
        await store.close();
      }
    }
    const sqlite = new SqliteMemoryStore({ dataDir });
    try {
      rows.push(...await measureStore("SQLite", sqlite, options));
    } finally {
      await sqlite.close();
    }
    if (args.includes("--postgres")) rows.push(...await postgresRows(options));
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
  printRows(rows);
  return rows;
}

if (import.meta.main) await main(Deno.args);
