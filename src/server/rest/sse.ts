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
  let keepAlive: ReturnType<typeof setInterval> | undefined;
  let lastSentMs = performance.now();
  const end = (outcome: SseOutcome) => {
    if (ended) return;
    ended = true;
    clearInterval(keepAlive);
    options.onEnd(outcome);
  };
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      // Checked twice a period rather than re-armed per event: the silence
      // before a comment is one to one and a half periods.
      keepAlive = setInterval(() => {
        if (ended || performance.now() - lastSentMs < options.keepAliveMs) return;
        lastSentMs = performance.now();
        controller.enqueue(KEEP_ALIVE);
      }, options.keepAliveMs / 2);
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
        lastSentMs = performance.now();
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
