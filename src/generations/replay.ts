/**
 * Stands between a generation (local or on another node) and a resuming
 * subscriber: buffers live events until the log replay is delivered, then
 * passes on only events with a `seq` above the last delivered one, so the
 * subscriber sees every event once, in order.
 */
import type { LogRead } from "./event_log.ts";
import type { GenerationEvent } from "./events.ts";
import type { Subscriber } from "./generation.ts";
import type { ResumeInfo, ResumeSubscriber } from "./registry.ts";

/** Events replayed before yielding to the event loop. */
const REPLAY_SLICE = 64;

export class Replay implements Subscriber {
  readonly #inner: ResumeSubscriber;
  #lastSeq: number;
  #buffer: GenerationEvent[] | undefined = [];
  #finishedEarly = false;
  #finished = false;
  #recovered = true;

  constructor(inner: ResumeSubscriber, afterSeq: number) {
    this.#inner = inner;
    this.#lastSeq = afterSeq;
  }

  /** The highest `seq` delivered (or skipped by a snapshot). */
  get lastSeq(): number {
    return this.#lastSeq;
  }

  /** False when the replay began with a snapshot (the log had been trimmed). */
  get recovered(): boolean {
    return this.#recovered;
  }

  push(event: GenerationEvent): boolean {
    if (this.#finished) return false;
    if (this.#buffer !== undefined) {
      this.#buffer.push(event);
      return true;
    }
    return this.#deliver(event);
  }

  finished(): void {
    if (this.#buffer !== undefined) {
      this.#finishedEarly = true;
      return;
    }
    if (this.#finished) return;
    this.#finished = true;
    this.#inner.finished?.();
  }

  /**
   * Delivers the replay, then what arrived meanwhile; false when the
   * subscriber gave up. A long replay goes out in slices with a macrotask
   * between them, so its first events reach the socket at once instead of
   * after the whole log was serialised; live events keep buffering until the
   * replay is through, so the order holds.
   */
  async release(read: LogRead, stream: boolean): Promise<boolean> {
    const info: ResumeInfo = {
      recovered: read.recovered,
      status: read.status === "done" ? "done" : "running",
      topSeq: read.topSeq,
      stream,
    };
    this.#recovered = read.recovered;
    if (!read.recovered) {
      info.snapshot = read.snapshot;
      this.#lastSeq = Math.max(this.#lastSeq, read.snapshot.seq);
    }
    this.#inner.resumed(info);
    let pending = read.events;
    let next = 0;
    for (let sent = 0;; sent++) {
      if (next === pending.length) {
        // Then what arrived while replaying; switching to live happens with no await in between.
        if (this.#buffer!.length === 0) break;
        pending = this.#buffer!;
        this.#buffer = [];
        next = 0;
      }
      if (!this.#deliver(pending[next++]!)) return false;
      if (sent % REPLAY_SLICE === REPLAY_SLICE - 1) await new Promise((r) => setTimeout(r, 0));
    }
    this.#buffer = undefined;
    if (this.#finishedEarly) this.finished();
    return true;
  }

  #deliver(event: GenerationEvent): boolean {
    if (event.seq <= this.#lastSeq) return true;
    this.#lastSeq = event.seq;
    return this.#inner.push(event);
  }
}
