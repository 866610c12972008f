import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { SCHEMA_VERSION, SqliteMemoryStore, toFtsQuery } from "../../src/memory/sqlite_store.ts";
import { scopeToken } from "../../src/memory/recall_terms.ts";
import { estimateTokens } from "../../src/memory/tokens.ts";
import { runMemoryStoreContract, turn } from "./store_contract.ts";
import { waitFor } from "../helpers/wait.ts";

Deno.test("SqliteMemoryStore satisfies the MemoryStore contract", async (t) => {
  await runMemoryStoreContract(t, async () => {
    const dir = await Deno.makeTempDir({ prefix: "yychat_mem_" });
    return {
      open: () => Promise.resolve(new SqliteMemoryStore({ dataDir: `${dir}/data` })),
      cleanup: () => Deno.remove(dir, { recursive: true }),
    };
  });
});

Deno.test("toFtsQuery() quotes terms and splits CJK into bigrams", () => {
  assert.equal(toFtsQuery('the "quick" fox*'), '"quick" OR "fox"');
  assert.equal(toFtsQuery("北京烤鸭"), '"北 京" OR "京 烤" OR "烤 鸭"');
  assert.equal(toFtsQuery("AI模型 v2"), '"ai" OR "模 型" OR "v2"');
  assert.equal(toFtsQuery("?? !!"), "");
});

Deno.test("estimateTokens() counts CJK characters as one token each", () => {
  assert.equal(estimateTokens(""), 0);
  assert.equal(estimateTokens("abcd"), 1);
  assert.equal(estimateTokens("abcde"), 2);
  assert.equal(estimateTokens("北京烤鸭"), 4);
  assert.equal(estimateTokens("𠀀𠀁"), 2);
  assert.equal(estimateTokens("한국어 ｆｕｌｌ"), 8);
  assert.equal(estimateTokens("\ud840 lone"), 2, "a lone surrogate is ordinary text");
});

Deno.test("SqliteMemoryStore uses WAL and refuses a newer schema version", async () => {
  const dir = await Deno.makeTempDir({ prefix: "yychat_mem_" });
  try {
    const store = new SqliteMemoryStore({ dataDir: dir });
    await store.appendTurn("ns", "c", turn("remember the blue door", "blue door noted"));
    await store.close();
    await assert.rejects(() => store.list("ns", "c"), /is closed/);
    const raw = new DatabaseSync(`${dir}/yychat.db`);
    try {
      assert.equal(raw.prepare("PRAGMA journal_mode").get()!.journal_mode, "wal");
      assert.equal(raw.prepare("PRAGMA user_version").get()!.user_version, SCHEMA_VERSION);
      raw.exec("PRAGMA user_version = 99");
    } finally {
      raw.close();
    }
    assert.throws(() => new SqliteMemoryStore({ dataDir: dir }), /schema version 99 is newer/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("SqliteMemoryStore migrates a version-1 file, keeping its turns and recall", async () => {
  const dir = await Deno.makeTempDir({ prefix: "yychat_mem_" });
  try {
    // A file as the first release wrote it (schema version 1).
    const raw = new DatabaseSync(`${dir}/yychat.db`);
    try {
      raw.exec(`
        CREATE TABLE messages (
          id INTEGER PRIMARY KEY AUTOINCREMENT, namespace TEXT NOT NULL,
          conversation_id TEXT NOT NULL, turn_id TEXT NOT NULL, seq INTEGER NOT NULL,
          role TEXT NOT NULL CHECK (role IN ('system', 'user', 'assistant', 'tool')),
          content TEXT, tool_calls TEXT, tool_call_id TEXT, name TEXT, created_at REAL NOT NULL
        );
        CREATE INDEX messages_conversation ON messages (namespace, conversation_id, id);
        CREATE INDEX messages_turn ON messages (turn_id, seq);
        CREATE VIRTUAL TABLE messages_fts USING fts5(
          body, scope, content = '', contentless_delete = 1,
          tokenize = 'unicode61 remove_diacritics 2'
        );
        PRAGMA user_version = 1;
      `);
      const insert = raw.prepare(
        `INSERT INTO messages (namespace, conversation_id, turn_id, seq, role, content, created_at)
         VALUES ('ns', 'old', 't1', ?, ?, ?, 1700000000)`,
      );
      const fts = raw.prepare("INSERT INTO messages_fts (rowid, body, scope) VALUES (?, ?, ?)");
      const long = "word ".repeat(2000); // ~2,500 tokens
      const rows: [number, string, string][] = [[0, "user", `zebra ${long}`], [
        1,
        "assistant",
        "ok",
      ]];
      for (const [seq, role, content] of rows) {
        const { lastInsertRowid } = insert.run(seq, role, content);
        fts.run(lastInsertRowid, content, scopeToken("ns", "old"));
      }
    } finally {
      raw.close();
    }
    const store = new SqliteMemoryStore({ dataDir: dir });
    try {
      assert.equal((await store.list("ns", "old")).length, 2);
      // The migrated token counts are real: the 2,500-token message does not fit 1,000.
      const small = await store.context("ns", "old", {
        query: "zebra",
        tokenBudget: 1000,
        maxRecentMessages: 10,
      });
      assert.deepEqual(small.messages, [{ role: "assistant", content: "ok" }]);
      const big = await store.context("ns", "old", {
        query: "zebra",
        tokenBudget: 5000,
        maxRecentMessages: 0,
      });
      assert.equal(big.messages.length, 2, "old index entries still recall");
      assert.equal(big.epoch, 0);
      assert.equal(await store.clear("ns", "old"), 2);
    } finally {
      await store.close();
    }
    const check = new DatabaseSync(`${dir}/yychat.db`);
    try {
      assert.equal(check.prepare("PRAGMA user_version").get()!.user_version, SCHEMA_VERSION);
      assert.equal(check.prepare("PRAGMA integrity_check").get()!.integrity_check, "ok");
    } finally {
      check.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("SqliteMemoryStore checkpoints the WAL into the database file off the event loop", async (t) => {
  const big = "长颈鹿".repeat(120_000); // ~1 MiB in UTF-8
  for (
    const [label, checkpointIntervalMs] of [["worker thread", 20], ["SQLite inline", 0]] as const
  ) {
    await t.step(label, async () => {
      const dir = await Deno.makeTempDir({ prefix: "yychat_mem_" });
      const store = new SqliteMemoryStore({ dataDir: dir, checkpointIntervalMs });
      try {
        const before = (await Deno.stat(`${dir}/yychat.db`)).size;
        for (let i = 0; i < 6; i++) await store.appendTurn("ns", "c", turn(`${big}${i}`, "ok"));
        // Committed pages reach the database file while the store is open
        // (they would otherwise stay in the WAL until close).
        await waitFor(
          () => Deno.statSync(`${dir}/yychat.db`).size > before + 4 * 1024 * 1024,
          10_000,
          "the WAL to be checkpointed",
        );
        assert.equal((await store.list("ns", "c")).length, 12);
        assert.equal(store.backgroundCheckpoints, checkpointIntervalMs > 0);
      } finally {
        await store.close();
        await Deno.remove(dir, { recursive: true });
      }
    });
  }
});
