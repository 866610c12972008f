/**
 * Short crash-safety run (CI): `kill -9` of `main.ts` during streams, then a
 * restart on the same data dir. The long version is `bench/reliability/crash.ts`.
 */
import assert from "node:assert/strict";
import { runCrash } from "./lib/crash.ts";

Deno.test("main.ts keeps every completed turn and a sound database after kill -9 mid-stream", async () => {
  const r = await runCrash({ turns: 60, conversations: 6, inflight: 4, concurrency: 4 });
  console.log(
    `crash: ${r.completedTurns} turns completed, ${r.inflightAtKill} streams in flight at ${r.killSignal}; ` +
      `integrity ${r.integrity}; ${r.turnsFound} turns found after restart (${r.restartMs} ms); ` +
      `${r.inflightStored} in-flight messages stored`,
  );
  assert.equal(r.killSignal, "SIGKILL");
  assert.equal(r.integrity, "ok");
  assert.deepEqual(r.missing, []);
  assert.equal(r.turnsFound, 60);
  assert.deepEqual(r.tornConversations, []);
  assert.equal(r.inflightStored, 0, "a turn still streaming at the kill was stored");
});
