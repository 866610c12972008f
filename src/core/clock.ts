/**
 * Time, injected so that heartbeat and timeout logic can be tested without
 * real sleeps (`tests/helpers/fake_clock.ts`).
 */
export type TimerId = ReturnType<typeof setTimeout>;

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  setInterval(fn: () => void, ms: number): TimerId;
  clearInterval(id: TimerId): void;
  setTimeout(fn: () => void, ms: number): TimerId;
  clearTimeout(id: TimerId): void;
}

/** The real clock. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setInterval: (fn, ms) => setInterval(fn, ms),
  clearInterval: (id) => clearInterval(id),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (id) => clearTimeout(id),
};

/** Waits for `promise`, but at most `ms` on `clock`; never rejects on timeout. */
export async function within(promise: Promise<unknown>, ms: number, clock: Clock): Promise<void> {
  let timer: TimerId | undefined;
  const timeout = new Promise<void>((resolve) => timer = clock.setTimeout(resolve, ms));
  try {
    await Promise.race([promise, timeout]);
  } finally {
    clock.clearTimeout(timer!);
  }
}
