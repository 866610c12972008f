/**
 * A WebSocket test client: queues every received event so tests can await
 * them in order, and resolves `closed` with the close code and reason.
 */
export type Event = Record<string, unknown> & { type: string };

export class TestClient {
  readonly socket: WebSocket;
  readonly opened: Promise<void>;
  readonly closed: Promise<{ code: number; reason: string }>;
  readonly #queue: Event[] = [];
  #waiters: ((e: Event | undefined) => void)[] = [];
  #isClosed = false;

  constructor(url: string, protocols?: string | string[]) {
    this.socket = new WebSocket(url, protocols);
    this.opened = new Promise((resolve, reject) => {
      this.socket.addEventListener("open", () => resolve(), { once: true });
      this.socket.addEventListener("error", () => reject(new Error(`WebSocket to ${url} failed`)), {
        once: true,
      });
    });
    this.closed = new Promise((resolve) => {
      this.socket.addEventListener("close", (ev) => {
        this.#isClosed = true;
        for (const w of this.#waiters) w(undefined);
        this.#waiters = [];
        resolve({ code: ev.code, reason: ev.reason });
      });
    });
    this.socket.addEventListener("message", (ev) => {
      const event = JSON.parse(String(ev.data)) as Event;
      const waiter = this.#waiters.shift();
      if (waiter) waiter(event);
      else this.#queue.push(event);
    });
  }

  /** Connects and consumes `connection_established`. */
  static async connect(
    url: string,
    protocols?: string | string[],
  ): Promise<{ client: TestClient; hello: Event }> {
    const client = new TestClient(url, protocols);
    await client.opened;
    const hello = await client.next();
    return { client, hello };
  }

  send(message: unknown): void {
    if (
      typeof message === "string" || message instanceof ArrayBuffer || message instanceof Uint8Array
    ) {
      this.socket.send(message);
    } else {
      this.socket.send(JSON.stringify(message));
    }
  }

  /** The next event; rejects after `timeoutMs` or if the socket closes first. */
  next(timeoutMs = 5000): Promise<Event> {
    const queued = this.#queue.shift();
    if (queued) return Promise.resolve(queued);
    if (this.#isClosed) return Promise.reject(new Error("Socket closed before the next event"));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        reject(new Error(`No event within ${timeoutMs} ms`));
      }, timeoutMs);
      const waiter = (e: Event | undefined) => {
        clearTimeout(timer);
        if (e) resolve(e);
        else reject(new Error("Socket closed before the next event"));
      };
      this.#waiters.push(waiter);
    });
  }

  /** Events until (and including) the first of `type`. */
  async until(type: string, timeoutMs = 5000): Promise<Event[]> {
    const events: Event[] = [];
    for (;;) {
      const e = await this.next(timeoutMs);
      events.push(e);
      if (e.type === type) return events;
    }
  }

  /** Sends `message` and returns the next event. */
  async request(message: unknown): Promise<Event> {
    this.send(message);
    return await this.next();
  }

  /** Events received but not yet consumed. */
  get pending(): number {
    return this.#queue.length;
  }

  async close(code = 1000): Promise<void> {
    if (!this.#isClosed && this.socket.readyState <= WebSocket.OPEN) this.socket.close(code);
    await this.closed;
  }
}
