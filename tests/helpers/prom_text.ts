/**
 * Reads Prometheus text output the way a test wants it: every sample line as
 * `series → value`, where the series is the line's left part exactly as
 * rendered (`yychat_ws_messages_total{type="ping"}`). Also runs `promtool
 * check metrics` (Debian package `prometheus`) when it is installed.
 */

export type Samples = Map<string, number>;

/** Every sample of `text` (comment lines skipped). */
export function parseSamples(text: string): Samples {
  const samples: Samples = new Map();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const space = line.lastIndexOf(" ");
    const raw = line.slice(space + 1);
    const value = raw === "+Inf" ? Infinity : raw === "-Inf" ? -Infinity : Number(raw);
    samples.set(line.slice(0, space), value);
  }
  return samples;
}

/** `GET /metrics` of the server at `http`, parsed. */
export async function scrape(http: string, headers?: HeadersInit): Promise<Samples> {
  const res = await fetch(`${http}/metrics`, { headers });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`GET /metrics answered ${res.status}: ${text}`);
  return parseSamples(text);
}

/** How much `series` grew from `before` to `after` (a missing series counts as 0). */
export function delta(before: Samples, after: Samples, series: string): number {
  return (after.get(series) ?? 0) - (before.get(series) ?? 0);
}

/** The series of metric `name` (its samples, not those of other metrics sharing the prefix). */
export function seriesOf(samples: Samples, name: string): string[] {
  return [...samples.keys()].filter((k) => k === name || k.startsWith(`${name}{`));
}

/** The values of label `label` among the series of `name`. */
export function labelValues(samples: Samples, name: string, label: string): Set<string> {
  const out = new Set<string>();
  const re = new RegExp(`[{,]${label}="((?:[^"\\\\]|\\\\.)*)"`);
  for (const key of seriesOf(samples, name)) {
    const m = key.match(re);
    if (m) out.add(m[1]!);
  }
  return out;
}

export const PROMTOOL = "/usr/bin/promtool";

/** Whether promtool is installed (Debian: `apt-get install prometheus`). */
export const hasPromtool = (() => {
  try {
    return Deno.statSync(PROMTOOL).isFile;
  } catch {
    return false;
  }
})();

/** Runs `promtool check metrics` on `text`; returns its exit code and output. */
export async function promtoolCheck(text: string): Promise<{ code: number; output: string }> {
  const child = new Deno.Command(PROMTOOL, {
    args: ["check", "metrics"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(text));
  await writer.close();
  const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
  try {
    const { code, stdout, stderr } = await child.output();
    const decoder = new TextDecoder();
    return { code, output: decoder.decode(stdout) + decoder.decode(stderr) };
  } finally {
    clearTimeout(timer);
  }
}
