/**
 * The private PostgreSQL helper itself: a real server answers on its unix
 * socket only, keeps its data across `stop()`/`start()`, refuses
 * connections while stopped, and leaves nothing behind after `close()`.
 */
import assert from "node:assert/strict";
import { POSTGRES_BIN_DIR, postgresMissing, startPostgres } from "./postgres_server.ts";

const missing = postgresMissing();
if (missing) console.warn(`PostgreSQL helper test ignored: ${missing}`);

async function psql(dir: string, database: string, sql: string) {
  const out = await new Deno.Command(`${POSTGRES_BIN_DIR}/psql`, {
    args: ["-h", dir, "-U", "postgres", "-d", database, "-v", "ON_ERROR_STOP=1", "-Atc", sql],
    stdout: "piped",
    stderr: "piped",
  }).output();
  return {
    ok: out.success,
    text: new TextDecoder().decode(out.stdout).trim() + new TextDecoder().decode(out.stderr),
  };
}

Deno.test({
  name: "startPostgres() runs a private server on a unix socket that stops and starts by pid",
  ignore: missing !== undefined,
  async fn() {
    const pg = await startPostgres();
    try {
      assert.match(pg.url, /^postgres:\/\/postgres@%2F.+:5432\/postgres$/);
      assert.ok(pg.pid !== undefined && pg.pid > 0);
      assert.equal((await psql(pg.dir, "postgres", "SHOW listen_addresses")).text, "");
      const url = await pg.createDatabase("helper");
      assert.equal(url, pg.urlFor("helper"));
      assert.ok(
        (await psql(pg.dir, "helper", "CREATE TABLE t (x int); INSERT INTO t VALUES (7)")).ok,
      );

      const firstPid = pg.pid;
      await pg.stop();
      assert.equal(pg.pid, undefined);
      assert.equal((await psql(pg.dir, "helper", "SELECT 1")).ok, false, "stopped means down");

      await pg.start();
      assert.notEqual(pg.pid, firstPid);
      assert.deepEqual(await psql(pg.dir, "helper", "SELECT x FROM t"), { ok: true, text: "7" });
    } finally {
      await pg.close();
    }
    await assert.rejects(() => Deno.stat(pg.dir), Deno.errors.NotFound);
    await pg.close(); // idempotent
  },
});
