/** The dashboard's reader of the Prometheus text format (`web/prometheus.js`). */
import assert from "node:assert/strict";
import {
  byLabel,
  histogram,
  histogramDelta,
  parsePrometheus,
  quantile,
  series,
  total,
} from "../../web/prometheus.js";

const TEXT = `# HELP yychat_ws_connections Open WebSocket connections.
# TYPE yychat_ws_connections gauge
yychat_ws_connections 3
# TYPE yychat_ws_messages_total counter
yychat_ws_messages_total{type="ping"} 10
yychat_ws_messages_total{type="text_message"} 4
# TYPE yychat_errors_total counter
yychat_errors_total{code="rate_limited"} 2
yychat_errors_total{code="weird \\"quoted\\" \\\\ back\\nslash",extra="x"} 1
# TYPE yychat_time_to_first_chunk_seconds histogram
yychat_time_to_first_chunk_seconds_bucket{door="ws",le="0.1"} 2
yychat_time_to_first_chunk_seconds_bucket{door="ws",le="0.5"} 6
yychat_time_to_first_chunk_seconds_bucket{door="ws",le="1"} 8
yychat_time_to_first_chunk_seconds_bucket{door="ws",le="+Inf"} 10
yychat_time_to_first_chunk_seconds_bucket{door="rest",le="0.1"} 0
yychat_time_to_first_chunk_seconds_bucket{door="rest",le="0.5"} 0
yychat_time_to_first_chunk_seconds_bucket{door="rest",le="1"} 2
yychat_time_to_first_chunk_seconds_bucket{door="rest",le="+Inf"} 2
yychat_time_to_first_chunk_seconds_sum{door="ws"} 4.5
yychat_time_to_first_chunk_seconds_sum{door="rest"} 1.5
yychat_time_to_first_chunk_seconds_count{door="ws"} 10
yychat_time_to_first_chunk_seconds_count{door="rest"} 2
process_start_time_seconds 1.7e9 1712345678000
bad line here
`;

Deno.test("parsePrometheus() reads types, labels with escapes, exponents and timestamps", () => {
  const m = parsePrometheus(TEXT);
  assert.equal(m.types.get("yychat_ws_connections"), "gauge");
  assert.equal(m.types.get("yychat_time_to_first_chunk_seconds"), "histogram");
  assert.equal(total(m, "yychat_ws_connections"), 3);
  assert.equal(total(m, "process_start_time_seconds"), 1.7e9);
  const weird = series(m, "yychat_errors_total", { extra: "x" })[0]!;
  assert.equal(weird.labels.code, 'weird "quoted" \\ back\nslash');
  assert.equal(m.skipped, 1, "the malformed line is skipped, not fatal");
});

Deno.test("total() is undefined for a missing metric, so the page shows — and not 0", () => {
  const m = parsePrometheus(TEXT);
  assert.equal(total(m, "yychat_generations_running"), undefined);
  assert.equal(total(m, "yychat_ws_messages_total"), 14);
  assert.equal(total(m, "yychat_ws_messages_total", { type: "ping" }), 10);
  assert.deepEqual(
    [...byLabel(m, "yychat_ws_messages_total", "type")],
    [["ping", 10], ["text_message", 4]],
  );
});

Deno.test("histogram() sums buckets over other labels; quantile() interpolates like Prometheus", () => {
  const m = parsePrometheus(TEXT);
  const h = histogram(m, "yychat_time_to_first_chunk_seconds")!;
  assert.deepEqual(h.buckets, [
    { le: 0.1, count: 2 },
    { le: 0.5, count: 6 },
    { le: 1, count: 10 },
    { le: Infinity, count: 12 },
  ]);
  assert.equal(h.count, 12);
  assert.equal(h.sum, 6);
  // rank 6 of 12 falls at the top of the 0.1–0.5 bucket
  assert.equal(quantile(0.5, h), 0.5);
  // rank 3: one of the four in (0.1, 0.5]
  assert.ok(Math.abs(quantile(0.25, h)! - 0.2) < 1e-9);
  // rank 11.4 is in the +Inf bucket: the highest finite bound, as Prometheus does
  assert.equal(quantile(0.95, h), 1);
  assert.equal(histogram(m, "yychat_generation_duration_seconds"), undefined);
});

Deno.test("histogramDelta() gives the observations between two scrapes; a reset gives the new one", () => {
  const before = histogram(parsePrometheus(TEXT), "yychat_time_to_first_chunk_seconds")!;
  const after = histogram(
    parsePrometheus(
      TEXT.replace('le="0.1"} 2', 'le="0.1"} 5')
        .replace('door="ws",le="0.5"} 6', 'door="ws",le="0.5"} 9')
        .replace('door="ws",le="1"} 8', 'door="ws",le="1"} 11')
        .replace('door="ws",le="+Inf"} 10', 'door="ws",le="+Inf"} 13')
        .replace('_count{door="ws"} 10', '_count{door="ws"} 13')
        .replace('_sum{door="ws"} 4.5', '_sum{door="ws"} 4.8'),
    ),
    "yychat_time_to_first_chunk_seconds",
  )!;
  const d = histogramDelta(after, before);
  assert.equal(d.count, 3);
  assert.deepEqual(d.buckets.map((b) => b.count), [3, 3, 3, 3]);
  assert.ok(quantile(0.5, d)! <= 0.1, "all three new observations were under 100 ms");
  assert.equal(histogramDelta(before, after), before, "counters went down: a restart");
  assert.equal(
    quantile(0.5, { buckets: [{ le: Infinity, count: 0 }], sum: 0, count: 0 }),
    undefined,
  );
});
