/**
 * Per-connection message rate limit (token bucket). A message over the rate
 * is answered with `too_many_messages`; the connection stays open.
 */
import type { Clock } from "../core/clock.ts";
import { ChatError } from "../core/errors.ts";
import type { ConnectionContext, Middleware } from "./router.ts";

interface Bucket {
  tokens: number;
  updatedMs: number;
}

export class RateLimit implements Middleware {
  readonly name = "RateLimit";
  readonly #perSecond: number;
  readonly #burst: number;
  readonly #clock: Clock;
  readonly #buckets = new WeakMap<ConnectionContext, Bucket>();

  /** `messagesPerSecond` sustained, with a burst of two seconds' worth. */
  constructor(messagesPerSecond: number, clock: Clock) {
    this.#perSecond = messagesPerSecond;
    this.#burst = Math.max(1, messagesPerSecond * 2);
    this.#clock = clock;
  }

  check(_msg: unknown, ctx: ConnectionContext): ChatError | undefined {
    const now = this.#clock.now();
    let bucket = this.#buckets.get(ctx);
    if (bucket === undefined) {
      bucket = { tokens: this.#burst, updatedMs: now };
      this.#buckets.set(ctx, bucket);
    } else {
      bucket.tokens = Math.min(
        this.#burst,
        bucket.tokens + (now - bucket.updatedMs) * this.#perSecond / 1000,
      );
      bucket.updatedMs = now;
    }
    if (bucket.tokens < 1) {
      return new ChatError(
        "too_many_messages",
        `Too many messages: the limit is ${this.#perSecond} per second per connection`,
      );
    }
    bucket.tokens -= 1;
    return undefined;
  }
}
