/**
 * Conversation memory port. Implementations live side by side:
 * `sqlite_store.ts` (the embedded default) and `postgres_store.ts` (cluster
 * mode); tests may use an in-memory fake. `tests/memory/store_contract.ts`
 * holds the behaviour every implementation must show. Every method is scoped
 * by `namespace` (derived from the caller's API key) so different keys never
 * see each other's conversations.
 *
 * Failure: every method rejects, and never hangs without bound, when the
 * store cannot do its work (database down, closed store). Callers map any
 * rejection to the stable code `memory_unavailable`; a rejected
 * `appendTurn` wrote nothing.
 */
import type { ChatMessage } from "../core/chat.ts";
import { ChatError } from "../core/errors.ts";
import type { Logger } from "../core/logger.ts";

/** A stored message with its bookkeeping. */
export interface MemoryEntry extends ChatMessage {
  id: number;
  /** Messages appended by one `appendTurn` call share a turn id. */
  turn_id: string;
  /** Float seconds since the epoch. */
  created_at: number;
}

export interface ContextOptions {
  /** Text to recall older relevant messages by (full-text search). */
  query: string;
  /** Upper bound for the estimated tokens of the returned messages. */
  tokenBudget: number;
  /** Most recent messages considered before recall fills the rest. */
  maxRecentMessages: number;
}

/** What `context()` returns: the history, and the conversation's epoch it was read at. */
export interface MemoryContext {
  /** History for the next request, oldest first. */
  messages: ChatMessage[];
  /**
   * The conversation's epoch when the context was read: a counter that
   * `clear()` advances. Pass it to `appendTurn` so a turn that started
   * before a delete is not stored after it.
   */
  epoch: number;
}

export interface AppendOptions {
  /**
   * Store the turn only if the conversation is still at this epoch (it was
   * not cleared since the turn started). Without it the turn is always stored.
   */
  epoch?: number;
}

/** What `appendTurn` did. */
export interface AppendResult {
  /**
   * False when nothing was stored because the conversation was cleared
   * since `options.epoch` (or the turn had no messages).
   */
  stored: boolean;
}

export interface MemoryStore {
  /**
   * Appends one completed turn (user message, assistant tool calls, tool
   * results, final assistant message) atomically: all of it or nothing.
   * With `options.epoch`, and the conversation cleared since that epoch,
   * stores nothing and resolves `{stored: false}`.
   */
  appendTurn(
    namespace: string,
    conversationId: string,
    messages: ChatMessage[],
    options?: AppendOptions,
  ): Promise<AppendResult>;
  /**
   * History for the next request, oldest first: recalled older messages plus
   * the most recent ones, within the budget, never splitting an assistant
   * tool-call message from its tool results; and the conversation's epoch.
   */
  context(
    namespace: string,
    conversationId: string,
    options: ContextOptions,
  ): Promise<MemoryContext>;
  /** The last `limit` messages (default all), oldest first. */
  list(namespace: string, conversationId: string, limit?: number): Promise<MemoryEntry[]>;
  /**
   * Deletes a conversation and advances its epoch (so turns already running
   * are not stored); returns how many messages were removed.
   */
  clear(namespace: string, conversationId: string): Promise<number>;
  /** Releases the store; later calls reject. Idempotent. */
  close(): Promise<void>;
}

/**
 * The error for a store call that failed (database down), logged once as
 * `memory_failed`: clients get `memory_unavailable` (503), never the cause.
 */
export function memoryUnavailable(logger: Logger, operation: string, err: unknown): ChatError {
  logger.warn("memory_failed", { operation, error: String(err) });
  return new ChatError("memory_unavailable", "Conversation memory is unavailable", { cause: err });
}
