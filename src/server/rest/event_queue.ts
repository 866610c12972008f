/**
 * The REST side of a generation: a bounded queue of its events that an HTTP
 * response reads at its own pace (pull). A client that falls too far behind
 * is detached (the queue ends), like a slow WebSocket consumer.
 */
import type {
  GenerationEvent,
  ResumeInfo,
  ResumeSubscriber,
  Subscriber,
} from "../../generations/mod.ts";
import { eventBytes } from "../../generations/events.ts";

export class EventQueue implements ResumeSubscriber {
  readonly #maxBytes: number;
  readonly #events: GenerationEvent[] = [];
  #bytes = 0;
  #ended = false;
  #wake: (() => void) | undefined;
  /** Set by a resume, before the replay. */
  info: ResumeInfo | undefined;

  /** `maxBytes`: what may wait unread before the subscriber is dropped. */
  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes;
  }

  push(event: GenerationEvent): boolean {
    if (this.#ended) return false;
    this.#events.push(event);
    this.#bytes += eventBytes(event);
    if (this.#bytes > this.#maxBytes) {
      this.#end(); // slow consumer: what is queued is still delivered, then the stream ends
      return false;
    }
    this.#wake?.();
    return true;
  }

  resumed(info: ResumeInfo): void {
    this.info = info;
  }

  finished(): void {
    this.#end();
  }

  /** The next event, or undefined once the generation (or this subscription) is over. */
  async next(): Promise<GenerationEvent | undefined> {
    while (this.#events.length === 0) {
      if (this.#ended) return undefined;
      await new Promise<void>((resolve) => this.#wake = resolve);
      this.#wake = undefined;
    }
    const event = this.#events.shift()!;
    this.#bytes -= eventBytes(event);
    return event;
  }

  /** The first event that decides the HTTP status: anything past the opening ones. */
  async first(): Promise<GenerationEvent | undefined> {
    for (let i = 0;; i++) {
      while (i >= this.#events.length) {
        if (this.#ended) return undefined;
        await new Promise<void>((resolve) => this.#wake = resolve);
        this.#wake = undefined;
      }
      const event = this.#events[i]!;
      if (event.type !== "processing_start" && event.type !== "stream_start") return event;
    }
  }

  #end(): void {
    this.#ended = true;
    this.#wake?.();
  }
}

/**
 * The subscriber of a non-streaming completion: it needs only the terminal
 * event (`end` or `error`), so it keeps that one and nothing else.
 */
export class FinalEvent implements Subscriber {
  #event: GenerationEvent | undefined;
  #resolve!: (event: GenerationEvent | undefined) => void;
  /** The terminal event once the generation (or this subscription) is over; undefined if none. */
  readonly result = new Promise<GenerationEvent | undefined>((resolve) => this.#resolve = resolve);

  push(event: GenerationEvent): boolean {
    if (event.type === "end" || event.type === "error") this.#event = event;
    return true;
  }

  finished(): void {
    this.#resolve(this.#event);
  }
}
