/**
 * A bounded FIFO mailbox. Never grows past its capacity: on overflow it
 * either refuses the new message (`"reject"`, the sender is told) or drops
 * the oldest one (`"drop-oldest"`, for telemetry-like traffic).
 */
export type OverflowPolicy = "reject" | "drop-oldest";

export interface MailboxOptions {
  capacity: number;
  overflow?: OverflowPolicy;
}

export class Mailbox<T> implements AsyncIterable<T> {
  readonly capacity: number;
  readonly overflow: OverflowPolicy;
  // Ring buffer, allocated on first use so idle connections cost nothing.
  #items: (T | undefined)[] | undefined;
  #head = 0;
  #size = 0;
  #closed = false;
  #dropped = 0;
  #waiter: ((value: IteratorResult<T>) => void) | undefined;

  constructor({ capacity, overflow = "reject" }: MailboxOptions) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(
        `Cannot create mailbox: capacity must be a positive integer (got ${capacity})`,
      );
    }
    this.capacity = capacity;
    this.overflow = overflow;
  }

  /** Messages waiting. */
  get size(): number {
    return this.#size;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Messages dropped by the `"drop-oldest"` policy. */
  get dropped(): number {
    return this.#dropped;
  }

  /**
   * Enqueues `msg`. Returns false when the mailbox is closed, or full under
   * the `"reject"` policy; the caller must then tell the sender.
   */
  trySend(msg: T): boolean {
    if (this.#closed) return false;
    const waiter = this.#waiter;
    if (waiter !== undefined) {
      this.#waiter = undefined;
      waiter({ value: msg, done: false });
      return true;
    }
    if (this.#size === this.capacity) {
      if (this.overflow === "reject") return false;
      this.take();
      this.#dropped++;
    }
    const items = this.#items ??= new Array(this.capacity);
    items[(this.#head + this.#size) % this.capacity] = msg;
    this.#size++;
    return true;
  }

  /** Removes and returns the oldest message, or undefined when empty. */
  take(): T | undefined {
    if (this.#size === 0) return undefined;
    const items = this.#items!;
    const msg = items[this.#head];
    items[this.#head] = undefined;
    this.#head = (this.#head + 1) % this.capacity;
    this.#size--;
    return msg;
  }

  /** Stops accepting messages; pending ones are discarded and a waiting reader ends. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#items = undefined;
    this.#size = 0;
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.({ value: undefined, done: true });
  }

  /** Waits for the next message; resolves `{ done: true }` once closed. */
  next(): Promise<IteratorResult<T>> {
    const msg = this.take();
    if (msg !== undefined) return Promise.resolve({ value: msg, done: false });
    if (this.#closed) return Promise.resolve({ value: undefined, done: true });
    if (this.#waiter !== undefined) {
      return Promise.reject(new TypeError("Cannot read mailbox: it already has a reader"));
    }
    return new Promise((resolve) => this.#waiter = resolve);
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return {
      next: () => this.next(),
      return: () => {
        this.close();
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }
}
