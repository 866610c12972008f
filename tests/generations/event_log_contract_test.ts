/**
 * One contract for the `EventLog` port, run against every implementation:
 * the in-memory log (always) and the Redis log (a private `redis-server`,
 * ignored loudly when it is missing). A new implementation is done when
 * these pass on it.
 */
import assert from "node:assert/strict";
import { silentLogger } from "../../src/core/logger.ts";
import {
  type EventLog,
  type GenerationEvent,
  type GenerationRecord,
  MemoryEventLog,
} from "../../src/generations/mod.ts";
import { RedisConnection } from "../../src/cluster/redis_connection.ts";
import { RedisEventLog } from "../../src/cluster/redis_event_log.ts";
import * as SCRIPTS from "../../src/cluster/scripts.ts";
import { redisMissing, startRedis } from "../helpers/redis_server.ts";
import { waitFor } from "../helpers/wait.ts";

const missing = redisMissing();
if (missing) console.warn(`Redis event-log contract tests ignored: ${missing}`);

interface Harness {
  log: EventLog;
  close(): Promise<void>;
}

const MAX_BYTES = 4000;

const FACTORIES: { name: string; ignore: boolean; make(): Promise<Harness> }[] = [
  {
    name: "MemoryEventLog",
    ignore: false,
    make: () =>
      Promise.resolve({
        log: new MemoryEventLog({
          maxBytesPerGeneration: MAX_BYTES,
          maxTotalBytes: 1 << 24,
          resumeWindowMs: 60_000,
        }),
        close: () => Promise.resolve(),
      }),
  },
  {
    name: "RedisEventLog",
    ignore: missing !== undefined,
    async make() {
      const server = await startRedis();
      const redis = new RedisConnection(server.url, silentLogger, Object.values(SCRIPTS));
      await redis.connect(5000);
      await waitFor(() => redis.up, 5000, "the scripts to load");
      const failures: string[] = [];
      const log = new RedisEventLog({
        redis,
        logger: silentLogger,
        maxBytesPerGeneration: MAX_BYTES,
        runningTtlMs: 60_000,
        resumeWindowMs: 60_000,
        onWriteFailure: (key) => failures.push(key),
      });
      return {
        log,
        async close() {
          await redis.close();
          await server.close();
          assert.deepEqual(failures, [], "no write failed");
        },
      };
    },
  },
];

const record = (key: string): GenerationRecord => ({
  key,
  requestId: key,
  principal: "key_a",
  tokenHash: "ab".repeat(32),
  node: "n1",
  stream: true,
  status: "running",
  createdAtMs: 1000,
});

/** Writes are not awaited by the port; reads wait until `seq` is visible. */
async function settled(log: EventLog, key: string, seq: number): Promise<void> {
  await waitFor(async () => (await log.read(key, 0))?.topSeq === seq, 5000, `seq ${seq}`);
}

for (const factory of FACTORIES) {
  Deno.test({
    name: `${factory.name} keeps the EventLog contract`,
    ignore: factory.ignore,
    async fn(t) {
      const { log, close } = await factory.make();
      try {
        await t.step("a new generation is known, running, with no events", async () => {
          log.create(record("g1"));
          await waitFor(async () => (await log.get("g1")) !== undefined, 5000, "the record");
          const got = await log.get("g1");
          assert.equal(got?.requestId, "g1");
          assert.equal(got?.tokenHash, "ab".repeat(32));
          assert.equal(got?.status, "running");
          assert.equal(got?.stream, true);
          assert.deepEqual(await log.read("g1", 0), {
            recovered: true,
            status: "running",
            topSeq: 0,
            events: [],
          });
        });
        await t.step("events come back after any seq, in order", async () => {
          const events: GenerationEvent[] = [
            { seq: 1, type: "processing_start" },
            { seq: 2, type: "stream_start" },
            { seq: 3, type: "chunk", content: "Hello" },
            { seq: 4, type: "chunk", content: " 世界" },
          ];
          for (const e of events) log.append("g1", e);
          await settled(log, "g1", 4);
          const read = await log.read("g1", 2);
          assert.equal(read?.recovered, true);
          assert.deepEqual(read?.events, events.slice(2));
          assert.deepEqual((await log.read("g1", 4))?.events, []);
        });
        await t.step("the terminal event is logged; finish marks it done", async () => {
          log.append("g1", {
            seq: 5,
            type: "end",
            finishReason: "stop",
            content: "Hello 世界",
            model: "m",
          });
          log.finish("g1", 2000);
          await waitFor(async () => (await log.get("g1"))?.status === "done", 5000, "done");
          const read = await log.read("g1", 4);
          assert.equal(read?.status, "done");
          assert.deepEqual(read?.events.map((e) => e.type), ["end"]);
        });
        await t.step(
          "past the byte budget the oldest events go, and a snapshot stands in",
          async () => {
            log.create(record("g2"));
            log.append("g2", { seq: 1, type: "processing_start" });
            const parts = Array.from({ length: 40 }, (_, i) => `${i}:${"x".repeat(40)};`);
            parts.forEach((content, i) => log.append("g2", { seq: i + 2, type: "chunk", content }));
            log.append("g2", { seq: 42, type: "tool_result", id: "t", name: "calc", ok: true });
            await settled(log, "g2", 42);
            const tail = await log.read("g2", 40);
            assert.equal(tail?.recovered, true);
            assert.deepEqual(tail?.events.map((e) => e.seq), [41, 42]);
            const old = await log.read("g2", 1);
            assert.equal(old?.recovered, false);
            if (old && !old.recovered) {
              assert.equal(old.snapshot.content, parts.join(""), "the whole text so far");
              assert.equal(old.snapshot.seq, 41, "through the last chunk");
              assert.deepEqual(old.events.map((e) => e.seq), [42], "then what follows it");
            }
          },
        );
        await t.step("a new generation with the same key starts afresh", async () => {
          log.create({ ...record("g1"), tokenHash: "cd".repeat(32) });
          await waitFor(
            async () => (await log.get("g1"))?.tokenHash === "cd".repeat(32),
            5000,
            "the new record",
          );
          assert.equal((await log.get("g1"))?.status, "running");
          assert.deepEqual((await log.read("g1", 0))?.events, []);
        });
        await t.step("an unknown generation reads as undefined", async () => {
          assert.equal(await log.get("nope"), undefined);
          assert.equal(await log.read("nope", 0), undefined);
        });
      } finally {
        await close();
      }
    },
  });
}
