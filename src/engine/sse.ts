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
        const line = buffer.charCodeAt(end - 1) === 13
          ? buffer.slice(start, end - 1)
          : buffer.slice(start, end);
        start = end + 1;
        if (line.length === 0) {
          if (data.length === 0) continue;
          (batch ??= []).push(data.length === 1 ? data[0]! : data.join("\n"));
          data = [];
        } else if (line.startsWith("data:")) {
          data.push(line.charCodeAt(5) === 32 ? line.slice(6) : line.slice(5));
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

const FAST_HEAD = '"choices":[{"index":0,"delta":{"content":"';
const FAST_TAILS = [
  ',"logprobs":null,"finish_reason":null}]}',
  ',"finish_reason":null}]}',
  ',"logprobs":null,"finish_reason":null}],"usage":null}',
  ',"finish_reason":null}],"usage":null}',
];

/**
 * The text of a chunk that carries nothing but text — the great majority of
 * a stream — read without parsing the whole chunk; `undefined` for any other
 * chunk (the caller parses it). Only compact JSON in OpenAI's shape
 * qualifies: one choice, index 0, a delta with only `content`, no log
 * probabilities, no finish reason, nothing after the choices but a null
 * `usage`, and no usage or error before them. Quotes inside JSON strings are
 * escaped, so nothing looked for can be faked by the text itself.
 */
export function plainContentDelta(data: string): string | undefined {
  const head = data.indexOf(FAST_HEAD);
  if (head < 0) return undefined;
  const start = head + FAST_HEAD.length;
  let end = data.indexOf('"', start);
  let escaped = false;
  while (end >= 0) {
    // A quote preceded by an odd number of backslashes is inside the string.
    let backslashes = 0;
    for (let i = end - 1; i >= start && data.charCodeAt(i) === 92; i--) backslashes++;
    if (backslashes % 2 === 0) break;
    escaped = true;
    end = data.indexOf('"', end + 1);
  }
  if (end < 0 || data.charCodeAt(end + 1) !== 125 /* } */) return undefined;
  const rest = data.length - end - 2;
  let tailed = false;
  for (const tail of FAST_TAILS) {
    if (tail.length === rest && data.startsWith(tail, end + 2)) {
      tailed = true;
      break;
    }
  }
  if (!tailed) return undefined;
  if (data.lastIndexOf('"usage":{', head) >= 0 || data.lastIndexOf('"error":', head) >= 0) {
    return undefined;
  }
  const literal = data.slice(start, end);
  if (!escaped && literal.indexOf("\\") < 0) return literal;
  return JSON.parse(`"${literal}"`) as string;
}
