/**
 * Server-Sent Events for the REST API: pulls events from an async
 * generator only as fast as the client reads (backpressure through the
 * response body), and reports a client that went away so the caller can
 * abort the upstream request.
 */

/** Response headers of every SSE stream. */
export const SSE_HEADERS: Record<string, string> = {
  "content-type": "text/event-stream; charset=utf-8",
  "cache-control": "no-cache",
  "x-accel-buffering": "no",
};

const KEEP_ALIVE = new TextEncoder().encode(": keep-alive\n\n");

/** How an SSE stream ended. */
export type SseOutcome = "completed" | "cancelled" | "failed";

export interface SseOptions {
  /** Period of `: keep-alive` comments while nothing else is sent (proxies drop silent streams). */
  keepAliveMs: number;
  /** The client cancelled the body (disconnected): abort the work behind `payloads`. */
  onCancel(): void;
  /** Called exactly once when the stream is over, however it ended. */
  onEnd(outcome: SseOutcome): void;
  headers?: HeadersInit;
}

/** One SSE event: `id:` (the generation's `seq`), an optional `event:` name, one `data:` line. */
export interface SseEvent {
  id?: number;
  event?: string;
  data: string;
}

/**
 * A streaming response writing each yielded event as `id:`/`event:`/`data:`
 * lines.
 * The generator must not throw for expected failures (it yields an error
 * event instead); an unexpected throw ends the stream as `failed`.
 */
export function sseResponse(payloads: AsyncGenerator<SseEvent>, options: SseOptions): Response {
  const encoder = new TextEncoder();
  let ended = false;
  let sent = 0;
  let seen = 0;
  let quietTicks = 0;
  let controllerRef: ReadableStreamDefaultController<Uint8Array> | undefined;
  // Ticks twice a period (one timer for every stream with the same period):
  // a stream silent for two ticks gets a comment, so the silence before one
  // is one to one and a half periods.
  const keepAlive = () => {
    if (sent !== seen) {
      seen = sent;
      quietTicks = 0;
      return;
    }
    if (++quietTicks < 2) return;
    quietTicks = 0;
    controllerRef?.enqueue(KEEP_ALIVE);
  };
  const end = (outcome: SseOutcome) => {
    if (ended) return;
    ended = true;
    tickerFor(options.keepAliveMs / 2).delete(keepAlive);
    options.onEnd(outcome);
  };
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      controllerRef = controller;
      tickerFor(options.keepAliveMs / 2).add(keepAlive);
    },
    async pull(controller) {
      if (ended) return;
      try {
        const next = await payloads.next();
        if (ended) return;
        if (next.done) {
          controller.close();
          end("completed");
          return;
        }
        sent++;
        const { id, event, data } = next.value;
        controller.enqueue(encoder.encode(
          `${id === undefined ? "" : `id: ${id}\n`}${
            event === undefined ? "" : `event: ${event}\n`
          }data: ${data}\n\n`,
        ));
      } catch {
        if (ended) return;
        controller.close();
        end("failed");
      }
    },
    cancel() {
      if (ended) return;
      end("cancelled");
      options.onCancel();
      // The pending next() settles once the abort lands; then finish the generator.
      payloads.return(undefined).catch(() => {});
    },
  }, { highWaterMark: 0 });
  const headers = new Headers(SSE_HEADERS);
  if (options.headers) new Headers(options.headers).forEach((v, k) => headers.set(k, v));
  return new Response(body, { headers });
}

/** One interval per period for every open stream, running only while streams are open. */
class Ticker {
  readonly #periodMs: number;
  readonly #callbacks = new Set<() => void>();
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(periodMs: number) {
    this.#periodMs = periodMs;
  }

  add(callback: () => void): void {
    this.#callbacks.add(callback);
    this.#timer ??= setInterval(() => {
      for (const cb of this.#callbacks) cb();
    }, this.#periodMs);
  }

  delete(callback: () => void): void {
    this.#callbacks.delete(callback);
    if (this.#callbacks.size === 0 && this.#timer !== undefined) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }
}

const TICKERS = new Map<number, Ticker>();

function tickerFor(periodMs: number): Ticker {
  let ticker = TICKERS.get(periodMs);
  if (ticker === undefined) {
    ticker = new Ticker(periodMs);
    TICKERS.set(periodMs, ticker);
  }
  return ticker;
}
