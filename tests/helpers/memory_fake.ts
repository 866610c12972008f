/**
 * An in-memory {@linkcode MemoryStore} for engine tests: keeps turns per
 * namespace and conversation, returns the most recent messages as context
 * (no recall, no token budget), and records every call.
 */
import type { ChatMessage } from "../../src/core/chat.ts";
import type { ContextOptions, MemoryEntry, MemoryStore } from "../../src/memory/store.ts";

export class MemoryFake implements MemoryStore {
  readonly #entries = new Map<string, MemoryEntry[]>();
  #nextId = 1;
  /** Every `appendTurn` call, in order. */
  readonly appended: { namespace: string; conversationId: string; messages: ChatMessage[] }[] = [];
  /** Every `context` call, in order. */
  readonly contextCalls: { namespace: string; conversationId: string; options: ContextOptions }[] =
    [];
  /** Makes the next calls fail (tests of memory errors). */
  failWith: Error | undefined;

  appendTurn(namespace: string, conversationId: string, messages: ChatMessage[]): Promise<void> {
    if (this.failWith) return Promise.reject(this.failWith);
    this.appended.push({ namespace, conversationId, messages: structuredClone(messages) });
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
    return Promise.resolve();
  }

  context(
    namespace: string,
    conversationId: string,
    options: ContextOptions,
  ): Promise<ChatMessage[]> {
    if (this.failWith) return Promise.reject(this.failWith);
    this.contextCalls.push({ namespace, conversationId, options });
    const list = this.#list(namespace, conversationId);
    let recent = list.slice(-options.maxRecentMessages);
    // Never start with a tool result whose assistant call was cut off.
    while (recent[0]?.role === "tool") recent = recent.slice(1);
    return Promise.resolve(recent.map(({ id: _i, turn_id: _t, created_at: _c, ...m }) => m));
  }

  list(namespace: string, conversationId: string, limit?: number): Promise<MemoryEntry[]> {
    const list = this.#list(namespace, conversationId);
    return Promise.resolve(limit === undefined ? [...list] : list.slice(-limit));
  }

  clear(namespace: string, conversationId: string): Promise<number> {
    const n = this.#list(namespace, conversationId).length;
    this.#entries.delete(`${namespace}\u0000${conversationId}`);
    return Promise.resolve(n);
  }

  close(): void {}

  #list(namespace: string, conversationId: string): MemoryEntry[] {
    const key = `${namespace}\u0000${conversationId}`;
    let list = this.#entries.get(key);
    if (!list) this.#entries.set(key, list = []);
    return list;
  }
}
