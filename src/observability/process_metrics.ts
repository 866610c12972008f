/**
 * Process metrics: build, uptime, memory and event-loop lag. Memory and
 * uptime are read at scrape time; the lag needs a sampler, one timer that
 * measures how late it fires (a busy event loop delays every reply).
 */
import type { MetricsRegistry } from "./registry.ts";

/** How often the event-loop sampler runs. */
const LAG_SAMPLE_MS = 500;
/** Samples kept: the lag gauge is the worst delay of the last 10 s. */
const LAG_WINDOW = 20;

export interface ProcessMetricsOptions {
  /** yychat's version (`yychat_build_info{version}`). */
  version: string;
}

/** Registers the process metrics; `stop()` ends the event-loop sampler (call it on shutdown). */
export function registerProcessMetrics(
  registry: MetricsRegistry,
  options: ProcessMetricsOptions,
): { stop(): void } {
  const build = registry.gauge({
    name: "yychat_build_info",
    help: "Always 1; the labels say which yychat and Deno are running",
    labels: { version: [options.version], deno: [Deno.version.deno] },
  });
  build.labels(options.version, Deno.version.deno).set(1);
  registry.gauge({
    name: "yychat_uptime_seconds",
    help: "Seconds since the process started",
  }).collect((g) => g.set(Math.round(performance.now()) / 1000));
  registry.gauge({
    name: "yychat_process_resident_memory_bytes",
    help: "Resident memory of the process (RSS)",
  }).collect((g) => g.set(Deno.memoryUsage().rss));
  registry.gauge({
    name: "yychat_process_heap_used_bytes",
    help: "V8 heap in use",
  }).collect((g) => g.set(Deno.memoryUsage().heapUsed));

  const samples = new Array<number>(LAG_WINDOW).fill(0);
  let next = 0;
  let expected = performance.now() + LAG_SAMPLE_MS;
  const timer = setInterval(() => {
    const now = performance.now();
    samples[next] = Math.max(0, now - expected);
    next = (next + 1) % LAG_WINDOW;
    expected = now + LAG_SAMPLE_MS;
  }, LAG_SAMPLE_MS);
  // The sampler never keeps the process alive on its own.
  Deno.unrefTimer(timer);
  registry.gauge({
    name: "yychat_event_loop_lag_seconds",
    help: "Worst event-loop delay of a 0.5 s timer over the last 10 s",
  }).collect((g) => g.set(Math.max(...samples) / 1000));

  return { stop: () => clearInterval(timer) };
}
