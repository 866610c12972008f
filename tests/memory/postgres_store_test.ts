/**
 * `PostgresMemoryStore` against a real private PostgreSQL 15 started by the
 * test (`tests/helpers/postgres_server.ts`): the shared store contract, the
 * versioned schema, and what happens when the server stops and comes back.
 * URL parsing and query building are checked without a server.
 */
import assert from "node:assert/strict";
import {
  isUnreachable,
  parseDatabaseUrl,
  POSTGRES_SCHEMA_VERSION,
  PostgresMemoryStore,
  toTsQuery,
} from "../../src/memory/postgres_store.ts";
import { recallTerms } from "../../src/memory/recall_terms.ts";
import { POSTGRES_BIN_DIR, postgresMissing, startPostgres } from "../helpers/postgres_server.ts";
import { runMemoryStoreContract, turn } from "./store_contract.ts";

const missing = postgresMissing();
if (missing) {
  console.warn(`PostgreSQL tests ignored: ${missing}`);
}

const q = (query: string) => ({ query, tokenBudget: 1000, maxRecentMessages: 10 });

Deno.test({
  name: "PostgresMemoryStore satisfies the MemoryStore contract",
  ignore: missing !== undefined,
  async fn(t) {
    const pg = await startPostgres();
    try {
      let n = 0;
      await runMemoryStoreContract(t, async () => {
        const url = await pg.createDatabase(`contract_${++n}`);
        return {
          open: () => PostgresMemoryStore.open({ url }),
          cleanup: () => Promise.resolve(),
        };
      });
    } finally {
      await pg.close();
    }
  },
});

Deno.test({
  name: "PostgresMemoryStore creates a versioned schema once and refuses a newer one",
  ignore: missing !== undefined,
  async fn() {
    const pg = await startPostgres();
    try {
      const url = await pg.createDatabase("schema");
      // Several nodes starting at once: one creates the schema, the others wait and see it.
      const stores = await Promise.all(
        [1, 2, 3].map(() => PostgresMemoryStore.open({ url, poolSize: 2 })),
      );
      try {
        await stores[0]!.appendTurn("ns", "c", turn("hello", "hi"));
        assert.equal((await stores[2]!.list("ns", "c")).length, 2);
      } finally {
        await Promise.all(stores.map((s) => s.close()));
      }
      const psql = async (sql: string) => {
        const out = await new Deno.Command(`${POSTGRES_BIN_DIR}/psql`, {
          args: ["-h", pg.dir, "-U", "postgres", "-d", "schema", "-Atc", sql],
          stdout: "piped",
          stderr: "piped",
        }).output();
        assert.ok(out.success, new TextDecoder().decode(out.stderr));
        return new TextDecoder().decode(out.stdout).trim();
      };
      assert.equal(await psql("SELECT version FROM schema_version"), `${POSTGRES_SCHEMA_VERSION}`);
      await psql("UPDATE schema_version SET version = 99");
      await assert.rejects(
        () => PostgresMemoryStore.open({ url }),
        /schema version 99 is newer than supported/,
      );
    } finally {
      await pg.close();
    }
  },
});

Deno.test({
  name: "PostgresMemoryStore rejects while PostgreSQL is stopped and recovers when it is back",
  ignore: missing !== undefined,
  async fn() {
    const pg = await startPostgres();
    try {
      const url = await pg.createDatabase("outage");
      const store = await PostgresMemoryStore.open({ url, connectTimeoutMs: 2000 });
      try {
        await store.appendTurn("ns", "c", turn("before the outage", "ok"));
        const { epoch } = await store.context("ns", "c", q("outage"));
        await pg.stop();
        for (
          const call of [
            () => store.context("ns", "c", q("outage")),
            () => store.appendTurn("ns", "c", turn("during the outage", "lost"), { epoch }),
            () => store.list("ns", "c"),
            () => store.clear("ns", "c"),
          ]
        ) {
          const err = await call().then(() => undefined, (e) => e);
          assert.ok(err !== undefined, "a call succeeded while PostgreSQL was stopped");
          assert.ok(isUnreachable(err), `not a connection failure: ${err}`);
        }
        await pg.start();
        // The pool reconnects by itself; nothing of the failed turn was written.
        assert.deepEqual((await store.list("ns", "c")).map((m) => m.content), [
          "before the outage",
          "ok",
        ]);
        assert.deepEqual(
          await store.appendTurn("ns", "c", turn("after the outage", "ok"), { epoch }),
          { stored: true },
        );
      } finally {
        await store.close();
      }

      // A store created while the server is down gets its schema once it is up.
      await pg.stop();
      const late = new PostgresMemoryStore({ url: pg.urlFor("late"), connectTimeoutMs: 2000 });
      try {
        const err = await late.list("ns", "c").then(() => undefined, (e) => e);
        assert.ok(isUnreachable(err), `not a connection failure: ${err}`);
        await pg.start();
        await pg.createDatabase("late");
        await late.appendTurn("ns", "c", turn("first", "turn"));
        assert.equal((await late.list("ns", "c")).length, 2);
      } finally {
        await late.close();
      }
    } finally {
      await pg.close();
    }
  },
});

Deno.test("parseDatabaseUrl() reads TCP and unix-socket URLs like libpq", async (t) => {
  const cases: [string, Record<string, unknown>][] = [
    ["postgres://yy:s%40cret@db.example.com:6543/chat?sslmode=require", {
      host: "db.example.com",
      port: 6543,
      database: "chat",
      username: "yy",
      password: "s@cret",
      ssl: "require",
    }],
    ["postgresql://yy@localhost/chat", { host: "localhost", port: 5432, ssl: false }],
    ["postgres://yy@%2Fvar%2Frun%2Fpostgresql/chat", {
      host: "/var/run/postgresql",
      path: "/var/run/postgresql/.s.PGSQL.5432",
      database: "chat",
    }],
    ["postgres://yy@/chat?host=/tmp/pg&port=5433", {
      host: "/tmp/pg",
      path: "/tmp/pg/.s.PGSQL.5433",
      port: 5433,
    }],
    ["postgres:///chat", { path: "/var/run/postgresql/.s.PGSQL.5432", username: "postgres" }],
    ["postgres://yy@db/", { database: "yy" }],
    ["postgres://db/chat?search_path=yychat", {
      connection: { application_name: "yychat", search_path: "yychat" },
    }],
  ];
  for (const [url, expected] of cases) {
    await t.step(url, () => {
      const target = parseDatabaseUrl(url);
      for (const [key, value] of Object.entries(expected)) {
        assert.deepEqual(target[key as keyof typeof target], value, key);
      }
    });
  }
  for (
    const bad of [
      "mysql://u:hunter2@db/x",
      "not a url",
      "postgres://u:hunter2@db:99999/x",
      "postgres://u:hunter2@db/x?sslmode=verify-ca",
    ]
  ) {
    await t.step(`refuses ${bad}`, () => {
      assert.throws(() => parseDatabaseUrl(bad), (err: Error) => {
        assert.ok(err instanceof TypeError);
        assert.doesNotMatch(err.message, /hunter2/, "the password is never repeated");
        return true;
      });
    });
  }
});

Deno.test("toTsQuery() ORs words and CJK bigram phrases built from safe tokens", () => {
  assert.equal(
    toTsQuery(recallTerms("北京烤鸭")),
    "('北' <-> '京') | ('京' <-> '烤') | ('烤' <-> '鸭')",
  );
  assert.equal(toTsQuery(recallTerms("AI模型 v2 猫")), "'ai' | ('模' <-> '型') | 'v2' | '猫'");
  assert.equal(toTsQuery(recallTerms("a & b | !c <-> 'd':* \\")), "");
  assert.equal(toTsQuery(recallTerms("it's")), "");
});
