/**
 * Correctness of the gateway benchmark's building blocks (no timed
 * assertion): the instant upstream, the bare proxy, yychat and — when it is
 * installed — the Portkey gateway all answer a completion, a 200-chunk
 * stream and a paced stream through the same client code; the CPU is read
 * from the process that owns each listening socket; the report computes the
 * issue's ratios.
 */
import assert from "node:assert/strict";
import {
  completeOnce,
  listeningPid,
  report,
  type Sample,
  startTargets,
  streamOnce,
  summarise,
} from "../../bench/completions_bench.ts";
import { PACED_PAUSE_MS } from "../../bench/instant_mock.ts";
import { nodeAvailable, portkeyInstalled } from "../../bench/portkey.ts";

const portkeyReady = await nodeAvailable() && await portkeyInstalled();
if (!portkeyReady) {
  console.warn(
    "completions_bench_test: the Portkey gateway is not installed, its test is ignored " +
      "(needs node and npm; install with: deno run --allow-all bench/portkey.ts)",
  );
}

async function withTargets(
  portkey: boolean,
  fn: (targets: Awaited<ReturnType<typeof startTargets>>["targets"]) => Promise<void>,
): Promise<void> {
  const dataDir = await Deno.makeTempDir({ prefix: "yychat-completions-bench-test-" });
  const started = await startTargets({ portkey, dataDir });
  try {
    await fn(started.targets);
  } finally {
    await started.stop();
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  }
}

Deno.test("completions_bench: direct, bare proxy and yychat answer the same requests", async (t) => {
  await withTargets(false, async (targets) => {
    assert.deepEqual(targets.map((x) => x.name), ["direct", "bare", "yychat"]);
    for (const target of targets) {
      await t.step(`${target.name}: completion, stream, paced stream`, async () => {
        await completeOnce(target);
        const first = await streamOnce(target);
        assert.ok(first >= 0);
        const paced = await streamOnce(target, true);
        assert.ok(paced < PACED_PAUSE_MS, "the first chunk comes before the pause");
      });
    }
    await t.step("CPU is read from the process that owns the listening socket", async () => {
      const pids = new Set(targets.map((x) => x.pid));
      assert.equal(pids.size, targets.length, "each target is its own process");
      for (const target of targets) {
        const port = Number(new URL(target.baseUrl).port);
        assert.equal(await listeningPid(port), target.pid);
      }
    });
  });
});

Deno.test({
  name: "completions_bench: the Portkey gateway answers the same requests",
  ignore: !portkeyReady,
  fn: async () => {
    await withTargets(true, async (targets) => {
      const portkey = targets.find((x) => x.name === "portkey")!;
      await completeOnce(portkey);
      await streamOnce(portkey);
      assert.equal(await listeningPid(Number(new URL(portkey.baseUrl).port)), portkey.pid);
    });
  },
});

Deno.test("completions_bench report: medians per target and the issue's ratios", () => {
  const samples: Sample[] = [];
  for (let round = 0; round < 3; round++) {
    for (
      const [target, cpu, perS, streamCpu, lat, first] of [
        ["direct", 20, 9000, 200, 0.3, 1.0],
        ["bare", 150, 3000, 250, 0.8, 2.0],
        ["yychat", 280 + round, 2500, 900, 1.0, 2.5],
        ["portkey", 3000, 300, 7000, 3.0, 30],
      ] as const
    ) {
      samples.push(
        { round, phase: "nonstream", target, perS, cpuUsPerOp: cpu, otherCores: 0 },
        { round, phase: "stream", target, perS: perS / 10, cpuUsPerOp: streamCpu, otherCores: 0 },
        { round, phase: "latency", target, samplesMs: [lat, lat, lat] },
        { round, phase: "first_chunk", target, samplesMs: [first] },
      );
    }
  }
  const summaries = summarise(samples, ["direct", "bare", "yychat", "portkey"]);
  const yy = summaries.find((s) => s.target === "yychat")!;
  assert.equal(yy.nonstreamCpuUs, 281, "median over rounds");
  const text = report(summaries);
  assert.match(text, /non-streaming CPU per request, yychat ÷ bare \| 1\.87× \| ≤ 2× \| PASS/);
  assert.match(text, /SSE CPU per chunk, yychat ÷ bare \| 3\.60× \| ≤ 4× \| PASS/);
  assert.match(text, /added latency alone .* \| 1\.40× \| ≤ 1\.5× \| PASS/);
  assert.match(text, /streamed first chunk added .* \| 1\.50× \| ≤ 2× \| PASS/);
  assert.match(text, /non-streaming throughput, yychat ÷ Portkey \| 8\.33× \| ≥ 1\.5× \| PASS/);
});
