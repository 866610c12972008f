import type { Clock, TimerId } from "../../src/core/clock.ts";

interface Timer {
  id: number;
  at: number;
  every: number | undefined;
  fn: () => void;
}

/** A clock that only moves when the test calls `advance`. */
export class FakeClock implements Clock {
  #now: number;
  #nextId = 1;
  #timers = new Map<number, Timer>();

  constructor(startMs = 1_700_000_000_000) {
    this.#now = startMs;
  }

  now(): number {
    return this.#now;
  }

  /** Timers still scheduled. */
  get pending(): number {
    return this.#timers.size;
  }

  setTimeout(fn: () => void, ms: number): TimerId {
    return this.#add(fn, ms, undefined);
  }

  setInterval(fn: () => void, ms: number): TimerId {
    return this.#add(fn, ms, ms);
  }

  clearTimeout(id: TimerId): void {
    this.#timers.delete(id as unknown as number);
  }

  clearInterval(id: TimerId): void {
    this.#timers.delete(id as unknown as number);
  }

  /** Moves time forward, firing due timers in order. */
  advance(ms: number): void {
    const end = this.#now + ms;
    for (;;) {
      let next: Timer | undefined;
      for (const t of this.#timers.values()) if (t.at <= end && (!next || t.at < next.at)) next = t;
      if (next === undefined) break;
      this.#now = next.at;
      if (next.every === undefined) this.#timers.delete(next.id);
      else next.at += next.every;
      next.fn();
    }
    this.#now = end;
  }

  #add(fn: () => void, ms: number, every: number | undefined): TimerId {
    const id = this.#nextId++;
    this.#timers.set(id, {
      id,
      at: this.#now + Math.max(1, ms),
      every: every && Math.max(1, every),
      fn,
    });
    return id as unknown as TimerId;
  }
}
