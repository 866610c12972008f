export interface SseOptions {
  /** Called on every network read, comments and keep-alives included (liveness). */
  onRead?: () => void;
  /** Longest line accepted, in characters (default 8 Mi): a bound on buffering. */
  maxLineChars?: number;
}

/**
 * A lean reader of OpenAI-style server-sent events: yields, per network
 * read, the `data` payloads of the events that read completed (including a
 * final `[DONE]`, which the caller interprets); reads that complete no event
 * yield nothing. Comment, `event:`, `id:` and `retry:` lines are skipped;
 * multi-line `data` is joined with newlines, as the SSE format says.
 * Streaming replies are the hot path of every chat: this does one decode and
 * one line scan per read, and hands a whole read's events over at once (one
 * async step for the caller instead of one per event).
 */
export async function* sseBatches(
  body: ReadableStream<Uint8Array>,
  options: SseOptions = {},
): AsyncGenerator<string[]> {
  const maxLineChars = options.maxLineChars ?? 8 * 1024 * 1024;
  const decoder = new TextDecoder();
  let buffer = "";
  let data: string[] = [];
  const reader = body.getReader();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      options.onRead?.();
      buffer += done ? decoder.decode() : decoder.decode(value, { stream: true });
      let batch: string[] | undefined;
      let start = 0;
      for (let end = buffer.indexOf("\n"); end >= 0; end = buffer.indexOf("\n", start)) {
        // Offsets rather than a slice per line: only `data` values are copied.
        const lineEnd = buffer.charCodeAt(end - 1) === 13 ? end - 1 : end;
        const lineStart = start;
        start = end + 1;
        if (lineEnd === lineStart) {
          if (data.length === 0) continue;
          (batch ??= []).push(data.length === 1 ? data[0]! : data.join("\n"));
          data = [];
        } else if (buffer.startsWith("data:", lineStart)) {
          const from = buffer.charCodeAt(lineStart + 5) === 32 ? lineStart + 6 : lineStart + 5;
          data.push(buffer.slice(from, Math.max(from, lineEnd)));
        }
      }
      buffer = start === buffer.length ? "" : buffer.slice(start);
      if (buffer.length > maxLineChars) {
        throw new RangeError(`Server-sent event line over ${maxLineChars} characters`);
      }
      if (done) {
        // A last event without its blank line still counts.
        if (buffer.startsWith("data:")) {
          data.push(buffer.slice(buffer.charCodeAt(5) === 32 ? 6 : 5));
        }
        if (data.length > 0) (batch ??= []).push(data.join("\n"));
        if (batch) yield batch;
        break;
      }
      if (batch) yield batch;
    }
  } finally {
    // Stops the body (and so the HTTP request) when the consumer leaves early.
    await reader.cancel().catch(() => {});
  }
}

/** The same events one `data` payload at a time. */
export async function* sseData(
  body: ReadableStream<Uint8Array>,
  options: SseOptions = {},
): AsyncGenerator<string> {
  for await (const batch of sseBatches(body, options)) yield* batch;
}
