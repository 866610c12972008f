/**
 * The private Redis helper itself: a real `redis-server` answers a RESP PING
 * on its unix socket, is gone after `stop()`, answers again after `start()`,
 * and leaves nothing behind after `close()`. Two servers run side by side.
 */
import assert from "node:assert/strict";
import { redisMissing, startRedis } from "./redis_server.ts";

const missing = redisMissing();
if (missing) console.warn(`Redis helper test ignored: ${missing}`);

/** One RESP command over a raw unix socket (no client library); returns the reply. */
async function resp(socketPath: string, ...words: string[]): Promise<string> {
  const conn = await Deno.connect({ transport: "unix", path: socketPath });
  try {
    const frame = `*${words.length}\r\n` +
      words.map((w) => `$${new TextEncoder().encode(w).length}\r\n${w}\r\n`).join("");
    await conn.write(new TextEncoder().encode(frame));
    const buf = new Uint8Array(256);
    let reply = "";
    while (!reply.endsWith("\r\n")) {
      const n = await conn.read(buf);
      if (n === null) break;
      reply += new TextDecoder().decode(buf.subarray(0, n));
    }
    return reply;
  } finally {
    conn.close();
  }
}

Deno.test({
  name: "startRedis() serves PING on a private unix socket, stops and starts again by pid",
  ignore: missing !== undefined,
  async fn() {
    const [a, b] = await Promise.all([startRedis(), startRedis()]);
    try {
      assert.notEqual(a.socketPath, b.socketPath);
      assert.equal(a.url, `unix://${a.socketPath}`);
      assert.equal(await resp(a.socketPath, "PING"), "+PONG\r\n");
      assert.equal(await resp(b.socketPath, "PING"), "+PONG\r\n");
      assert.equal(await resp(a.socketPath, "SET", "k", "v"), "+OK\r\n");
      assert.equal(await resp(b.socketPath, "GET", "k"), "$-1\r\n", "the servers share nothing");

      const firstPid = a.pid;
      assert.ok(firstPid !== undefined && firstPid > 0);
      await a.stop();
      assert.equal(a.pid, undefined);
      await assert.rejects(() => resp(a.socketPath, "PING"), "nothing listens after stop()");
      assert.equal(await resp(b.socketPath, "PING"), "+PONG\r\n", "the other server is unaffected");

      await a.start();
      assert.notEqual(a.pid, firstPid);
      assert.equal(await resp(a.socketPath, "PING"), "+PONG\r\n");
      assert.equal(await resp(a.socketPath, "GET", "k"), "$-1\r\n", "nothing was persisted");
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
    for (const dir of [a.dir, b.dir]) {
      await assert.rejects(() => Deno.stat(dir), Deno.errors.NotFound);
    }
    await a.close(); // idempotent
  },
});
