/**
 * Engine overhead per request, with the OpenAI mock answering instantly:
 *
 * 1. time to first delta through `ChatEngine.run()` (OpenAI provider, no
 *    memory) vs. reading the same mock directly with the `openai` client;
 *    the difference is what the engine adds;
 * 2. when `src/memory/sqlite_store.ts` exists: context assembly
 *    (`memory.context()`) with 1,000 stored turns, and time to first delta
 *    through the engine with that conversation.
 *
 * Run: `deno run -A bench/engine_bench.ts [--quick]`. Prints a markdown table.
 */
import OpenAI from "openai";
import { ChatEngine } from "../src/engine/chat_engine.ts";
import { OpenAIProvider } from "../src/engine/openai_provider.ts";
import { parsePersonality, Personalities } from "../src/engine/personalities.ts";
import type { EngineRequest } from "../src/core/chat.ts";
import type { MemoryStore } from "../src/memory/store.ts";
import { createCalculatorTool } from "../src/tools/calculator.ts";
import { createGetTimeTool } from "../src/tools/gettime.ts";
import { ToolRegistry } from "../src/tools/registry.ts";
import { MemoryFake } from "../tests/helpers/memory_fake.ts";
import { OpenAIMock, textReply } from "../tests/helpers/openai_mock.ts";

interface Row {
  what: string;
  n: number;
  p50: number;
  p99: number;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function summarize(what: string, samples: number[]): Row {
  const s = [...samples].sort((a, b) => a - b);
  return { what, n: s.length, p50: percentile(s, 50), p99: percentile(s, 99) };
}

const fmt = (ms: number) => Number.isNaN(ms) ? "–" : `${ms.toFixed(3)} ms`;

function engineFor(mock: OpenAIMock, memory: MemoryStore): ChatEngine {
  return new ChatEngine({
    provider: new OpenAIProvider({
      apiKey: "sk-bench",
      baseUrl: mock.baseUrl,
      model: "mock-model",
      temperature: 0.7,
      timeoutMs: 10_000,
      maxRetries: 0,
    }),
    memory,
    personalities: new Personalities([
      parsePersonality({
        id: "assistant",
        name: "Assistant",
        system_prompt: "You are a helpful assistant.",
        traits: ["helpful"],
      }),
    ], "assistant"),
    toolSources: [
      new ToolRegistry([createCalculatorTool(), createGetTimeTool({ defaultTimezone: "UTC" })]),
    ],
    maxToolRounds: 5,
    toolTimeoutMs: 10_000,
    contextTokenBudget: 6000,
    maxMessageHistoryCount: 20,
  });
}

/** Milliseconds until the first delta; drains the rest so the connection is reused. */
async function engineFirstDelta(engine: ChatEngine, request: EngineRequest): Promise<number> {
  const started = performance.now();
  let first = -1;
  for await (const ev of engine.run(request, { signal: new AbortController().signal })) {
    if (ev.type === "delta" && first < 0) first = performance.now() - started;
  }
  return first;
}

async function directFirstDelta(client: OpenAI): Promise<number> {
  const started = performance.now();
  let first = -1;
  const stream = await client.chat.completions.create({
    model: "mock-model",
    messages: [
      { role: "system", content: "You are a helpful assistant." },
      { role: "user", content: "hello" },
    ],
    stream: true,
  });
  for await (const chunk of stream) {
    if (first < 0 && chunk.choices[0]?.delta?.content) first = performance.now() - started;
  }
  return first;
}

async function sqliteStoreModule(): Promise<
  { SqliteMemoryStore: new (o: { dataDir: string }) => MemoryStore } | undefined
> {
  const url = new URL("../src/memory/sqlite_store.ts", import.meta.url);
  try {
    await Deno.stat(url);
  } catch {
    return undefined;
  }
  return await import(url.href);
}

/** Runs the benchmark and prints a markdown table; returns the rows. */
export async function main(args: string[] = []): Promise<Row[]> {
  const quick = args.includes("--quick");
  const n = quick ? 150 : 600;
  const warmup = quick ? 20 : 50;
  const mock = await OpenAIMock.start({ fallback: textReply("Hello from the mock, instantly.") });
  const rows: Row[] = [];
  try {
    const client = new OpenAI({ apiKey: "sk-bench", baseURL: mock.baseUrl, maxRetries: 0 });
    const engine = engineFor(mock, new MemoryFake());
    const request: EngineRequest = {
      messages: [{ role: "user", content: "hello" }],
      useTools: true,
      namespace: "",
    };
    for (let i = 0; i < warmup; i++) {
      await directFirstDelta(client);
      await engineFirstDelta(engine, request);
    }
    const direct: number[] = [];
    const viaEngine: number[] = [];
    for (let i = 0; i < n; i++) {
      direct.push(await directFirstDelta(client));
      viaEngine.push(await engineFirstDelta(engine, request));
    }
    const d = summarize("openai client → mock, time to first delta", direct);
    const e = summarize("ChatEngine.run() → mock, time to first delta", viaEngine);
    rows.push(d, e, {
      what: "engine overhead (p50 difference)",
      n,
      p50: e.p50 - d.p50,
      // Tails are GC and scheduling noise: a p99 difference means nothing.
      p99: NaN,
    });

    const sqlite = await sqliteStoreModule();
    if (sqlite) {
      const dataDir = await Deno.makeTempDir({ prefix: "yychat_bench_" });
      const store = new sqlite.SqliteMemoryStore({ dataDir });
      try {
        const topics = ["weather", "recipes", "travel", "deno", "sqlite", "music", "football"];
        for (let i = 0; i < 1000; i++) {
          const topic = topics[i % topics.length];
          await store.appendTurn("bench", "big", [
            { role: "user", content: `Turn ${i}: tell me something about ${topic} number ${i}` },
            {
              role: "assistant",
              content: `Here is fact ${i} about ${topic}: it is quite interesting, really.`,
            },
          ]);
        }
        // Recall cost depends on how many stored messages match the query.
        const nCtx = quick ? 10 : 30;
        const queries: [string, string][] = [
          ["query matching 1 in 7 turns", "what did you say about sqlite?"],
          ["query matching nothing", "zebra quantum"],
        ];
        for (const [label, query] of queries) {
          const options = { query, tokenBudget: 6000, maxRecentMessages: 20 };
          for (let i = 0; i < 3; i++) await store.context("bench", "big", options);
          const ctx: number[] = [];
          for (let i = 0; i < nCtx; i++) {
            const t0 = performance.now();
            await store.context("bench", "big", options);
            ctx.push(performance.now() - t0);
          }
          rows.push(summarize(`memory.context(), 1,000 stored turns, ${label}`, ctx));
        }

        // Through the engine (each run appends one more turn).
        const memEngine = engineFor(mock, store);
        const withMemory: EngineRequest = { ...request, conversationId: "big", namespace: "bench" };
        for (let i = 0; i < 3; i++) await engineFirstDelta(memEngine, withMemory);
        const viaMemory: number[] = [];
        for (let i = 0; i < nCtx * 3; i++) {
          viaMemory.push(await engineFirstDelta(memEngine, withMemory));
        }
        const m = summarize(
          "ChatEngine.run() with 1,000-turn memory, time to first delta",
          viaMemory,
        );
        rows.push(m, {
          what: "overhead with memory vs direct (p50 difference)",
          n: m.n,
          p50: m.p50 - d.p50,
          p99: NaN,
        });
      } finally {
        await store.close();
        await Deno.remove(dataDir, { recursive: true });
      }
    } else {
      console.log("(src/memory/sqlite_store.ts not present: context assembly not measured)");
    }
  } finally {
    await mock.close();
  }
  console.log("| measurement | n | p50 | p99 |");
  console.log("|---|---:|---:|---:|");
  for (const r of rows) console.log(`| ${r.what} | ${r.n} | ${fmt(r.p50)} | ${fmt(r.p99)} |`);
  return rows;
}

if (import.meta.main) await main(Deno.args);
