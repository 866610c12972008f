/**
 * `deno task bench`: the gateway benchmark first, then the engine benchmark
 * when `bench/engine_bench.ts` exists, then any other `bench/*_bench.ts`
 * that exports `main`. `--quick` (and any other argument) is passed through.
 *
 * Files are looked for at run time rather than imported statically, so a
 * benchmark that is not written yet is skipped instead of breaking the task,
 * and `Deno.bench` micro-benchmark files (no `main`; run with `deno bench`)
 * are left alone.
 */

type BenchModule = { main?: (args: string[]) => unknown };

const BENCH_DIR = new URL("./", import.meta.url);
const FIRST = ["gateway_bench.ts", "engine_bench.ts"];

async function exists(url: URL): Promise<boolean> {
  try {
    return (await Deno.stat(url)).isFile;
  } catch {
    return false;
  }
}

/** Whether the file's source exports a `main` function (checked before importing). */
async function exportsMain(url: URL): Promise<boolean> {
  const text = await Deno.readTextFile(url);
  return /export\s+(async\s+)?function\s+main\s*\(|export\s+(const|let)\s+main\b/.test(text);
}

/** Runs every benchmark in order; returns the names that failed. */
export async function main(args: string[] = []): Promise<string[]> {
  const others: string[] = [];
  for await (const entry of Deno.readDir(BENCH_DIR)) {
    if (entry.isFile && entry.name.endsWith("_bench.ts") && !FIRST.includes(entry.name)) {
      others.push(entry.name);
    }
  }
  others.sort();
  const failed: string[] = [];
  for (const name of [...FIRST, ...others]) {
    const url = new URL(name, BENCH_DIR);
    if (!await exists(url)) {
      console.log(`\n(skipping ${name}: not present)`);
      continue;
    }
    if (!await exportsMain(url)) continue;
    console.log(`\n## ${name}\n`);
    try {
      const mod: BenchModule = await import(url.href);
      if (typeof mod.main !== "function") continue;
      await mod.main(args);
    } catch (err) {
      failed.push(name);
      console.error(`${name} failed: ${err instanceof Error ? err.stack ?? err.message : err}`);
    }
  }
  if (failed.length > 0) console.error(`\nFailed: ${failed.join(", ")}`);
  return failed;
}

if (import.meta.main) {
  const failed = await main(Deno.args);
  Deno.exit(failed.length > 0 ? 1 : 0);
}
