/**
 * Worker thread of `SqliteCheckpointer` (`sqlite_checkpointer.ts`): runs WAL
 * checkpoints on its own connection, off the server's event loop.
 *
 * Protocol: `{type: "start", path, intervalMs}` starts it (it answers
 * `{type: "ready"}`); every `intervalMs` it runs a PASSIVE checkpoint (never
 * waits for, nor blocks, the writer). `{type: "stop"}` closes its connection
 * and answers `{type: "stopped"}`. On a failure it posts
 * `{type: "failed", error}` and stops; the store then falls back to SQLite's
 * automatic checkpoint.
 */
/// <reference lib="deno.worker" />
import { DatabaseSync } from "node:sqlite";

export type CheckpointerCommand =
  | { type: "start"; path: string; intervalMs: number }
  | { type: "stop" };

export type CheckpointerReply =
  | { type: "ready" }
  | { type: "stopped" }
  | { type: "failed"; error: string };

let db: DatabaseSync | undefined;
let timer: ReturnType<typeof setInterval> | undefined;

/** Stops the timer, closes the connection, then tells the store why. */
function end(reply: CheckpointerReply): void {
  if (timer !== undefined) clearInterval(timer);
  timer = undefined;
  try {
    db?.close();
  } catch { /* already closed */ }
  db = undefined;
  self.postMessage(reply);
}

function fail(err: unknown): void {
  end({ type: "failed", error: String(err) });
}

function start(path: string, intervalMs: number): void {
  try {
    db = new DatabaseSync(path);
    db.exec("PRAGMA busy_timeout = 1000");
    // This connection only checkpoints; it never checkpoints on its own commits.
    db.exec("PRAGMA wal_autocheckpoint = 0");
    const checkpoint = db.prepare("PRAGMA wal_checkpoint(PASSIVE)");
    timer = setInterval(() => {
      try {
        checkpoint.get();
      } catch (err) {
        fail(err);
      }
    }, Math.max(10, intervalMs));
    self.postMessage({ type: "ready" } satisfies CheckpointerReply);
  } catch (err) {
    fail(err);
  }
}

self.onmessage = (ev: MessageEvent<CheckpointerCommand>) => {
  const cmd = ev.data;
  if (cmd.type === "stop") end({ type: "stopped" });
  else if (!db) start(cmd.path, cmd.intervalMs);
};
