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

/**
 * `lost`: a cluster log that could not record every event (Redis was down)
 * gives the generation up for other nodes rather than replay a gap.
 */
export type GenerationStatus = "running" | "done" | "lost";

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

/**
 * What a cluster's log adds: generations that run on other nodes. Live
 * events come through `subscribe` (pub/sub, only a wake-up: the log stays
 * the truth and replays are merged by `seq`).
 */
export interface RemoteGenerations {
  /**
   * Calls `listener` with every event of generation `key` published from
   * now on, and with `null` when it finishes. Resolves once the
   * subscription is confirmed, so a read after it misses nothing.
   */
  subscribe(key: string, listener: (event: GenerationEvent | null) => void): Promise<() => void>;
  /** Asks the node running `record` to cancel it. */
  cancel(record: GenerationRecord): Promise<void>;
  /** Whether `node` still holds its lease (a dead node's generations are lost). */
  nodeAlive(node: string): Promise<boolean>;
}

export interface EventLog {
  /** Present in cluster mode: generations of other nodes. */
  readonly remote?: RemoteGenerations;
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
