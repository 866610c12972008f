/**
 * Replies handed back to the client for its own tool calls, kept until the
 * client continues them. The client sees only the assistant message with
 * its calls; what yychat did on the way (its own tool rounds, and in a mixed
 * round its calls and their results) stays here, so the continuation's
 * prompt — and the turn stored in memory — is the whole exchange.
 *
 * Bounded by count, by size and by age; the oldest go first. A continuation
 * that finds nothing here (expired, another node, a restart) goes on with
 * the messages the client sent: the model then just does not see yychat's
 * part of the exchange.
 */
import type { ChatMessage } from "../core/chat.ts";

export interface PendingRound {
  namespace: string;
  /** The new input of the request that was handed back (its user message). */
  input: ChatMessage[];
  /**
   * Every message the reply produced: yychat's tool rounds, then the
   * assistant message with all its calls and yychat's results among them.
   */
  turn: ChatMessage[];
  /** The client's calls this reply waits for. */
  clientCallIds: string[];
}

export interface PendingRoundsOptions {
  maxEntries?: number;
  /** Rough bound on the characters held (contents and parts). */
  maxChars?: number;
  ttlMs?: number;
  now?: () => number;
}

interface Entry {
  round: PendingRound;
  chars: number;
  expiresAtMs: number;
}

/** Default bounds: 1,000 replies, 16 Mi characters, 10 minutes. */
export class PendingRounds {
  readonly #byKey = new Map<string, Entry>();
  /** Entries in insertion order (each once), for eviction. */
  readonly #entries = new Set<Entry>();
  readonly #maxEntries: number;
  readonly #maxChars: number;
  readonly #ttlMs: number;
  readonly #now: () => number;
  #chars = 0;

  constructor(options: PendingRoundsOptions = {}) {
    this.#maxEntries = options.maxEntries ?? 1000;
    this.#maxChars = options.maxChars ?? 16 * 1024 * 1024;
    this.#ttlMs = options.ttlMs ?? 10 * 60_000;
    this.#now = options.now ?? Date.now;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Keeps `round` under each of its client call ids. */
  put(round: PendingRound): void {
    const chars = sizeOf([...round.input, ...round.turn]);
    if (chars > this.#maxChars) return;
    const entry: Entry = { round, chars, expiresAtMs: this.#now() + this.#ttlMs };
    this.#entries.add(entry);
    this.#chars += chars;
    for (const id of round.clientCallIds) this.#byKey.set(keyOf(round.namespace, id), entry);
    for (const old of this.#entries) {
      if (this.#entries.size <= this.#maxEntries && this.#chars <= this.#maxChars) break;
      this.#drop(old);
    }
  }

  /** The reply waiting for the client's call `callId`, if it is still kept. */
  get(namespace: string, callId: string): PendingRound | undefined {
    const entry = this.#byKey.get(keyOf(namespace, callId));
    if (entry === undefined) return undefined;
    if (entry.expiresAtMs <= this.#now()) {
      this.#drop(entry);
      return undefined;
    }
    return entry.round;
  }

  #drop(entry: Entry): void {
    if (!this.#entries.delete(entry)) return;
    this.#chars -= entry.chars;
    for (const id of entry.round.clientCallIds) {
      const key = keyOf(entry.round.namespace, id);
      if (this.#byKey.get(key) === entry) this.#byKey.delete(key);
    }
  }
}

function keyOf(namespace: string, callId: string): string {
  return `${namespace}\u0000${callId}`;
}

function sizeOf(messages: ChatMessage[]): number {
  let n = 0;
  for (const m of messages) {
    n += 64 + (m.content?.length ?? 0);
    if (m.parts) n += JSON.stringify(m.parts).length;
    for (const c of m.tool_calls ?? []) n += c.arguments.length + c.name.length + c.id.length;
  }
  return n;
}
