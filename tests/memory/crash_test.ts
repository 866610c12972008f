import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { SqliteMemoryStore } from "../../src/memory/sqlite_store.ts";

const FIXTURE = new URL("./fixtures/append_forever.ts", import.meta.url).pathname;

Deno.test("SqliteMemoryStore keeps every completed turn after kill -9", async () => {
  const dir = await Deno.makeTempDir({ prefix: "yychat_crash_" });
  try {
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-read", "--allow-write", "--allow-env", FIXTURE, dir],
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    let lastCommitted = -1;
    let buffered = "";
    const decoder = new TextDecoder();
    const reader = child.stdout.getReader();
    // Let it commit a few hundred turns, then kill it mid-flight.
    while (lastCommitted < 300) {
      const { value, done } = await reader.read();
      if (done) break;
      buffered += decoder.decode(value, { stream: true });
      const lines = buffered.split("\n");
      buffered = lines.pop()!;
      for (const line of lines) {
        const m = /^committed (\d+)$/.exec(line);
        if (m) lastCommitted = Number(m[1]);
      }
    }
    child.kill("SIGKILL");
    // Drain what was printed before the kill: those turns are promised too.
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffered += decoder.decode(value, { stream: true });
    }
    for (const line of buffered.split("\n")) {
      const m = /^committed (\d+)$/.exec(line);
      if (m) lastCommitted = Number(m[1]);
    }
    const status = await child.status;
    const stderr = new TextDecoder().decode(await new Response(child.stderr).arrayBuffer());
    assert.equal(status.signal, "SIGKILL", `child ended by itself: ${stderr}`);
    assert.ok(lastCommitted >= 300, `child committed only ${lastCommitted + 1} turns: ${stderr}`);

    const raw = new DatabaseSync(`${dir}/yychat.db`);
    try {
      assert.equal(raw.prepare("PRAGMA integrity_check").get()!.integrity_check, "ok");
    } finally {
      raw.close();
    }
    const store = new SqliteMemoryStore({ dataDir: dir });
    try {
      const all = await store.list("ns", "crash");
      // Whole turns only: the count is a multiple of 4, never a torn turn.
      assert.equal(all.length % 4, 0);
      const answers = new Set(
        all.filter((m) => m.content?.startsWith("answer ")).map((m) => m.content),
      );
      for (let n = 0; n <= lastCommitted; n++) {
        assert.ok(answers.has(`answer ${n}`), `turn ${n} was reported committed but is missing`);
      }
      // FTS index survived too: an old turn is still recallable.
      const ctx = await store.context("ns", "crash", {
        query: "question 7",
        tokenBudget: 10_000,
        maxRecentMessages: 0,
      });
      assert.ok(ctx.messages.length > 0);
    } finally {
      await store.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
