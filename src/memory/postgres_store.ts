/**
 * Conversation memory in PostgreSQL (cluster mode, `YYCHAT_DATABASE_URL`),
 * with the same contract as the SQLite store: namespaces, whole turns in one
 * transaction, tool calls never split from their results, recent window plus
 * full-text recall within the token budget, the epoch rule, bounded work per
 * message. Client: the `postgres` npm package (a small connection pool).
 *
 * Full-text recall without extensions, for Chinese and Japanese as well as
 * English: each message stores a bounded, lower-cased excerpt of its text
 * (`search_text`, see `recall_terms.ts`) and a generated `tsvector` column
 * made from it with every CJK character spaced out into its own token
 * (`simple` configuration, GIN index). A query is an OR of words, single
 * characters and character bigrams as phrases (`'烤' <-> '鸭'`), ANDed with
 * the conversation's scope token, ranked by `ts_rank_cd` (cover density with
 * length normalisation — not BM25, so the order of recalled turns can differ
 * from SQLite's).
 *
 * Failure: when the server is down every call rejects fast (a refused
 * connection at once, an unanswered one after `connectTimeoutMs`); the pool
 * reconnects by itself on the next call once the server is back. A turn is
 * one transaction, so a failure never leaves half of it.
 */
import postgres from "postgres";
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
import { indexedText, scopeToken } from "./recall_terms.ts";

/** Bump when the schema changes and add a step to `#migrate`. */
export const POSTGRES_SCHEMA_VERSION = 1;
/** `pg_advisory_xact_lock` key serialising migrations of nodes starting together. */
const MIGRATION_LOCK = 0x79796368; // "yych"

const SSL_MODES = ["disable", "allow", "prefer", "require", "verify-full"] as const;

/**
 * The CJK characters spaced out in the index (PostgreSQL regular
 * expression): kana, extension A, unified and compatibility ideographs, the
 * supplementary ideograph planes. The same set as `CJK` in `recall_terms.ts`.
 */
const CJK_CLASS = String
  .raw`[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]`;

export interface PostgresMemoryStoreOptions {
  /**
   * `postgres://user:password@host:port/database?sslmode=…`; a unix socket
   * directory as the host, percent-encoded (`postgres://u@%2Fvar%2Frun%2Fpostgresql/db`)
   * or as `?host=/var/run/postgresql`.
   */
  url: string;
  /** How long connecting may take before a call rejects. Default 5 s. */
  connectTimeoutMs?: number;
  /** Connections in the pool. Default 10. */
  poolSize?: number;
  /** Server-side bound on every statement. Default 30 s. */
  statementTimeoutMs?: number;
  /** Most full-text hits considered for recall per `context()` call. */
  maxRecallHits?: number;
  /** Clock in epoch milliseconds (tests). */
  now?: () => number;
}

/** Connection options for the `postgres` package, parsed from a URL. */
export interface DatabaseTarget {
  host: string;
  port: number;
  /** Unix socket file, when the host is a directory. */
  path?: string;
  database: string;
  username: string;
  password?: string;
  ssl: false | Exclude<typeof SSL_MODES[number], "disable">;
  /** Other query parameters, passed as run-time parameters (e.g. `search_path`). */
  connection: Record<string, string>;
}

/**
 * Parses a `postgres://` or `postgresql://` URL like libpq does (host may be
 * a socket directory, percent-encoded or in `?host=`; no host means
 * Debian's `/var/run/postgresql`). Error messages never repeat the password.
 */
export function parseDatabaseUrl(raw: string): DatabaseTarget {
  // libpq allows "user@" with no host (`postgres://u@/db?host=/run/pg`); URL does not.
  const authority = /^([a-z][a-z0-9+.-]*:\/\/)([^/?#]*@)?([^/?#]*)/i.exec(raw);
  const noHost = authority !== null && authority[3] === "";
  let url: URL;
  try {
    url = new URL(
      noHost
        ? `${authority[1]}${authority[2] ?? ""}unix.invalid${raw.slice(authority[0].length)}`
        : raw,
    );
  } catch {
    throw new TypeError("Invalid database URL: not a URL (postgres://user@host:5432/db)");
  }
  if (url.protocol !== "postgres:" && url.protocol !== "postgresql:") {
    throw new TypeError(
      `Invalid database URL: scheme "${url.protocol}" is not postgres: or postgresql:`,
    );
  }
  const params = new URLSearchParams(url.search);
  const host = params.get("host") ?? (noHost ? "" : decodeURIComponent(url.hostname));
  params.delete("host");
  const portText = params.get("port") ?? url.port;
  params.delete("port");
  const port = portText ? Number(portText) : 5432;
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new TypeError(`Invalid database URL: port "${portText}" is not 1–65535`);
  }
  const sslmode = params.get("sslmode") ?? "disable";
  params.delete("sslmode");
  if (!(SSL_MODES as readonly string[]).includes(sslmode)) {
    throw new TypeError(
      `Invalid database URL: sslmode "${sslmode}" is not one of ${SSL_MODES.join(", ")}`,
    );
  }
  const username = decodeURIComponent(url.username) || "postgres";
  const password = url.password ? decodeURIComponent(url.password) : undefined;
  const database = decodeURIComponent(url.pathname.replace(/^\//, "")) || username;
  const socketDir = host === "" ? "/var/run/postgresql" : host.startsWith("/") ? host : undefined;
  const connection: Record<string, string> = { application_name: "yychat" };
  for (const [k, v] of params) connection[k] = v;
  return {
    host: socketDir ?? host,
    port,
    ...(socketDir ? { path: `${socketDir.replace(/\/+$/, "")}/.s.PGSQL.${port}` } : {}),
    database,
    username,
    ...(password !== undefined ? { password } : {}),
    ssl: sslmode === "disable" ? false : sslmode as DatabaseTarget["ssl"],
    connection,
  };
}

/**
 * A tsquery (text for `to_tsquery('simple', …)`) OR-ing the terms; a bigram
 * is a phrase. Tokens are letters and digits only (`recallTerms`), quoted
 * so that no operator can appear.
 */
export function toTsQuery(terms: string[][]): string {
  return terms
    .map((t) => t.length === 1 ? `'${t[0]}'` : `(${t.map((x) => `'${x}'`).join(" <-> ")})`)
    .join(" | ");
}

/** Connection-level failures: the server is down, restarting or unreachable. */
export function isUnreachable(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  if (typeof code !== "string") return false;
  return [
    "ECONNREFUSED",
    "ENOENT",
    "ECONNRESET",
    "ETIMEDOUT",
    "EHOSTUNREACH",
    "ENETUNREACH",
    "EAI_AGAIN",
    "ENOTFOUND",
    "EPIPE",
    "CONNECT_TIMEOUT",
    "CONNECTION_CLOSED",
    "CONNECTION_ENDED",
    "CONNECTION_DESTROYED",
  ].includes(code) || code.startsWith("08") || code.startsWith("57P");
}

interface RawRow extends Omit<StoredRow, "id"> {
  id: string | number;
}

const ROW_COLUMNS = "id, turn_id::text AS turn_id, seq, role, content, tool_calls, " +
  "tool_call_id, name, created_at, tokens";

/** `MemoryStore` over PostgreSQL; see the module doc. */
export class PostgresMemoryStore implements MemoryStore {
  readonly #sql: postgres.Sql;
  readonly #now: () => number;
  readonly #maxRecallHits: number;
  /** The schema check of this process; reset after a failure so the next call retries. */
  #schema: Promise<void> | undefined;
  #closed = false;

  /** Creates the pool (connections open lazily); the schema is checked on first use. */
  constructor(options: PostgresMemoryStoreOptions) {
    const target = parseDatabaseUrl(options.url);
    this.#now = options.now ?? Date.now;
    this.#maxRecallHits = options.maxRecallHits ?? DEFAULT_MAX_RECALL_HITS;
    const statementTimeoutMs = Math.max(1, Math.trunc(options.statementTimeoutMs ?? 30_000));
    this.#sql = postgres({
      host: target.host,
      port: target.port,
      ...(target.path ? { path: target.path } : {}),
      database: target.database,
      username: target.username,
      ...(target.password !== undefined ? { password: target.password } : {}),
      ssl: target.ssl,
      max: Math.max(1, Math.trunc(options.poolSize ?? 10)),
      connect_timeout: Math.max(0.1, (options.connectTimeoutMs ?? 5000) / 1000),
      idle_timeout: 60,
      // Notices ("text-search query doesn't contain lexemes") are expected.
      onnotice: () => {},
      connection: {
        ...target.connection,
        statement_timeout: statementTimeoutMs,
      },
    });
  }

  /** A store whose schema is created or migrated; rejects (and closes) when it cannot be. */
  static async open(options: PostgresMemoryStoreOptions): Promise<PostgresMemoryStore> {
    const store = new PostgresMemoryStore(options);
    try {
      await store.migrate();
      return store;
    } catch (err) {
      await store.close();
      throw err;
    }
  }

  /**
   * Creates the schema or migrates it to {@linkcode POSTGRES_SCHEMA_VERSION},
   * once per process (every call waits for it; a failure is retried by the
   * next call). Rejects when the database holds a newer schema.
   */
  migrate(): Promise<void> {
    if (this.#closed) return Promise.reject(new Error("Memory store (PostgreSQL) is closed"));
    this.#schema ??= this.#migrate().catch((err) => {
      this.#schema = undefined;
      throw err;
    });
    return this.#schema;
  }

  async #migrate(): Promise<void> {
    await this.#sql.begin(async (tx) => {
      await tx`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK})`;
      await tx`CREATE TABLE IF NOT EXISTS schema_version (version integer NOT NULL)`;
      const [row] = await tx<{ version: number | null }[]>`
        SELECT max(version) AS version FROM schema_version`;
      const version = row?.version ?? 0;
      if (version > POSTGRES_SCHEMA_VERSION) {
        throw new Error(
          `Cannot use the database: schema version ${version} is newer than supported (${POSTGRES_SCHEMA_VERSION})`,
        );
      }
      if (version === POSTGRES_SCHEMA_VERSION) return;
      if (version < 1) {
        // conversations.epoch: advanced by clear(); appendTurn with an epoch
        // locks the row (FOR SHARE), so a clear and an append of the same
        // conversation are ordered and a turn started before the clear is
        // refused.
        // messages.search: scope token + spaced-out excerpt; the GIN index
        // answers "scope & (terms)", reading only this conversation's
        // postings for the scope.
        await tx.unsafe(`
          CREATE TABLE conversations (
            namespace text NOT NULL,
            conversation_id text NOT NULL,
            epoch bigint NOT NULL DEFAULT 0,
            PRIMARY KEY (namespace, conversation_id)
          );
          CREATE TABLE messages (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            namespace text NOT NULL,
            conversation_id text NOT NULL,
            turn_id uuid NOT NULL,
            seq integer NOT NULL,
            role text NOT NULL CHECK (role IN ('system', 'user', 'assistant', 'tool')),
            content text,
            tool_calls text,
            tool_call_id text,
            name text,
            created_at double precision NOT NULL,
            tokens integer NOT NULL,
            scope text NOT NULL,
            search_text text NOT NULL DEFAULT '',
            search tsvector GENERATED ALWAYS AS (
              to_tsvector('simple', scope || ' ' ||
                regexp_replace(search_text, '(${CJK_CLASS})', ' \\1 ', 'g'))
            ) STORED
          );
          CREATE INDEX messages_conversation ON messages (namespace, conversation_id, id);
          CREATE INDEX messages_turn ON messages (namespace, conversation_id, turn_id, seq);
          CREATE INDEX messages_search ON messages USING gin (search);
        `);
      }
      await tx`DELETE FROM schema_version`;
      await tx`INSERT INTO schema_version (version) VALUES (${POSTGRES_SCHEMA_VERSION})`;
    });
  }

  /** The pool, once the schema is ready; rejects when closed. */
  async #ready(): Promise<postgres.Sql> {
    if (this.#closed) throw new Error("Memory store (PostgreSQL) is closed");
    await this.migrate();
    return this.#sql;
  }

  /**
   * Appends the messages of one completed turn in a single transaction;
   * nothing when `options.epoch` is given and the conversation was cleared
   * since.
   */
  async appendTurn(
    namespace: string,
    conversationId: string,
    messages: ChatMessage[],
    options: AppendOptions = {},
  ): Promise<AppendResult> {
    const sql = await this.#ready();
    if (messages.length === 0) return { stored: false };
    const fields = toStoredFields(messages);
    const turnId = crypto.randomUUID();
    const scope = scopeToken(namespace, conversationId);
    const createdAt = this.#now() / 1000;
    const rows = messages.map((m, seq) => ({
      ...fields[seq]!,
      namespace,
      conversation_id: conversationId,
      turn_id: turnId,
      seq,
      created_at: createdAt,
      scope,
      // Lower-cased here, not by the database: its locale may not know how.
      search_text: indexedText(m).toLowerCase(),
    }));
    return await sql.begin(async (tx) => {
      if (options.epoch !== undefined) {
        await tx`
          INSERT INTO conversations (namespace, conversation_id)
          VALUES (${namespace}, ${conversationId}) ON CONFLICT DO NOTHING`;
        const [row] = await tx<{ epoch: string }[]>`
          SELECT epoch FROM conversations
          WHERE namespace = ${namespace} AND conversation_id = ${conversationId}
          FOR SHARE`;
        if (Number(row?.epoch ?? 0) !== options.epoch) return { stored: false };
      }
      await tx`INSERT INTO messages ${
        tx(
          rows,
          "namespace",
          "conversation_id",
          "turn_id",
          "seq",
          "role",
          "content",
          "tool_calls",
          "tool_call_id",
          "name",
          "created_at",
          "tokens",
          "scope",
          "search_text",
        )
      }`;
      return { stored: true };
    });
  }

  /**
   * The conversation's epoch, then its context: recent whole turns and older
   * turns recalled by `ts_rank_cd` (`context_assembly.ts`).
   */
  async context(
    namespace: string,
    conversationId: string,
    options: ContextOptions,
  ): Promise<MemoryContext> {
    const sql = await this.#ready();
    // Read first: a clear() after this point makes the turn's append a no-op.
    const [row] = await sql<{ epoch: string }[]>`
      SELECT epoch FROM conversations
      WHERE namespace = ${namespace} AND conversation_id = ${conversationId}`;
    const epoch = Number(row?.epoch ?? 0);
    const conv = sql`namespace = ${namespace} AND conversation_id = ${conversationId}`;
    // The text of a message over the budget cannot fit: it is never read.
    const columns = (budget: number) =>
      sql`id, turn_id::text AS turn_id, seq, role,
        CASE WHEN tokens <= ${budget} THEN content END AS content,
        CASE WHEN tokens <= ${budget} THEN tool_calls END AS tool_calls,
        tool_call_id, name, created_at, tokens`;
    const messages = await assembleContext({
      recent: async (limit, budget) =>
        (await sql<RawRow[]>`
          SELECT ${columns(budget)} FROM messages WHERE ${conv}
          ORDER BY id DESC LIMIT ${limit}`).map(toRow).reverse(),
      turns: async (turnIds, budget) =>
        (await sql<RawRow[]>`
          SELECT ${columns(budget)} FROM messages
          WHERE ${conv} AND turn_id = ANY(${turnIds}::uuid[])
          ORDER BY id`).map(toRow),
      recall: async (terms, beforeId, limit) => {
        const query = toTsQuery(terms);
        const scope = scopeToken(namespace, conversationId);
        // The newest RECALL_CANDIDATES matches older than the recent window
        // are ranked, as in SQLite, so a common word costs no more than a
        // rare one in a long conversation.
        // Two conditions, not "scope & (terms)": a term the parser drops
        // (e.g. "²²") would leave the scope alone, matching everything.
        const hits = await sql<{ id: string; turn_id: string }[]>`
          WITH hits AS MATERIALIZED (
            SELECT id, turn_id, search FROM messages
            WHERE search @@ to_tsquery('simple', ${`'${scope}'`})
              AND search @@ to_tsquery('simple', ${query})
              AND ${conv} AND id < ${beforeId}
            ORDER BY id DESC LIMIT ${RECALL_CANDIDATES}
          )
          SELECT id, turn_id::text AS turn_id FROM hits
          ORDER BY ts_rank_cd(search, to_tsquery('simple', ${query}), 1) DESC, id DESC
          LIMIT ${limit}`;
        return hits.map((h): RecallHit => ({ id: Number(h.id), turn_id: h.turn_id }));
      },
    }, { ...options, maxRecallHits: this.#maxRecallHits });
    return { messages, epoch };
  }

  /** The last `limit` messages (all without a limit), oldest first. */
  async list(namespace: string, conversationId: string, limit?: number): Promise<MemoryEntry[]> {
    const sql = await this.#ready();
    const n = limit === undefined ? null : Math.max(0, Math.trunc(limit));
    const rows = await sql<RawRow[]>`
      SELECT ${sql.unsafe(ROW_COLUMNS)} FROM messages
      WHERE namespace = ${namespace} AND conversation_id = ${conversationId}
      ORDER BY id DESC LIMIT ${n}`;
    return rows.map(toRow).reverse().map(toEntry);
  }

  /** Deletes a conversation and advances its epoch; returns the count of messages removed. */
  async clear(namespace: string, conversationId: string): Promise<number> {
    const sql = await this.#ready();
    return await sql.begin(async (tx) => {
      // The upsert locks the conversation row first: an append holding it
      // (FOR SHARE) commits before, and its messages are deleted below.
      await tx`
        INSERT INTO conversations (namespace, conversation_id, epoch)
        VALUES (${namespace}, ${conversationId}, 1)
        ON CONFLICT (namespace, conversation_id)
        DO UPDATE SET epoch = conversations.epoch + 1`;
      const deleted = await tx`
        DELETE FROM messages
        WHERE namespace = ${namespace} AND conversation_id = ${conversationId}`;
      return deleted.count;
    });
  }

  /** Closes the pool (waiting up to 5 s for running queries); later calls reject. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#sql.end({ timeout: 5 });
  }
}

function toRow(r: RawRow): StoredRow {
  return { ...r, id: Number(r.id) };
}
