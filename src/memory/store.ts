/**
 * Conversation memory port. The SQLite implementation lives in
 * `sqlite_store.ts`; tests may use an in-memory fake. Every method is scoped
 * by `namespace` (derived from the caller's API key) so different keys never
 * see each other's conversations.
 */
import type { ChatMessage } from "../core/chat.ts";

/** A stored message with its bookkeeping. */
export interface MemoryEntry extends ChatMessage {
  id: number;
  /** Messages appended by one `appendTurn` call share a turn id. */
  turn_id: string;
  /** Float seconds since the epoch. */
  created_at: number;
}

export interface ContextOptions {
  /** Text to recall older relevant messages by (full-text search, BM25). */
  query: string;
  /** Upper bound for the estimated tokens of the returned messages. */
  tokenBudget: number;
  /** Most recent messages considered before recall fills the rest. */
  maxRecentMessages: number;
}

export interface MemoryStore {
  /**
   * Appends one completed turn (user message, assistant tool calls, tool
   * results, final assistant message) atomically: all of it or nothing.
   */
  appendTurn(namespace: string, conversationId: string, messages: ChatMessage[]): Promise<void>;
  /**
   * History for the next request, oldest first: recalled older messages plus
   * the most recent ones, within the budget, never splitting an assistant
   * tool-call message from its tool results.
   */
  context(
    namespace: string,
    conversationId: string,
    options: ContextOptions,
  ): Promise<ChatMessage[]>;
  /** The last `limit` messages (default all), oldest first. */
  list(namespace: string, conversationId: string, limit?: number): Promise<MemoryEntry[]>;
  /** Deletes a conversation; returns how many messages were removed. */
  clear(namespace: string, conversationId: string): Promise<number>;
  close(): void;
}
