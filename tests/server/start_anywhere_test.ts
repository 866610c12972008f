/**
 * Start anywhere: the real entry point, started from a working directory
 * outside the repository, finds the shipped personalities and MCP config
 * next to the program and writes its database to `YYCHAT_DATA_DIR` wherever
 * that is — through `deno run /path/main.ts` with the narrowest write
 * permission, and through the real `deno task start` command line.
 */
import assert from "node:assert/strict";
import { START_PERMISSIONS, startServerProcess } from "../helpers/server_process.ts";

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
}

async function personalityIds(http: string): Promise<string[]> {
  const res = await fetch(`${http}/v1/personalities`);
  assert.equal(res.status, 200);
  const body = await res.json();
  return body.data.map((p: { id: string }) => p.id);
}

/** A chat turn with a conversation id, so the database really gets written. */
async function chat(http: string, conversationId: string): Promise<void> {
  const res = await fetch(`${http}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      conversation_id: conversationId,
      messages: [{ role: "user", content: "hello from elsewhere" }],
    }),
  });
  assert.equal(res.status, 200, await res.clone().text());
  await res.body?.cancel();
  const memory = await fetch(`${http}/v1/conversations/${conversationId}/memory`);
  const stored = await memory.json();
  assert.equal(stored.data.length, 2, "user and assistant messages are stored");
}

/** Two temporary directories outside the repository: a working directory and a data directory. */
async function dirs(): Promise<{ cwd: string; data: string; cleanup(): Promise<void> }> {
  const cwd = await Deno.makeTempDir({ prefix: "yychat-cwd-" });
  const data = `${await Deno.makeTempDir({ prefix: "yychat-elsewhere-" })}/nested/data`;
  return {
    cwd,
    data,
    async cleanup() {
      await Deno.remove(cwd, { recursive: true });
      await Deno.remove(data.replace(/\/nested\/data$/, ""), { recursive: true });
    },
  };
}

Deno.test("main.ts run from another directory finds the shipped personalities and writes only to YYCHAT_DATA_DIR", async (t) => {
  const { cwd, data, cleanup } = await dirs();
  // The narrowest write permission: the data directory and nothing else.
  const permissions = [
    ...START_PERMISSIONS.filter((p) => p !== "--allow-write"),
    `--allow-write=${data}`,
  ];
  try {
    await t.step("shipped defaults are found next to the program", async () => {
      const server = await startServerProcess({ YYCHAT_DATA_DIR: data }, { cwd, permissions });
      try {
        const ids = await personalityIds(server.http);
        assert.ok(ids.includes("xiaoyu") && ids.includes("assistant"), ids.join());
        await chat(server.http, "elsewhere-1");
        assert.ok(await exists(`${data}/yychat.db`), "the database is in YYCHAT_DATA_DIR");
        assert.ok(!(await exists(`${cwd}/data`)), "nothing is written to the working directory");
        assert.ok(
          !server.lines.some((l) => l.includes("personalities_dir_unreadable")),
          server.lines.join("\n"),
        );
      } finally {
        assert.equal(await server.stop(), 0);
      }
    });
    await t.step(
      "an explicit YYCHAT_PERSONALITIES_DIR is read from the working directory",
      async () => {
        await Deno.mkdir(`${cwd}/mine`);
        await Deno.writeTextFile(
          `${cwd}/mine/custom.json`,
          JSON.stringify({ id: "custom", name: "Custom", system_prompt: "Be custom." }),
        );
        const server = await startServerProcess({
          YYCHAT_DATA_DIR: data,
          YYCHAT_PERSONALITIES_DIR: "mine",
          DEFAULT_PERSONALITY: "custom",
        }, { cwd, permissions });
        try {
          assert.deepEqual(await personalityIds(server.http), ["custom"]);
        } finally {
          assert.equal(await server.stop(), 0);
        }
      },
    );
  } finally {
    await cleanup();
  }
});

Deno.test("deno task start, run from another directory with YYCHAT_DATA_DIR outside the repository, listens and serves", async () => {
  const { cwd, data, cleanup } = await dirs();
  try {
    const server = await startServerProcess({ YYCHAT_DATA_DIR: data }, { cwd, task: "start" });
    try {
      const ids = await personalityIds(server.http);
      assert.ok(ids.includes("xiaoyu"), ids.join());
      await chat(server.http, "elsewhere-2");
      assert.ok(await exists(`${data}/yychat.db`), "the database is in YYCHAT_DATA_DIR");
    } finally {
      assert.equal(await server.stop(), 0, server.stderrTail());
    }
  } finally {
    await cleanup();
  }
});
