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
import type { ChatMessage, ChatRole, ToolCall } from "../core/chat.ts";
import type { ContextOptions, MemoryEntry, MemoryStore } from "./store.ts";
import { estimateMessageTokens } from "./tokens.ts";

/** Most recent full-text matches ranked by BM25 per recall (bounds its cost). */
export const RECALL_CANDIDATES = 400;

/** Bump when the schema changes and add a step to `#migrate`. */
export const SCHEMA_VERSION = 1;

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
}

interface Row {
  id: number;
  turn_id: string;
  seq: number;
  role: string;
  content: string | null;
  tool_calls: string | null;
  tool_call_id: string | null;
  name: string | null;
  created_at: number;
}

const ROLES: ReadonlySet<string> = new Set<ChatRole>(["system", "user", "assistant", "tool"]);
const COLUMNS = "id, turn_id, seq, role, content, tool_calls, tool_call_id, name, created_at";

/**
 * Scripts without spaces between words. The FTS index stores each of their
 * characters as its own token and queries match adjacent-character bigrams,
 * so "烤鸭" finds "我喜欢吃北京烤鸭" (the trigram tokenizer cannot match
 * two-character words, which are the most common in Chinese).
 */
const CJK = /[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u{20000}-\u{3134f}]/u;
const CJK_GLOBAL = new RegExp(CJK.source, "gu");
const WORD = /[\p{L}\p{N}]+/gu;
const STOP_WORDS = new Set(
  ("a an and are as at be but by can do does for from has have how i if in is it its me my " +
    "no not of on or our so that the their them then there they this to was we were what " +
    "when where which who why will with you your")
    .split(" "),
);
const MAX_QUERY_TERMS = 32;

/**
 * One FTS token naming a (namespace, conversation) pair: two independent
 * 32-bit FNV-style hashes in base 36. A collision only costs speed, since
 * recall re-checks namespace and conversation id against the table.
 */
export function scopeToken(namespace: string, conversationId: string): string {
  const key = `${namespace}\u0000${conversationId}`;
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193;
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193);
    h2 = Math.imul(h2 ^ c, 0x5bd1e995) ^ (h2 >>> 13);
  }
  return `s${(h1 >>> 0).toString(36)}x${(h2 >>> 0).toString(36)}`;
}

/** Text as the FTS index sees it: CJK characters spaced out into single tokens. */
export function searchText(text: string): string {
  return text.replace(CJK_GLOBAL, (c) => ` ${c} `);
}

/**
 * Turns arbitrary user text into a safe FTS5 query: only letters and digits
 * survive, every term is a quoted string (so `"`, `*`, `NEAR`, `AND`, `-`
 * and column filters lose their meaning), terms are OR-ed for BM25 ranking.
 * Returns "" when nothing searchable is left.
 */
export function toFtsQuery(text: string): string {
  const terms = new Set<string>();
  for (const [word] of text.toLowerCase().matchAll(WORD)) {
    // Split a word into CJK runs and the rest ("ai模型" → "ai", "模型").
    let latin = "";
    let cjk: string[] = [];
    const flush = () => {
      if (latin.length >= 2 && !STOP_WORDS.has(latin) || /^\d+$/.test(latin)) terms.add(latin);
      latin = "";
      if (cjk.length === 1) terms.add(cjk[0]!);
      for (let i = 0; i + 1 < cjk.length; i++) terms.add(`${cjk[i]} ${cjk[i + 1]}`);
      cjk = [];
    };
    for (const ch of word) {
      if (CJK.test(ch)) {
        if (latin) flush();
        cjk.push(ch);
      } else {
        if (cjk.length) flush();
        latin += ch;
      }
    }
    flush();
  }
  return [...terms].slice(0, MAX_QUERY_TERMS).map((t) => `"${t}"`).join(" OR ");
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
    recent: StatementSync;
    turn: StatementSync;
    recall: StatementSync;
    list: StatementSync;
    deleteFts: StatementSync;
    deleteMessages: StatementSync;
  };
  #closed = false;

  constructor(options: SqliteMemoryStoreOptions) {
    Deno.mkdirSync(options.dataDir, { recursive: true });
    this.path = `${options.dataDir.replace(/\/+$/, "")}/${options.fileName ?? "yychat.db"}`;
    this.#now = options.now ?? Date.now;
    this.#maxRecallHits = options.maxRecallHits ?? 16;
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
      this.#migrate();
      const conv = "namespace = ? AND conversation_id = ?";
      this.#stmt = {
        insert: this.#db.prepare(
          `INSERT INTO messages (namespace, conversation_id, turn_id, seq, role, content,
             tool_calls, tool_call_id, name, created_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        ),
        insertFts: this.#db.prepare(
          "INSERT INTO messages_fts (rowid, body, scope) VALUES (?, ?, ?)",
        ),
        recent: this.#db.prepare(
          `SELECT ${COLUMNS} FROM messages WHERE ${conv} ORDER BY id DESC LIMIT ?`,
        ),
        turn: this.#db.prepare(
          `SELECT ${COLUMNS} FROM messages WHERE ${conv} AND turn_id = ? ORDER BY seq`,
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
      if (version < 1) {
        this.#db.exec(`
          CREATE TABLE messages (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            namespace TEXT NOT NULL,
            conversation_id TEXT NOT NULL,
            turn_id TEXT NOT NULL,
            seq INTEGER NOT NULL,
            role TEXT NOT NULL CHECK (role IN ('system', 'user', 'assistant', 'tool')),
            content TEXT,
            tool_calls TEXT,
            tool_call_id TEXT,
            name TEXT,
            created_at REAL NOT NULL
          );
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
        `);
      }
      this.#db.exec(`PRAGMA user_version = ${SCHEMA_VERSION}`);
    });
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
      if (this.#closed) throw new Error(`Memory store "${this.path}" is closed`);
      return Promise.resolve(fn());
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** Appends the messages of one completed turn in a single transaction. */
  appendTurn(namespace: string, conversationId: string, messages: ChatMessage[]): Promise<void> {
    return this.#run(() => this.#appendTurn(namespace, conversationId, messages));
  }

  #appendTurn(namespace: string, conversationId: string, messages: ChatMessage[]): void {
    if (messages.length === 0) return;
    for (const m of messages) {
      if (!ROLES.has(m.role)) throw new TypeError(`Cannot store message: unknown role "${m.role}"`);
    }
    const turnId = crypto.randomUUID();
    const scope = scopeToken(namespace, conversationId);
    const createdAt = this.#now() / 1000;
    this.#transaction(() => {
      messages.forEach((m, seq) => {
        const toolCalls = m.tool_calls?.length ? JSON.stringify(m.tool_calls) : null;
        const { lastInsertRowid } = this.#stmt.insert.run(
          namespace,
          conversationId,
          turnId,
          seq,
          m.role,
          m.content ?? null,
          toolCalls,
          m.tool_call_id ?? null,
          m.name ?? null,
          createdAt,
        );
        const indexed = [m.content ?? "", ...(m.tool_calls ?? []).map((c) => c.arguments)]
          .join(" ");
        if (indexed.trim()) {
          this.#stmt.insertFts.run(lastInsertRowid, searchText(indexed), scope);
        }
      });
    });
  }

  /**
   * Recent whole turns (newest first until `maxRecentMessages` or the budget
   * is reached), then older turns recalled by BM25 against `query` while
   * budget remains; returned oldest first. Units that are never split: a
   * whole turn, or when a turn does not fit, an assistant tool-call message
   * with all its tool results.
   */
  context(
    namespace: string,
    conversationId: string,
    options: ContextOptions,
  ): Promise<ChatMessage[]> {
    return this.#run(() => this.#context(namespace, conversationId, options));
  }

  #context(namespace: string, conversationId: string, options: ContextOptions): ChatMessage[] {
    let budget = Math.max(0, options.tokenBudget);
    const maxRecent = Math.max(0, Math.trunc(options.maxRecentMessages));
    const chosen: Row[] = [];
    const chosenIds = new Set<number>();
    const take = (unit: Row[]) => {
      for (const r of unit) {
        chosen.push(r);
        chosenIds.add(r.id);
      }
      budget -= cost(unit);
    };

    // Recent window: whole turns, newest first.
    let oldestRecentId = Number.MAX_SAFE_INTEGER;
    if (maxRecent > 0) {
      const rows = (this.#stmt.recent.all(namespace, conversationId, maxRecent) as unknown as Row[])
        .reverse();
      const turns = groupTurns(rows);
      let count = 0;
      for (let i = turns.length - 1; i >= 0; i--) {
        const complete = turns[i]![0]!.seq === 0;
        const turn = toUnits(turns[i]!).flat();
        if (
          !complete || turn.length === 0 || count + turn.length > maxRecent || cost(turn) > budget
        ) break;
        take(turn);
        count += turn.length;
        oldestRecentId = turn[0]!.id;
      }
      if (chosen.length === 0 && turns.length > 0) {
        // The newest turn alone is too big: keep its newest units that fit.
        const newest = turns[turns.length - 1]!;
        const whole = this.#turn(namespace, conversationId, newest[0]!.turn_id);
        const units = toUnits(whole);
        for (let i = units.length - 1; i >= 0; i--) {
          const unit = units[i]!;
          if (count + unit.length > maxRecent || cost(unit) > budget) break;
          take(unit);
          count += unit.length;
          oldestRecentId = unit[0]!.id;
        }
        // Older parts of that turn may still be recalled below.
        if (chosen.length === 0) oldestRecentId = Number.MAX_SAFE_INTEGER;
      }
    }

    // Recall: older messages ranked by BM25, expanded to their turn or unit.
    const terms = budget > 0 ? toFtsQuery(options.query) : "";
    if (terms) {
      const scope = scopeToken(namespace, conversationId);
      const hits = this.#stmt.recall.all(
        `scope : "${scope}" AND body : (${terms})`,
        oldestRecentId,
        namespace,
        conversationId,
        this.#maxRecallHits,
      ) as unknown as { id: number; turn_id: string }[];
      const turnCache = new Map<string, Row[]>();
      for (const hit of hits) {
        if (budget <= 0) break;
        if (chosenIds.has(hit.id)) continue;
        let turn = turnCache.get(hit.turn_id);
        if (!turn) {
          turn = this.#turn(namespace, conversationId, hit.turn_id)
            .filter((r) => r.id < oldestRecentId);
          turnCache.set(hit.turn_id, turn);
        }
        const fresh = turn.filter((r) => !chosenIds.has(r.id));
        const wholeUnits = toUnits(fresh);
        const whole = wholeUnits.flat();
        if (whole.length > 0 && cost(whole) <= budget) {
          take(whole);
          continue;
        }
        const unit = wholeUnits.find((u) => u.some((r) => r.id === hit.id));
        if (unit && cost(unit) <= budget) take(unit);
      }
    }

    chosen.sort((a, b) => a.id - b.id);
    return chosen.map(toMessage);
  }

  #turn(namespace: string, conversationId: string, turnId: string): Row[] {
    return this.#stmt.turn.all(namespace, conversationId, turnId) as unknown as Row[];
  }

  /** The last `limit` messages (all without a limit), oldest first. */
  list(namespace: string, conversationId: string, limit?: number): Promise<MemoryEntry[]> {
    return this.#run(() => {
      const n = limit === undefined ? -1 : Math.max(0, Math.trunc(limit));
      const rows = this.#stmt.list.all(namespace, conversationId, n) as unknown as Row[];
      return rows.reverse().map(toEntry);
    });
  }

  /** Deletes a conversation and its index entries; returns the count of messages removed. */
  clear(namespace: string, conversationId: string): Promise<number> {
    return this.#run(() =>
      this.#transaction(() => {
        this.#stmt.deleteFts.run(namespace, conversationId);
        return Number(this.#stmt.deleteMessages.run(namespace, conversationId).changes);
      })
    );
  }

  /** Closes the database; further calls throw. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#db.exec("PRAGMA optimize");
    } finally {
      this.#db.close();
    }
  }
}

function cost(rows: Row[]): number {
  let n = 0;
  for (const r of rows) n += estimateMessageTokens(toMessage(r));
  return n;
}

/** Consecutive rows sharing a turn id (rows are in id order). */
function groupTurns(rows: Row[]): Row[][] {
  const turns: Row[][] = [];
  for (const r of rows) {
    const last = turns[turns.length - 1];
    if (last && last[0]!.turn_id === r.turn_id) last.push(r);
    else turns.push([r]);
  }
  return turns;
}

/**
 * Splits rows into units that must stay together: an assistant message that
 * calls tools plus the tool results answering it; any other message alone.
 * Tool results without their call are dropped, so a context never starts
 * with (or contains) an orphan tool message, which providers reject.
 */
function toUnits(rows: Row[]): Row[][] {
  const units: Row[][] = [];
  let open: { unit: Row[]; ids: Set<string> } | undefined;
  for (const r of rows) {
    if (r.role === "tool") {
      if (open && r.tool_call_id !== null && open.ids.has(r.tool_call_id)) open.unit.push(r);
      continue;
    }
    const unit = [r];
    units.push(unit);
    const calls = parseToolCalls(r.tool_calls);
    open = r.role === "assistant" && calls.length > 0
      ? { unit, ids: new Set(calls.map((c) => c.id)) }
      : undefined;
  }
  return units;
}

function parseToolCalls(raw: string | null): ToolCall[] {
  if (!raw) return [];
  try {
    const parsed = JSON.parse(raw);
    return Array.isArray(parsed) ? parsed as ToolCall[] : [];
  } catch {
    return [];
  }
}

function toMessage(r: Row): ChatMessage {
  const m: ChatMessage = { role: r.role as ChatRole, content: r.content };
  const calls = parseToolCalls(r.tool_calls);
  if (calls.length > 0) m.tool_calls = calls;
  if (r.tool_call_id !== null) m.tool_call_id = r.tool_call_id;
  if (r.name !== null) m.name = r.name;
  return m;
}

function toEntry(r: Row): MemoryEntry {
  return { ...toMessage(r), id: Number(r.id), turn_id: r.turn_id, created_at: r.created_at };
}
