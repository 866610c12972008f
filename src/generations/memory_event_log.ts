/**
 * The default event log: every generation's events in this process's
 * memory, bounded per generation (`STREAM_RESUME_MAX_BYTES`: its oldest
 * events go first) and per node (`STREAM_RESUME_TOTAL_BYTES`: the oldest
 * finished logs go first, then running logs are trimmed).
 */
import type { EventLog, GenerationRecord, LogRead } from "./event_log.ts";
import { eventBytes, type GenerationEvent } from "./events.ts";

export interface MemoryEventLogOptions {
  /** Byte budget of one generation's events. */
  maxBytesPerGeneration: number;
  /** Byte budget of all logs of this node. */
  maxTotalBytes: number;
  /** How long a finished generation stays resumable. */
  resumeWindowMs: number;
}

interface Entry {
  record: GenerationRecord;
  events: GenerationEvent[];
  /** Index of the oldest kept event (trimmed ones before it are garbage). */
  head: number;
  /** Bytes of the kept events plus the snapshot text. */
  bytes: number;
  content: string;
  lastChunkSeq: number;
  topSeq: number;
}

export class MemoryEventLog implements EventLog {
  readonly #opts: MemoryEventLogOptions;
  /** In creation order, so eviction finds the oldest first. */
  readonly #logs = new Map<string, Entry>();
  #totalBytes = 0;

  constructor(options: MemoryEventLogOptions) {
    this.#opts = options;
  }

  /** Bytes held by all logs (for tests and metrics). */
  get totalBytes(): number {
    return this.#totalBytes;
  }

  get size(): number {
    return this.#logs.size;
  }

  create(record: GenerationRecord): void {
    this.#drop(record.key);
    this.#logs.set(record.key, {
      record: { ...record },
      events: [],
      head: 0,
      bytes: 0,
      content: "",
      lastChunkSeq: 0,
      topSeq: 0,
    });
  }

  append(key: string, event: GenerationEvent): void {
    const entry = this.#logs.get(key);
    if (entry === undefined) return;
    entry.events.push(event);
    entry.topSeq = event.seq;
    let bytes = eventBytes(event);
    if (event.type === "chunk") {
      entry.content += event.content;
      entry.lastChunkSeq = event.seq;
      bytes += event.content.length * 2;
    }
    entry.bytes += bytes;
    this.#totalBytes += bytes;
    if (entry.bytes > this.#opts.maxBytesPerGeneration) {
      this.#trim(entry, this.#opts.maxBytesPerGeneration);
    }
    if (this.#totalBytes > this.#opts.maxTotalBytes) this.#evict();
  }

  finish(key: string, atMs: number): void {
    const entry = this.#logs.get(key);
    if (entry === undefined) return;
    entry.record.status = "done";
    entry.record.finishedAtMs = atMs;
  }

  get(key: string): Promise<GenerationRecord | undefined> {
    const entry = this.#logs.get(key);
    return Promise.resolve(entry && { ...entry.record });
  }

  read(key: string, afterSeq: number): Promise<LogRead | undefined> {
    const entry = this.#logs.get(key);
    return Promise.resolve(entry && readEntry(entry, afterSeq));
  }

  expire(nowMs: number): void {
    for (const [key, entry] of this.#logs) {
      const finished = entry.record.finishedAtMs;
      if (finished !== undefined && nowMs - finished >= this.#opts.resumeWindowMs) this.#drop(key);
    }
  }

  close(): Promise<void> {
    this.#logs.clear();
    this.#totalBytes = 0;
    return Promise.resolve();
  }

  #drop(key: string): void {
    const entry = this.#logs.get(key);
    if (entry === undefined) return;
    this.#totalBytes -= entry.bytes;
    this.#logs.delete(key);
  }

  /** Drops the entry's oldest events until it holds at most `budget` bytes (or one event). */
  #trim(entry: Entry, budget: number): void {
    const { events } = entry;
    while (entry.bytes > budget && entry.head < events.length - 1) {
      const bytes = eventBytes(events[entry.head]!);
      entry.head++;
      entry.bytes -= bytes;
      this.#totalBytes -= bytes;
    }
    // Compact once the garbage outweighs what is kept: amortised O(1) per event.
    if (entry.head > 64 && entry.head * 2 > events.length) {
      entry.events = events.slice(entry.head);
      entry.head = 0;
    }
  }

  /** Over the node's budget: oldest finished logs first, then running logs' oldest events. */
  #evict(): void {
    for (const [key, entry] of this.#logs) {
      if (this.#totalBytes <= this.#opts.maxTotalBytes) return;
      if (entry.record.status === "done") this.#drop(key);
    }
    for (const entry of this.#logs.values()) {
      if (this.#totalBytes <= this.#opts.maxTotalBytes) return;
      this.#trim(entry, 0);
    }
  }
}

function readEntry(entry: Entry, afterSeq: number): LogRead {
  const { record, events, head, topSeq } = entry;
  const firstSeq = events[head]?.seq ?? topSeq + 1;
  const after = (seq: number) => {
    const out: GenerationEvent[] = [];
    for (let i = head; i < events.length; i++) if (events[i]!.seq > seq) out.push(events[i]!);
    return out;
  };
  if (afterSeq + 1 >= firstSeq) {
    return { recovered: true, status: record.status, topSeq, events: after(afterSeq) };
  }
  // The log no longer holds afterSeq + 1: the text so far stands in for the lost chunks.
  const seq = Math.max(entry.lastChunkSeq, firstSeq - 1);
  return {
    recovered: false,
    status: record.status,
    topSeq,
    snapshot: { seq, content: entry.content },
    events: after(seq),
  };
}
