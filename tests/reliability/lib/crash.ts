/**
 * Crash safety: `main.ts` as a child process on a data dir we own, some
 * completed turns, more streams in flight, `kill -9`, then the database is
 * checked directly (`PRAGMA integrity_check`) and through a restarted
 * server's REST memory route: every completed turn is there, no in-flight one.
 *
 * `startServerProcess` deletes only the temp dir it made itself; passing
 * `YYCHAT_DATA_DIR` points the server elsewhere, so our dir survives `stop()`.
 */
import { DatabaseSync } from "node:sqlite";
import { startServerProcess } from "../../helpers/server_process.ts";
import { TestClient } from "../../helpers/ws_client.ts";
import { providerEnv, startScriptedProvider } from "./scripted_provider.ts";
import { untilAny } from "./traffic.ts";

export interface CrashOptions {
  /** Turns completed (stream_end received) before the kill. */
  turns: number;
  /** Conversations the completed turns are spread over. */
  conversations: number;
  /** Streams running when the server is killed. */
  inflight: number;
  /** Completed turns run at once. */
  concurrency: number;
}

export interface CrashResult {
  completedTurns: number;
  inflightAtKill: number;
  killSignal: string | null;
  integrity: string;
  /** Completed turns found after the restart (through `GET /v1/conversations/{id}/memory`). */
  turnsFound: number;
  missing: string[];
  /** Messages stored for conversations whose only turn was in flight at the kill. */
  inflightStored: number;
  /** Message count is a whole number of turns in every conversation. */
  tornConversations: string[];
  restartMs: number;
}

export async function runCrash(opts: CrashOptions): Promise<CrashResult> {
  const dataDir = await Deno.makeTempDir({ prefix: "yychat-crash-" });
  const mock = await startScriptedProvider();
  try {
    const env = { ...providerEnv(mock), YYCHAT_DATA_DIR: dataDir, WS_MAX_CONNECTIONS: "1000" };
    const first = await startServerProcess(env);
    const completed: { conv: string; content: string }[] = [];
    let next = 0;
    await Promise.all(Array.from({ length: opts.concurrency }, async () => {
      const { client } = await TestClient.connect(first.ws);
      try {
        while (next < opts.turns) {
          const i = next++;
          const conv = `crash-${i % opts.conversations}`;
          const content = `completed turn ${i}`;
          client.send({ type: "text_message", content, conversation_id: conv });
          const end = (await untilAny(client, ["stream_end", "error"])).at(-1)!;
          if (end.type !== "stream_end") throw new Error(`Turn ${i} ended with ${end.type}`);
          completed.push({ conv, content });
        }
      } finally {
        await client.close();
      }
    }));

    // Streams in flight: each has sent its first chunk when the kill comes.
    const inflight = await Promise.all(
      Array.from({ length: opts.inflight }, async (_, k) => {
        const { client } = await TestClient.connect(first.ws);
        client.send({
          type: "text_message",
          content: "[slow:400] in flight",
          conversation_id: `inflight-${k}`,
        });
        await untilAny(client, ["stream_chunk"]);
        return client;
      }),
    );
    const status = first.child.status;
    await first.stop("SIGKILL");
    const killSignal = (await status).signal;
    await Promise.all(inflight.map((c) => c.close()));

    const db = new DatabaseSync(`${dataDir}/yychat.db`);
    let integrity: string;
    try {
      integrity = String(db.prepare("PRAGMA integrity_check").get()!.integrity_check);
    } finally {
      db.close();
    }

    const t0 = performance.now();
    const second = await startServerProcess(env);
    const restartMs = Math.round(performance.now() - t0);
    try {
      const contents = new Map<string, string[]>();
      const tornConversations: string[] = [];
      for (let c = 0; c < opts.conversations; c++) {
        const conv = `crash-${c}`;
        const res = await fetch(`${second.http}/v1/conversations/${conv}/memory`);
        const body = await res.json() as { data: { role: string; content: string | null }[] };
        contents.set(conv, body.data.filter((m) => m.role === "user").map((m) => m.content ?? ""));
        // A scripted turn is one user and one assistant message.
        if (body.data.length % 2 !== 0) tornConversations.push(conv);
      }
      const missing = completed.filter(({ conv, content }) =>
        !contents.get(conv)?.includes(content)
      ).map(({ conv, content }) => `${conv}: ${content}`);
      let inflightStored = 0;
      for (let k = 0; k < opts.inflight; k++) {
        const res = await fetch(`${second.http}/v1/conversations/inflight-${k}/memory`);
        inflightStored += ((await res.json()) as { data: unknown[] }).data.length;
      }
      return {
        completedTurns: completed.length,
        inflightAtKill: inflight.length,
        killSignal,
        integrity,
        turnsFound: completed.length - missing.length,
        missing: missing.slice(0, 20),
        inflightStored,
        tornConversations,
        restartMs,
      };
    } finally {
      await second.stop("SIGTERM");
    }
  } finally {
    await mock.close();
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  }
}
