import assert from "node:assert/strict";
import { registerProcessMetrics } from "../../src/observability/process_metrics.ts";
import { MetricsRegistry } from "../../src/observability/registry.ts";
import { renderPrometheus } from "../../src/observability/text_format.ts";
import { parseSamples } from "../helpers/prom_text.ts";

Deno.test("registerProcessMetrics() reports build, uptime, memory and event-loop lag", async () => {
  const registry = new MetricsRegistry();
  const sampler = registerProcessMetrics(registry, { version: "9.9.9" });
  try {
    // Block the event loop longer than the 0.5 s sampling period: a sample falls due during
    // the block and fires at least 100 ms late, whatever else the machine is doing.
    const until = performance.now() + 600;
    while (performance.now() < until) { /* busy */ }
    await new Promise((r) => setTimeout(r, 50));
    const s = parseSamples(renderPrometheus(registry));
    assert.equal(s.get(`yychat_build_info{version="9.9.9",deno="${Deno.version.deno}"}`), 1);
    assert.ok(s.get("yychat_uptime_seconds")! > 0);
    const rss = s.get("yychat_process_resident_memory_bytes")!;
    assert.ok(rss > 10 * 1024 * 1024 && rss < 64 * 1024 ** 3, `rss ${rss}`);
    assert.ok(s.get("yychat_process_heap_used_bytes")! > 0);
    assert.ok(s.get("yychat_event_loop_lag_seconds")! >= 0.05, "a 600 ms block shows as lag");
  } finally {
    sampler.stop();
  }
});
