import assert from "node:assert/strict";
import { MetricsRegistry } from "../../src/observability/registry.ts";
import {
  escapeHelp,
  escapeLabelValue,
  formatNumber,
  renderPrometheus,
} from "../../src/observability/text_format.ts";
import { hasPromtool, parseSamples, promtoolCheck } from "../helpers/prom_text.ts";

if (!hasPromtool) {
  console.warn(
    "promtool not found: the `promtool check metrics` tests are IGNORED. " +
      "Install it with `apt-get install prometheus` (.ci/run does).",
  );
}

const TRICKY = 'a "quoted" \\ back\nslash 中文';

function sample(): MetricsRegistry {
  const r = new MetricsRegistry();
  r.counter({
    name: "t_requests_total",
    help: "Requests \\ with a\nnewline",
    labels: { route: ["/x", TRICKY], status: ["200"] },
  }).labels(TRICKY, "200").inc(3);
  const g = r.gauge({ name: "t_open", help: "Open things" });
  g.set(2.5);
  const h = r.histogram({
    name: "t_latency_seconds",
    help: "Latency",
    labels: { route: ["/x"] },
    buckets: [0.1, 1],
  });
  h.labels("/x").observe(0.05);
  h.labels("/x").observe(0.5);
  h.labels("/x").observe(7);
  r.gauge({ name: "t_empty", help: "Never set", labels: { k: ["v"] } });
  return r;
}

Deno.test("renderPrometheus() writes HELP, TYPE and samples; histograms cumulative to +Inf", () => {
  assert.equal(
    renderPrometheus(sample()),
    [
      "# HELP t_requests_total Requests \\\\ with a\\nnewline",
      "# TYPE t_requests_total counter",
      't_requests_total{route="a \\"quoted\\" \\\\ back\\nslash 中文",status="200"} 3',
      "# HELP t_open Open things",
      "# TYPE t_open gauge",
      "t_open 2.5",
      "# HELP t_latency_seconds Latency",
      "# TYPE t_latency_seconds histogram",
      't_latency_seconds_bucket{route="/x",le="0.1"} 1',
      't_latency_seconds_bucket{route="/x",le="1"} 2',
      't_latency_seconds_bucket{route="/x",le="+Inf"} 3',
      't_latency_seconds_sum{route="/x"} 7.55',
      't_latency_seconds_count{route="/x"} 3',
      "# HELP t_empty Never set",
      "# TYPE t_empty gauge",
      "",
    ].join("\n"),
  );
});

Deno.test("escapeHelp(), escapeLabelValue() and formatNumber() follow the format", () => {
  assert.equal(escapeHelp('a\\b\nc"d'), 'a\\\\b\\nc"d');
  assert.equal(escapeLabelValue('a\\b\nc"d'), 'a\\\\b\\nc\\"d');
  assert.deepEqual(
    [NaN, Infinity, -Infinity, 0, 42, 0.25, 1e-7, 2 ** 53].map(formatNumber),
    ["NaN", "+Inf", "-Inf", "0", "42", "0.25", "1e-7", "9007199254740992"],
  );
});

Deno.test("the rendered text parses back to the recorded values", () => {
  const samples = parseSamples(renderPrometheus(sample()));
  assert.equal(samples.get("t_open"), 2.5);
  assert.equal(samples.get('t_latency_seconds_bucket{route="/x",le="+Inf"}'), 3);
});

Deno.test({
  name: "promtool check metrics accepts the output, escapes and empty metrics included",
  ignore: !hasPromtool,
  fn: async () => {
    const { code, output } = await promtoolCheck(renderPrometheus(sample()));
    assert.equal(code, 0, output);
  },
});

Deno.test({
  name: "promtool check metrics rejects a broken exposition (the check can fail)",
  ignore: !hasPromtool,
  fn: async () => {
    const broken = "# TYPE t_x counter\nt_x 1\n";
    const { code } = await promtoolCheck(broken);
    assert.notEqual(code, 0);
  },
});
