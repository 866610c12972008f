import assert from "node:assert/strict";
import { MetricsRegistry, OTHER } from "../../src/observability/registry.ts";

Deno.test("Counter.labels() keeps declared values and maps every other value to `other`", () => {
  const r = new MetricsRegistry();
  const c = r.counter({ name: "t_msgs_total", help: "h", labels: { type: ["ping", "auth"] } });
  c.labels("ping").inc();
  c.labels("ping").inc(2);
  c.labels("auth").inc();
  for (let i = 0; i < 1000; i++) c.labels(`hostile-${crypto.randomUUID()}`).inc();
  c.labels("__proto__").inc();
  c.labels("").inc();
  const series = Object.fromEntries(c.series().map(([values, s]) => [values.join(","), s.value]));
  assert.deepEqual(series, { auth: 1, other: 1002, ping: 3 });
});

Deno.test("Counter.labels() returns the same series for the same values (callers may keep it)", () => {
  const r = new MetricsRegistry();
  const c = r.counter({
    name: "t_req_total",
    help: "h",
    labels: { route: ["/a"], method: ["GET"], status: ["200", "404"] },
  });
  const s = c.labels("/a", "GET", "200");
  assert.equal(c.labels("/a", "GET", "200"), s);
  assert.notEqual(c.labels("/a", "GET", "404"), s);
  assert.equal(c.labels("/x", "GET", "200"), c.labels("/y", "GET", "200"), "both are other");
  s.inc();
  assert.deepEqual(
    c.series().map(([v, x]) => [v.join(" "), x.value]),
    [["/a GET 200", 1], ["/a GET 404", 0], [`${OTHER} GET 200`, 0]],
  );
});

Deno.test("Counter refuses to go down, wrong label counts and bad names", async (t) => {
  const r = new MetricsRegistry();
  const c = r.counter({ name: "t_a_total", help: "h", labels: { x: ["1"] } });
  await t.step("negative or NaN increments", () => {
    assert.throws(() => c.labels("1").inc(-1), RangeError);
    assert.throws(() => c.labels("1").inc(NaN), RangeError);
    assert.equal(c.labels("1").value, 0);
  });
  await t.step("label arity", () => {
    assert.throws(() => c.labels(), RangeError);
    assert.throws(() => c.labels("1", "2"), RangeError);
    assert.throws(() => c.inc(), RangeError);
  });
  await t.step("names", () => {
    assert.throws(() => r.counter({ name: "t_no_suffix", help: "h" }), /_total/);
    assert.throws(() => r.counter({ name: "t-dash_total", help: "h" }), /Invalid metric name/);
    assert.throws(
      () => r.counter({ name: "t_b_total", help: "h", labels: { "bad-label": [] } }),
      /Invalid label name/,
    );
    assert.throws(
      () => r.counter({ name: "t_c_total", help: "h", labels: { __x: [] } }),
      /Invalid label name/,
    );
    assert.throws(() => r.counter({ name: "t_a_total", help: "h" }), /clashes/);
  });
});

Deno.test("Gauge: set/inc/dec, and collect() computes it at scrape time", () => {
  const r = new MetricsRegistry();
  const g = r.gauge({ name: "t_open", help: "h" });
  g.inc();
  g.inc(4);
  g.dec(2);
  assert.equal(g.labels().value, 3);
  let live = 7;
  const computed = r.gauge({ name: "t_live", help: "h", labels: { state: ["up", "down"] } });
  computed.collect((x) => {
    x.labels("up").set(live);
    x.labels("down").set(10 - live);
  });
  r.collect();
  assert.deepEqual(computed.series().map(([v, s]) => [v[0], s.value]), [["down", 3], ["up", 7]]);
  live = 9;
  r.collect();
  assert.equal(computed.labels("up").value, 9);
});

Deno.test("Histogram.observe() counts into the first bucket whose bound is >= the value", () => {
  const r = new MetricsRegistry();
  const h = r.histogram({ name: "t_seconds", help: "h", buckets: [0.1, 1, 10] });
  for (const v of [0.05, 0.1, 0.5, 1, 9.99, 10, 11, 1e9, NaN]) h.observe(v);
  const s = h.labels();
  assert.deepEqual(s.counts, [2, 2, 2, 2]);
  assert.equal(s.count, 8);
  assert.equal(s.sum, 0.05 + 0.1 + 0.5 + 1 + 9.99 + 10 + 11 + 1e9);
});

Deno.test("Histogram refuses unsorted or infinite buckets, an `le` label and clashing names", () => {
  const r = new MetricsRegistry();
  assert.throws(() => r.histogram({ name: "t_h1", help: "h", buckets: [] }), TypeError);
  assert.throws(() => r.histogram({ name: "t_h2", help: "h", buckets: [1, 1] }), TypeError);
  assert.throws(() => r.histogram({ name: "t_h3", help: "h", buckets: [2, 1] }), TypeError);
  assert.throws(() => r.histogram({ name: "t_h4", help: "h", buckets: [1, Infinity] }), TypeError);
  assert.throws(
    () => r.histogram({ name: "t_h5", help: "h", buckets: [1], labels: { le: ["1"] } }),
    /le/,
  );
  r.histogram({ name: "t_lat", help: "h", buckets: [1] });
  assert.throws(() => r.gauge({ name: "t_lat_count", help: "h" }), /clashes/);
  r.gauge({ name: "t_dur_sum", help: "h" });
  assert.throws(() => r.histogram({ name: "t_dur", help: "h", buckets: [1] }), /clashes/);
});

Deno.test("MetricsRegistry.collect() lists metrics in registration order", () => {
  const r = new MetricsRegistry();
  r.gauge({ name: "t_b", help: "h" });
  r.counter({ name: "t_a_total", help: "h" });
  r.histogram({ name: "t_c", help: "h", buckets: [1] });
  assert.deepEqual(r.collect().map((m) => m.name), ["t_b", "t_a_total", "t_c"]);
  assert.equal(r.get("t_a_total")?.type, "counter");
  assert.equal(r.get("nope"), undefined);
});
