import assert from "node:assert/strict";
import { renderPrometheus } from "../../src/observability/text_format.ts";
import { YychatMetrics } from "../../src/observability/yychat_metrics.ts";
import { parseSamples } from "../helpers/prom_text.ts";

const samples = (m: YychatMetrics) => parseSamples(renderPrometheus(m.registry));

Deno.test("GenerationMetrics.finish() counts the outcome, duration and tokens once", () => {
  const m = new YychatMetrics();
  const gen = m.startGeneration("ws");
  assert.equal(samples(m).get("yychat_generations_running"), 1);
  gen.firstChunk();
  gen.firstChunk();
  gen.finish("length", { prompt_tokens: 12, completion_tokens: 5, total_tokens: 17 });
  gen.finish("stop", { prompt_tokens: 100, completion_tokens: 100, total_tokens: 200 });
  gen.fail("upstream_error");
  const s = samples(m);
  assert.equal(s.get("yychat_generations_running"), 0);
  assert.equal(s.get('yychat_generations_total{door="ws",outcome="length"}'), 1);
  assert.equal(s.get('yychat_generations_total{door="ws",outcome="stop"}'), 0);
  assert.equal(s.get('yychat_generations_total{door="ws",outcome="error"}'), 0);
  assert.equal(s.get("yychat_time_to_first_chunk_seconds_count"), 1);
  assert.equal(s.get("yychat_generation_duration_seconds_count"), 1);
  assert.equal(s.get('yychat_tokens_total{direction="in"}'), 12);
  assert.equal(s.get('yychat_tokens_total{direction="out"}'), 5);
  assert.equal(s.get('yychat_upstream_errors_total{code="upstream_error"}'), 0);
});

Deno.test("GenerationMetrics.fail() counts errors, upstream codes, and `cancelled` as an outcome", () => {
  const m = new YychatMetrics();
  m.startGeneration("rest").fail("rate_limited");
  m.startGeneration("rest").fail("upstream_timeout");
  m.startGeneration("rest").fail("personality_not_found");
  m.startGeneration("ws").fail("cancelled");
  const noChunk = m.startGeneration("ws");
  noChunk.finish("stop");
  noChunk.firstChunk();
  const s = samples(m);
  assert.equal(s.get('yychat_generations_total{door="rest",outcome="error"}'), 3);
  assert.equal(s.get('yychat_generations_total{door="ws",outcome="cancelled"}'), 1);
  assert.equal(s.get('yychat_generations_total{door="ws",outcome="error"}'), 0);
  assert.equal(s.get('yychat_upstream_errors_total{code="rate_limited"}'), 1);
  assert.equal(s.get('yychat_upstream_errors_total{code="upstream_timeout"}'), 1);
  assert.equal(s.get('yychat_upstream_errors_total{code="upstream_error"}'), 0);
  assert.equal(s.get("yychat_time_to_first_chunk_seconds_count"), 0, "no chunk after the end");
  assert.equal(s.get("yychat_generations_running"), 0);
});

Deno.test("GenerationMetrics.finish() skips nonsensical provider usage instead of throwing", () => {
  const m = new YychatMetrics();
  m.startGeneration("rest").finish("stop", {
    prompt_tokens: -3,
    completion_tokens: NaN,
    total_tokens: 0,
  });
  const s = samples(m);
  assert.equal(s.get('yychat_tokens_total{direction="in"}'), 0);
  assert.equal(s.get('yychat_tokens_total{direction="out"}'), 0);
  assert.equal(s.get('yychat_generations_total{door="rest",outcome="stop"}'), 1);
});

Deno.test("YychatMetrics starts every closed-list series at zero and counts unknown labels as other", () => {
  const m = new YychatMetrics({
    messageTypes: ["ping"],
    errorCodes: ["not_found"],
    routes: ["/a"],
  });
  m.error("no_such_code");
  m.httpRequest("/v1/conversations/secret-id/memory", "BREW", 418, 0.01);
  const s = samples(m);
  assert.equal(s.get('yychat_ws_messages_total{type="ping"}'), 0);
  assert.equal(s.get('yychat_ws_messages_total{type="invalid"}'), 0);
  assert.equal(s.get('yychat_errors_total{code="not_found"}'), 0);
  assert.equal(s.get('yychat_errors_total{code="other"}'), 1);
  assert.equal(s.get('yychat_http_requests_total{route="other",method="other",status="418"}'), 1);
  assert.equal(s.get("yychat_cluster_nodes"), 1);
  assert.equal(s.get('yychat_resumes_total{outcome="snapshot"}'), 0);
  assert.ok(![...s.keys()].some((k) => k.includes("secret-id") || k.includes("BREW")));
});
