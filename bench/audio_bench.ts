/**
 * Time to first audio byte of `POST /v1/audio/speech` on the offline engine
 * (espeak-ng, plus sox for MP3), against a baseline run side by side: the
 * same programs spawned directly by this process, no server in between.
 * Samples alternate (baseline, yychat, baseline, …) so both see the same
 * machine load; the report gives medians, p90 and the ratio yychat/baseline.
 *
 * `deno run -A bench/audio_bench.ts [--quick]` (also part of `deno task bench`).
 */
import { type ServerProcess, startServerProcess } from "../tests/helpers/server_process.ts";

const SHORT = "Hello! How can I help you today?";
const LONG = ("The quick brown fox jumps over the lazy dog. " +
  "Pack my box with five dozen liquor jugs. ").repeat(50).slice(0, 4096);

interface Case {
  name: string;
  text: string;
  format: "wav" | "mp3";
}

const CASES: Case[] = [
  { name: "wav, one sentence", text: SHORT, format: "wav" },
  { name: "mp3, one sentence", text: SHORT, format: "mp3" },
  { name: "mp3, 4,096 characters", text: LONG, format: "mp3" },
];

/** Milliseconds to the first byte and to the last, reading `body` to its end. */
async function drain(started: number, body: ReadableStream<Uint8Array>): Promise<[number, number]> {
  let first = NaN;
  for await (const _ of body) if (Number.isNaN(first)) first = performance.now() - started;
  return [first, performance.now() - started];
}

/** The baseline: espeak-ng (| sox) spawned here, timed like the HTTP request. */
async function direct(c: Case): Promise<[number, number]> {
  const started = performance.now();
  const espeak = new Deno.Command("espeak-ng", {
    args: ["-v", "en-us", "-s", "175", "-b", "1", "--stdin", "--stdout"],
    stdin: "piped",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  let out = espeak.stdout;
  let sox: Deno.ChildProcess | undefined;
  if (c.format === "mp3") {
    sox = new Deno.Command("sox", {
      args: ["-V1", "-t", "wav", "-", "-t", "mp3", "-"],
      stdin: "piped",
      stdout: "piped",
      stderr: "null",
    }).spawn();
    espeak.stdout.pipeTo(sox.stdin).catch(() => {});
    out = sox.stdout;
  }
  const writer = espeak.stdin.getWriter();
  await writer.write(new TextEncoder().encode(c.text));
  await writer.close();
  const times = await drain(started, out);
  await espeak.status;
  await sox?.status;
  return times;
}

async function viaYychat(server: ServerProcess, c: Case): Promise<[number, number]> {
  const started = performance.now();
  const res = await fetch(server.http + "/v1/audio/speech", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      model: "tts-1",
      input: c.text,
      voice: "en-us",
      response_format: c.format,
    }),
  });
  if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}: ${await res.text()}`);
  return await drain(started, res.body);
}

function percentile(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
}

const ms = (v: number) => v.toFixed(1).padStart(7);

export async function main(args: string[] = []): Promise<void> {
  const samples = args.includes("--quick") ? 8 : 40;
  const dataDir = await Deno.makeTempDir({ prefix: "yychat_audio_bench_" });
  const server = await startServerProcess({ YYCHAT_DATA_DIR: dataDir, LOG_LEVEL: "warn" });
  try {
    // Warm-up: the engine probe, JIT on both sides, the page cache of the engine files.
    for (const c of CASES) {
      await direct(c);
      await viaYychat(server, c);
    }
    console.log(`${samples} samples per case, alternating; milliseconds\n`);
    console.log(
      "| case | first byte: direct p50 / p90 | first byte: yychat p50 / p90 | ratio p50 | whole: direct p50 | whole: yychat p50 |",
    );
    console.log("| --- | --- | --- | --- | --- | --- |");
    for (const c of CASES) {
      const d: [number, number][] = [];
      const y: [number, number][] = [];
      for (let i = 0; i < samples; i++) {
        d.push(await direct(c));
        y.push(await viaYychat(server, c));
      }
      const df = d.map((s) => s[0]);
      const yf = y.map((s) => s[0]);
      console.log(
        `| ${c.name} | ${ms(percentile(df, 50))} / ${ms(percentile(df, 90))} | ${
          ms(percentile(yf, 50))
        } / ${ms(percentile(yf, 90))} | ${(percentile(yf, 50) / percentile(df, 50)).toFixed(2)} | ${
          ms(percentile(d.map((s) => s[1]), 50))
        } | ${ms(percentile(y.map((s) => s[1]), 50))} |`,
      );
    }
  } finally {
    await server.stop();
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  }
}

if (import.meta.main) await main(Deno.args);
