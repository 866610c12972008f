/**
 * WAL checkpoints of a `SqliteMemoryStore` on a worker thread
 * (`sqlite_checkpointer_worker.ts`), so copying committed pages into the
 * database file, and its `fsync`, never run on the server's event loop. With
 * SQLite's automatic checkpoint the commit that crosses the threshold does it
 * inline: after a few 1 MiB messages that is tens of milliseconds (more on a
 * busy disk) during which no other connection is served.
 *
 * The thread starts lazily, once about a megabyte was written (creating it
 * costs one pause of some tens of milliseconds), so a store that only ever
 * sees small turns never pays for it. Until then, and if the thread cannot
 * start or fails (e.g. a compiled binary built without the worker module),
 * SQLite's own checkpoint at commit is used.
 */
import type { DatabaseSync } from "node:sqlite";
import type { CheckpointerCommand, CheckpointerReply } from "./sqlite_checkpointer_worker.ts";

/** Estimated bytes written before the thread is started. */
const START_AFTER_BYTES = 1024 * 1024;
/** SQLite's default automatic checkpoint threshold, in pages. */
const SQLITE_AUTOCHECKPOINT_PAGES = 1000;

/** Runs the checkpoints of one database file; see the module doc. */
export class SqliteCheckpointer {
  readonly #db: DatabaseSync;
  readonly #path: string;
  readonly #intervalMs: number;
  #worker: Worker | undefined;
  #writtenBytes = 0;
  #stopped = false;

  /**
   * `db` is the store's own connection (its automatic checkpoint is turned
   * off here and back on as the fallback); `intervalMs` 0 leaves
   * checkpoints to SQLite.
   */
  constructor(db: DatabaseSync, path: string, intervalMs: number) {
    this.#db = db;
    this.#path = path;
    this.#intervalMs = Math.max(0, Math.trunc(intervalMs));
    if (this.#intervalMs > 0) this.#db.exec("PRAGMA wal_autocheckpoint = 0");
  }

  /** True while checkpoints run on the worker thread. */
  get running(): boolean {
    return this.#worker !== undefined;
  }

  /** Counts what a commit wrote; starts the thread once the WAL may hold a megabyte. */
  noteWritten(bytes: number): void {
    if (this.#intervalMs === 0 || this.#worker || this.#stopped) return;
    this.#writtenBytes += bytes;
    if (this.#writtenBytes < START_AFTER_BYTES) return;
    this.#writtenBytes = 0;
    this.#start();
  }

  #start(): void {
    try {
      const worker = new Worker(new URL("./sqlite_checkpointer_worker.ts", import.meta.url), {
        type: "module",
      });
      worker.onerror = (ev) => {
        ev.preventDefault();
        this.#fallBack();
      };
      worker.onmessage = (ev: MessageEvent<CheckpointerReply>) => {
        if (ev.data.type === "failed") this.#fallBack();
      };
      worker.postMessage(
        {
          type: "start",
          path: this.#path,
          intervalMs: this.#intervalMs,
        } satisfies CheckpointerCommand,
      );
      this.#worker = worker;
    } catch {
      this.#fallBack();
    }
  }

  /** SQLite checkpoints at commit again; the store keeps working. */
  #fallBack(): void {
    this.#worker?.terminate();
    this.#worker = undefined;
    this.#stopped = true;
    try {
      this.#db.exec(`PRAGMA wal_autocheckpoint = ${SQLITE_AUTOCHECKPOINT_PAGES}`);
    } catch { /* the store is closed */ }
  }

  /** Asks the thread to close its connection (bounded wait), then ends it. Idempotent. */
  async stop(): Promise<void> {
    this.#stopped = true;
    const worker = this.#worker;
    if (!worker) return;
    this.#worker = undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      new Promise<void>((resolve) => {
        worker.onmessage = (ev: MessageEvent<CheckpointerReply>) => {
          if (ev.data.type !== "ready") resolve();
        };
        worker.onerror = (ev) => {
          ev.preventDefault();
          resolve();
        };
        worker.postMessage({ type: "stop" } satisfies CheckpointerCommand);
      }),
      new Promise<void>((resolve) => timer = setTimeout(resolve, 2000)),
    ]);
    clearTimeout(timer);
    worker.terminate();
  }
}
