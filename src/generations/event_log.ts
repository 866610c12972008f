/**
 * The event-log port: where each generation's metadata and numbered events
 * live, so a subscriber can replay what it missed. The registry only talks
 * to this interface; `MemoryEventLog` (this node's memory, the default) and
 * the cluster's Redis log implement it side by side.
 *
 * Contract, for every implementation:
 * - `append` keeps order and is bounded: a generation's oldest events are
 *   trimmed past its byte budget (the newest event is always kept), and the
 *   text so far (every `chunk`'s content) is kept as a snapshot.
 * - `read(key, afterSeq)` answers every event with `seq > afterSeq` when the
 *   log still holds `afterSeq + 1`; otherwise the snapshot (the text through
 *   its `seq`) and every event after it.
 * - `append`, `create` and `finish` never throw and never block the reply:
 *   a log that cannot write (Redis down) reports it through its own health,
 *   and `read`/`get` reject fast.
 */
import type { GenerationEvent } from "./events.ts";

export type GenerationStatus = "running" | "done";

/** What is known of a generation besides its events. */
export interface GenerationRecord {
  /** Principal and request id: one generation per `request_id` per key. */
  key: string;
  requestId: string;
  principal: string;
  /** SHA-256 of the resume token (hex); the token itself is never stored. */
  tokenHash: string;
  /** The node running it (cluster mode; `YYCHAT_NODE_ID`). */
  node: string;
  /** Whether text streams as `chunk` events. */
  stream: boolean;
  status: GenerationStatus;
  createdAtMs: number;
  finishedAtMs?: number;
}

/** What a replay gets. */
export type LogRead =
  | { recovered: true; status: GenerationStatus; topSeq: number; events: GenerationEvent[] }
  | {
    recovered: false;
    status: GenerationStatus;
    topSeq: number;
    /** The text of every chunk with `seq <= snapshot.seq`. */
    snapshot: { seq: number; content: string };
    /** Every event with `seq > snapshot.seq`. */
    events: GenerationEvent[];
  };

export interface EventLog {
  /** Records a new running generation (replacing a finished one with the same key). */
  create(record: GenerationRecord): void;
  append(key: string, event: GenerationEvent): void;
  /** Marks the generation done; its log is kept for the resume window. */
  finish(key: string, atMs: number): void;
  get(key: string): Promise<GenerationRecord | undefined>;
  /** The events after `afterSeq` (see the module doc); undefined when the generation is unknown. */
  read(key: string, afterSeq: number): Promise<LogRead | undefined>;
  /** Drops finished generations older than the resume window. */
  expire(nowMs: number): void;
  /** Releases what the log holds (connections, timers). */
  close(): Promise<void>;
}
