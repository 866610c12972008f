/**
 * The memory benchmarks' building blocks (no timed assertion): the big
 * texts really fill, and fit, a 1 MiB WebSocket frame; one measurement pass
 * over a real SQLite store runs every operation.
 */
import assert from "node:assert/strict";
import { cjkText, latinText, ONE_MIB_CONTENT_BYTES } from "../../bench/big_text.ts";
import { measureStore } from "../../bench/memory_bench.ts";
import { SqliteMemoryStore } from "../../src/memory/sqlite_store.ts";
import { DEFAULTS } from "../../config/defaults.ts";

Deno.test("big_text: 1 MiB messages fit a default-size text_message frame", () => {
  for (const text of [cjkText(ONE_MIB_CONTENT_BYTES, 3), latinText(ONE_MIB_CONTENT_BYTES, 3)]) {
    const frame = JSON.stringify({
      type: "text_message",
      stream: true,
      request_id: "bench-123456",
      content: text,
      conversation_id: "load-1000000-1",
    });
    const bytes = new TextEncoder().encode(frame).length;
    assert.ok(bytes <= DEFAULTS.maxMessageBytes, `${bytes} bytes`);
    assert.ok(bytes > DEFAULTS.maxMessageBytes - 1024, `${bytes} bytes is not ~1 MiB`);
  }
  assert.notEqual(cjkText(3000, 1), cjkText(3000, 2), "seeds give different texts");
  assert.equal(cjkText(3000, 1), cjkText(3000, 1), "the same seed gives the same text");
});

Deno.test("memory_bench: one pass over SQLite measures every operation", async () => {
  const dir = await Deno.makeTempDir({ prefix: "yychat_memory_bench_test_" });
  const store = new SqliteMemoryStore({ dataDir: dir });
  try {
    const rows = await measureStore("SQLite", store, { samples: 1, stored: 1 });
    assert.deepEqual(rows.map((r) => r.what), [
      "appendTurn, 1 MiB cjk user message",
      "context, 1 MiB cjk query",
      "appendTurn, 1 MiB latin user message",
      "context, 1 MiB latin query",
      "context, short query",
    ]);
    for (const r of rows) assert.ok(r.n === 1 && r.p50Ms >= 0 && r.stallMs >= 0, r.what);
  } finally {
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
});
