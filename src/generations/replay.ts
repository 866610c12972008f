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

  get isFinished(): boolean {
    return this.#finished;
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

  /** Delivers the replay, then what arrived meanwhile; false when the subscriber gave up. */
  release(read: LogRead, stream: boolean): boolean {
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
    const buffered = this.#buffer ?? [];
    this.#buffer = undefined;
    for (const event of [...read.events, ...buffered]) {
      if (!this.#deliver(event)) return false;
    }
    if (this.#finishedEarly) this.finished();
    return true;
  }

  #deliver(event: GenerationEvent): boolean {
    if (event.seq <= this.#lastSeq) return true;
    this.#lastSeq = event.seq;
    return this.#inner.push(event);
  }
}
