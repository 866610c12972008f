/**
 * The default conversation memory: one SQLite file (`node:sqlite`) under the
 * data directory, with an FTS5 index for BM25 recall of older turns.
 *
 * Durability: WAL journal with `synchronous=NORMAL`. A transaction is
 * committed once its frames are written to the WAL file with `write(2)`; they
 * then sit in the OS page cache, which outlives our process. So every turn
 * whose `appendTurn` returned survives `kill -9` (proved by
 * `tests/memory/crash_test.ts`). What NORMAL does not promise is power loss
 * or a kernel crash: the last few commits since the last checkpoint fsync may
 * roll back (the database stays consistent, never corrupt). `FULL` fsyncs the
 * WAL on every commit and survives power loss too, at a few milliseconds per
 * turn on ordinary disks; choose it with `synchronous: "FULL"`.
 */
import { DatabaseSync, type StatementSync } from "node:sqlite";
import type { ChatMessage } from "../core/chat.ts";
import type {
  AppendOptions,
  AppendResult,
  ContextOptions,
  MemoryContext,
  MemoryEntry,
  MemoryStore,
} from "./store.ts";
import {
  assembleContext,
  DEFAULT_MAX_RECALL_HITS,
  RECALL_CANDIDATES,
  type RecallHit,
  type StoredRow,
  toEntry,
  toStoredFields,
} from "./context_assembly.ts";
import { indexedText, recallTerms, scopeToken, spaceCjk } from "./recall_terms.ts";
import { estimateMessageTokens } from "./tokens.ts";
import { SqliteCheckpointer } from "./sqlite_checkpointer.ts";

/** Bump when the schema changes and add a step to `#migrate`. */
export const SCHEMA_VERSION = 2;

export interface SqliteMemoryStoreOptions {
  /** Directory holding the database file; created when missing. */
  dataDir: string;
  /** Database file name inside `dataDir`. */
  fileName?: string;
  /** `NORMAL` survives process kills, `FULL` also power loss (slower). */
  synchronous?: "NORMAL" | "FULL";
  /** How long a writer waits for another connection's lock before failing. */
  busyTimeoutMs?: number;
  /** Most full-text hits considered for recall per `context()` call. */
  maxRecallHits?: number;
  /** Clock in epoch milliseconds (tests). */
  now?: () => number;
  /**
   * Checkpoint the WAL on a worker thread every this many milliseconds
   * (default 250), so its copying and `fsync` never stall the event loop;
   * 0 leaves checkpoints to SQLite (inline, at commit).
   */
  checkpointIntervalMs?: number;
}

const COLUMNS =
  "id, turn_id, seq, role, content, tool_calls, tool_call_id, name, created_at, tokens";
/** Like COLUMNS, but the text of a message over the budget (`?`) is left out: it cannot fit. */
const BUDGET_COLUMNS = `id, turn_id, seq, role,
  CASE WHEN tokens <= ? THEN content END AS content,
  CASE WHEN tokens <= ? THEN tool_calls END AS tool_calls,
  tool_call_id, name, created_at, tokens`;

/**
 * The messages table. The small columns come first and `content` last: a
 * row's fields are stored in column order, and a 1 MiB message spills into
 * a chain of overflow pages, so reading `tokens` or `created_at` of a big
 * message would otherwise walk that chain. `tokens` (each message's
 * estimated tokens) lets context assembly skip, unread, a message that
 * cannot fit the budget.
 */
const MESSAGES_TABLE = `CREATE TABLE messages (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  namespace TEXT NOT NULL,
  conversation_id TEXT NOT NULL,
  turn_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  role TEXT NOT NULL CHECK (role IN ('system', 'user', 'assistant', 'tool')),
  tokens INTEGER NOT NULL,
  created_at REAL NOT NULL,
  tool_call_id TEXT,
  name TEXT,
  tool_calls TEXT,
  content TEXT
);`;

/** `epoch` is advanced by every clear(), so a turn that started before a delete is not stored. */
const CONVERSATIONS_TABLE = `CREATE TABLE conversations (
  namespace TEXT NOT NULL,
  conversation_id TEXT NOT NULL,
  epoch INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (namespace, conversation_id)
) WITHOUT ROWID;`;

/** An FTS5 query OR-ing the terms, each a quoted string (a bigram is a two-token phrase). */
function ftsQuery(terms: string[][]): string {
  return terms.map((t) => `"${t.join(" ")}"`).join(" OR ");
}

/**
 * Turns arbitrary user text into a safe FTS5 query: only letters and digits
 * survive, every term is a quoted string (so `"`, `*`, `NEAR`, `AND`, `-`
 * and column filters lose their meaning), terms are OR-ed for BM25 ranking.
 * Returns "" when nothing searchable is left. Bounded: see `recallTerms`.
 */
export function toFtsQuery(text: string): string {
  return ftsQuery(recallTerms(text));
}

/**
 * `MemoryStore` over one SQLite file. All methods are synchronous underneath
 * (SQLite calls take microseconds); they return promises to honour the port.
 */
export class SqliteMemoryStore implements MemoryStore {
  /** Absolute or relative path of the database file. */
  readonly path: string;
  readonly #db: DatabaseSync;
  readonly #now: () => number;
  readonly #maxRecallHits: number;
  readonly #stmt: {
    insert: StatementSync;
    insertFts: StatementSync;
    epoch: StatementSync;
    bumpEpoch: StatementSync;
    recent: StatementSync;
    turn: StatementSync;
    recall: StatementSync;
    list: StatementSync;
    deleteFts: StatementSync;
    deleteMessages: StatementSync;
  };
  #closed = false;
  readonly #checkpointer: SqliteCheckpointer;

  constructor(options: SqliteMemoryStoreOptions) {
    Deno.mkdirSync(options.dataDir, { recursive: true });
    this.path = `${options.dataDir.replace(/\/+$/, "")}/${options.fileName ?? "yychat.db"}`;
    this.#now = options.now ?? Date.now;
    this.#maxRecallHits = options.maxRecallHits ?? DEFAULT_MAX_RECALL_HITS;
    const synchronous = options.synchronous ?? "NORMAL";
    if (synchronous !== "NORMAL" && synchronous !== "FULL") {
      throw new RangeError(`Invalid synchronous mode "${synchronous}": use "NORMAL" or "FULL"`);
    }
    this.#db = new DatabaseSync(this.path);
    try {
      this.#db.exec(
        `PRAGMA busy_timeout = ${Math.max(0, Math.trunc(options.busyTimeoutMs ?? 5000))}`,
      );
      this.#db.exec("PRAGMA journal_mode = WAL");
      this.#db.exec(`PRAGMA synchronous = ${synchronous}`);
      this.#db.exec("PRAGMA foreign_keys = ON");
      // A WAL reset after a checkpoint truncates the file back to this size.
      this.#db.exec("PRAGMA journal_size_limit = 67108864");
      this.#migrate();
      this.#checkpointer = new SqliteCheckpointer(
        this.#db,
        this.path,
        options.checkpointIntervalMs ?? 250,
      );
      const conv = "namespace = ? AND conversation_id = ?";
      this.#stmt = {
        insert: this.#db.prepare(
          `INSERT INTO messages (namespace, conversation_id, turn_id, seq, role, content,
             tool_calls, tool_call_id, name, created_at, tokens)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        ),
        insertFts: this.#db.prepare(
          "INSERT INTO messages_fts (rowid, body, scope) VALUES (?, ?, ?)",
        ),
        epoch: this.#db.prepare(`SELECT epoch FROM conversations WHERE ${conv}`),
        bumpEpoch: this.#db.prepare(
          `INSERT INTO conversations (namespace, conversation_id, epoch) VALUES (?, ?, 1)
           ON CONFLICT (namespace, conversation_id) DO UPDATE SET epoch = epoch + 1`,
        ),
        recent: this.#db.prepare(
          `SELECT ${BUDGET_COLUMNS} FROM messages WHERE ${conv} ORDER BY id DESC LIMIT ?`,
        ),
        turn: this.#db.prepare(
          `SELECT ${BUDGET_COLUMNS} FROM messages WHERE ${conv} AND turn_id = ? ORDER BY seq`,
        ),
        // FTS first (scoped by the conversation's token, so it reads only
        // this conversation's postings), then the table by primary key. Only
        // the newest RECALL_CANDIDATES matches older than the recent window
        // are ranked, so the cost stays flat however long the conversation
        // grows and however common the query's words are.
        recall: this.#db.prepare(
          `WITH hits AS MATERIALIZED (
             SELECT rowid AS id, bm25(messages_fts, 1.0, 0.0) AS score FROM messages_fts
             WHERE messages_fts MATCH ? AND rowid < ?
             ORDER BY rowid DESC LIMIT ${RECALL_CANDIDATES}
           )
           SELECT m.id AS id, m.turn_id AS turn_id FROM hits JOIN messages m ON m.id = hits.id
           WHERE m.namespace = ? AND m.conversation_id = ?
           ORDER BY hits.score LIMIT ?`,
        ),
        list: this.#db.prepare(
          `SELECT ${COLUMNS} FROM messages WHERE ${conv} ORDER BY id DESC LIMIT ?`,
        ),
        deleteFts: this.#db.prepare(
          `DELETE FROM messages_fts WHERE rowid IN (SELECT id FROM messages WHERE ${conv})`,
        ),
        deleteMessages: this.#db.prepare(`DELETE FROM messages WHERE ${conv}`),
      };
    } catch (err) {
      this.#db.close();
      throw err;
    }
  }

  #migrate(): void {
    const version = Number(
      (this.#db.prepare("PRAGMA user_version").get() as { user_version: number }).user_version,
    );
    if (version > SCHEMA_VERSION) {
      throw new Error(
        `Cannot open "${this.path}": schema version ${version} is newer than supported (${SCHEMA_VERSION})`,
      );
    }
    if (version === SCHEMA_VERSION) return;
    this.#transaction(() => {
      if (version === 0) {
        this.#db.exec(`
          ${MESSAGES_TABLE}
          CREATE INDEX messages_conversation ON messages (namespace, conversation_id, id);
          CREATE INDEX messages_turn ON messages (turn_id, seq);
          -- Contentless: the indexed text is a normalised copy of content
          -- (CJK spaced out), so an external-content table would re-tokenize
          -- the wrong text on delete. contentless_delete keeps DELETE working.
          -- scope holds one token per (namespace, conversation) so a query
          -- reads only that conversation's postings.
          CREATE VIRTUAL TABLE messages_fts USING fts5(
            body, scope, content = '', contentless_delete = 1,
            tokenize = 'unicode61 remove_diacritics 2'
          );
          ${CONVERSATIONS_TABLE}
        `);
      } else if (version === 1) {
        // Version 1 had no tokens column, and content before the small
        // columns. Rebuilt with the same ids (the FTS rowids), then the token
        // counts are computed.
        const sequence = this.#db.prepare(
          "SELECT seq FROM sqlite_sequence WHERE name = 'messages'",
        ).get() as { seq: number } | undefined;
        this.#db.exec(`
          ${MESSAGES_TABLE.replace("CREATE TABLE messages", "CREATE TABLE messages_v2")}
          INSERT INTO messages_v2 (id, namespace, conversation_id, turn_id, seq, role, tokens,
              created_at, tool_call_id, name, tool_calls, content)
            SELECT id, namespace, conversation_id, turn_id, seq, role, 0,
              created_at, tool_call_id, name, tool_calls, content
            FROM messages ORDER BY id;
          DROP TABLE messages;
          ALTER TABLE messages_v2 RENAME TO messages;
          CREATE INDEX messages_conversation ON messages (namespace, conversation_id, id);
          CREATE INDEX messages_turn ON messages (turn_id, seq);
          ${CONVERSATIONS_TABLE}
        `);
        // AUTOINCREMENT: never hand out an id the old table already used.
        this.#db.prepare(
          "UPDATE sqlite_sequence SET seq = max(seq, ?) WHERE name = 'messages'",
        ).run(Number(sequence?.seq ?? 0));
        // Pages by id, so no row is updated under a running SELECT.
        const page = this.#db.prepare(
          `SELECT ${COLUMNS} FROM messages WHERE id > ? ORDER BY id LIMIT 500`,
        );
        const update = this.#db.prepare("UPDATE messages SET tokens = ? WHERE id = ?");
        for (let after = 0;;) {
          const rows = page.all(after) as unknown as StoredRow[];
          if (rows.length === 0) break;
          for (const r of rows) update.run(estimateMessageTokens(toEntry(r)), r.id);
          after = rows[rows.length - 1]!.id;
        }
      }
      this.#db.exec(`PRAGMA user_version = ${SCHEMA_VERSION}`);
    });
  }

  /** True while WAL checkpoints run on the worker thread (not inline at commit). */
  get backgroundCheckpoints(): boolean {
    return this.#checkpointer.running;
  }

  #transaction<T>(fn: () => T): T {
    this.#db.exec("BEGIN IMMEDIATE");
    try {
      const result = fn();
      this.#db.exec("COMMIT");
      return result;
    } catch (err) {
      if (this.#db.isTransaction) this.#db.exec("ROLLBACK");
      throw err;
    }
  }

  /** Runs synchronous work as a promise, so misuse rejects instead of throwing. */
  #run<T>(fn: () => T): Promise<T> {
    try {
      this.#checkOpen();
      return Promise.resolve(fn());
    } catch (err) {
      return Promise.reject(err);
    }
  }

  #checkOpen(): void {
    if (this.#closed) throw new Error(`Memory store "${this.path}" is closed`);
  }

  #epoch(namespace: string, conversationId: string): number {
    const row = this.#stmt.epoch.get(namespace, conversationId) as { epoch: number } | undefined;
    return Number(row?.epoch ?? 0);
  }

  /**
   * Appends the messages of one completed turn in a single transaction;
   * nothing when `options.epoch` is given and the conversation was cleared
   * since.
   */
  appendTurn(
    namespace: string,
    conversationId: string,
    messages: ChatMessage[],
    options: AppendOptions = {},
  ): Promise<AppendResult> {
    return this.#run(() => this.#appendTurn(namespace, conversationId, messages, options));
  }

  #appendTurn(
    namespace: string,
    conversationId: string,
    messages: ChatMessage[],
    options: AppendOptions,
  ): AppendResult {
    if (messages.length === 0) return { stored: false };
    const fields = toStoredFields(messages);
    const turnId = crypto.randomUUID();
    const scope = scopeToken(namespace, conversationId);
    const createdAt = this.#now() / 1000;
    let written = 0;
    const result = this.#transaction((): AppendResult => {
      if (
        options.epoch !== undefined && this.#epoch(namespace, conversationId) !== options.epoch
      ) {
        return { stored: false };
      }
      messages.forEach((m, seq) => {
        const f = fields[seq]!;
        const { lastInsertRowid } = this.#stmt.insert.run(
          namespace,
          conversationId,
          turnId,
          seq,
          f.role,
          f.content,
          f.tool_calls,
          f.tool_call_id,
          f.name,
          createdAt,
          f.tokens,
        );
        const indexed = indexedText(m);
        if (indexed) this.#stmt.insertFts.run(lastInsertRowid, spaceCjk(indexed), scope);
        // UTF-8 is at most 3 bytes a UTF-16 unit; the index about twice its text.
        written += 3 * ((f.content?.length ?? 0) + (f.tool_calls?.length ?? 0)) +
          6 * indexed.length + 512;
      });
      return { stored: true };
    });
    this.#checkpointer.noteWritten(written);
    return result;
  }

  /**
   * The conversation's epoch, then its context: recent whole turns and older
   * turns recalled by BM25 (`context_assembly.ts`).
   */
  async context(
    namespace: string,
    conversationId: string,
    options: ContextOptions,
  ): Promise<MemoryContext> {
    this.#checkOpen();
    // The epoch is read first: a clear() after this point makes the turn's
    // append a no-op, whatever the context below still saw.
    const epoch = this.#epoch(namespace, conversationId);
    const rows = (stmt: StatementSync, budget: number, ...args: (string | number)[]) =>
      stmt.all(budget, budget, namespace, conversationId, ...args) as unknown as StoredRow[];
    const messages = await assembleContext({
      recent: (limit, budget) => rows(this.#stmt.recent, budget, limit).reverse(),
      turns: (turnIds, budget) => turnIds.flatMap((t) => rows(this.#stmt.turn, budget, t)),
      recall: (terms, beforeId, limit) => {
        this.#checkOpen();
        const scope = scopeToken(namespace, conversationId);
        return this.#stmt.recall.all(
          `scope : "${scope}" AND body : (${ftsQuery(terms)})`,
          beforeId,
          namespace,
          conversationId,
          limit,
        ) as unknown as RecallHit[];
      },
    }, { ...options, maxRecallHits: this.#maxRecallHits });
    return { messages, epoch };
  }

  /** The last `limit` messages (all without a limit), oldest first. */
  list(namespace: string, conversationId: string, limit?: number): Promise<MemoryEntry[]> {
    return this.#run(() => {
      const n = limit === undefined ? -1 : Math.max(0, Math.trunc(limit));
      const rows = this.#stmt.list.all(namespace, conversationId, n) as unknown as StoredRow[];
      return rows.reverse().map(toEntry);
    });
  }

  /**
   * Deletes a conversation and its index entries and advances its epoch;
   * returns the count of messages removed.
   */
  clear(namespace: string, conversationId: string): Promise<number> {
    return this.#run(() =>
      this.#transaction(() => {
        this.#stmt.bumpEpoch.run(namespace, conversationId);
        this.#stmt.deleteFts.run(namespace, conversationId);
        return Number(this.#stmt.deleteMessages.run(namespace, conversationId).changes);
      })
    );
  }

  /**
   * Stops the checkpointer and closes the database (SQLite then checkpoints
   * what is left); further calls reject. Idempotent.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#checkpointer.stop();
    try {
      this.#db.exec("PRAGMA optimize");
    } finally {
      this.#db.close();
    }
  }
}
