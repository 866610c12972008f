/**
 * An in-memory {@linkcode MemoryStore} for engine tests: keeps turns per
 * namespace and conversation, returns the most recent messages as context
 * (no recall, no token budget), keeps the epoch rule (a turn started before
 * `clear()` is not stored), and records every call.
 */
import type { ChatMessage } from "../../src/core/chat.ts";
import type {
  AppendOptions,
  AppendResult,
  ContextOptions,
  MemoryContext,
  MemoryEntry,
  MemoryStore,
} from "../../src/memory/store.ts";

export class MemoryFake implements MemoryStore {
  readonly #entries = new Map<string, MemoryEntry[]>();
  readonly #epochs = new Map<string, number>();
  #nextId = 1;
  /** Every `appendTurn` call that stored its turn, in order. */
  readonly appended: { namespace: string; conversationId: string; messages: ChatMessage[] }[] = [];
  /** Every `appendTurn` call refused because the conversation was cleared since its epoch. */
  readonly dropped: { namespace: string; conversationId: string; messages: ChatMessage[] }[] = [];
  /** Every `context` call, in order. */
  readonly contextCalls: { namespace: string; conversationId: string; options: ContextOptions }[] =
    [];
  /** Makes the next calls fail (tests of memory errors). */
  failWith: Error | undefined;

  appendTurn(
    namespace: string,
    conversationId: string,
    messages: ChatMessage[],
    options: AppendOptions = {},
  ): Promise<AppendResult> {
    if (this.failWith) return Promise.reject(this.failWith);
    const call = { namespace, conversationId, messages: structuredClone(messages) };
    if (options.epoch !== undefined && options.epoch !== this.#epoch(namespace, conversationId)) {
      this.dropped.push(call);
      return Promise.resolve({ stored: false });
    }
    this.appended.push(call);
    const list = this.#list(namespace, conversationId);
    const turnId = crypto.randomUUID();
    for (const m of messages) {
      list.push({
        ...structuredClone(m),
        id: this.#nextId++,
        turn_id: turnId,
        created_at: Date.now() / 1000,
      });
    }
    return Promise.resolve({ stored: messages.length > 0 });
  }

  context(
    namespace: string,
    conversationId: string,
    options: ContextOptions,
  ): Promise<MemoryContext> {
    if (this.failWith) return Promise.reject(this.failWith);
    this.contextCalls.push({ namespace, conversationId, options });
    const list = this.#list(namespace, conversationId);
    let recent = list.slice(-options.maxRecentMessages);
    // Never start with a tool result whose assistant call was cut off.
    while (recent[0]?.role === "tool") recent = recent.slice(1);
    return Promise.resolve({
      messages: recent.map(({ id: _i, turn_id: _t, created_at: _c, ...m }) => m),
      epoch: this.#epoch(namespace, conversationId),
    });
  }

  list(namespace: string, conversationId: string, limit?: number): Promise<MemoryEntry[]> {
    if (this.failWith) return Promise.reject(this.failWith);
    const list = this.#list(namespace, conversationId);
    return Promise.resolve(limit === undefined ? [...list] : list.slice(-limit));
  }

  clear(namespace: string, conversationId: string): Promise<number> {
    if (this.failWith) return Promise.reject(this.failWith);
    const key = `${namespace}\u0000${conversationId}`;
    const n = this.#list(namespace, conversationId).length;
    this.#entries.delete(key);
    this.#epochs.set(key, this.#epoch(namespace, conversationId) + 1);
    return Promise.resolve(n);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  #epoch(namespace: string, conversationId: string): number {
    return this.#epochs.get(`${namespace}\u0000${conversationId}`) ?? 0;
  }

  #list(namespace: string, conversationId: string): MemoryEntry[] {
    const key = `${namespace}\u0000${conversationId}`;
    let list = this.#entries.get(key);
    if (!list) this.#entries.set(key, list = []);
    return list;
  }
}
