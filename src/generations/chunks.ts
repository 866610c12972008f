/**
 * How a generation turns model deltas into `chunk` events: the first delta
 * goes out at once, later ones are coalesced per macrotask, and every chunk
 * is cut to fit the outbound size limit without splitting a surrogate pair.
 */

/** Longest chunk, in UTF-16 units; longer deltas are split. */
export const MAX_CHUNK_CHARS = 16 * 1024;

/** The chunk length that keeps a WebSocket frame under `maxOutboundBytes` (3 bytes a unit at most). */
export function chunkCharsFor(maxOutboundBytes: number): number {
  return Math.max(64, Math.min(MAX_CHUNK_CHARS, Math.floor((maxOutboundBytes - 512) / 3)));
}

/**
 * Sends the first delta of a stream at once (time to first chunk is not
 * delayed) and coalesces later ones until the next macrotask, so a burst read
 * from one upstream packet becomes one event while a paced stream (tokens
 * milliseconds apart) still goes out delta by delta.
 */
export class ChunkCoalescer {
  readonly #send: (content: string) => void;
  readonly #maxChars: number;
  #pending = "";
  #timer: ReturnType<typeof setTimeout> | undefined;
  #sentFirst = false;

  constructor(send: (content: string) => void, maxChars: number) {
    this.#send = send;
    this.#maxChars = maxChars;
  }

  push(content: string): void {
    if (!this.#sentFirst) {
      this.#sentFirst = true;
      this.#emit(content);
      return;
    }
    this.#pending += content;
    this.#timer ??= setTimeout(() => this.flush(), 0);
  }

  /** Sends what is pending now (before any other event of the stream). */
  flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#pending.length === 0) return;
    const content = this.#pending;
    this.#pending = "";
    this.#emit(content);
  }

  #emit(content: string): void {
    for (const piece of splitText(content, this.#maxChars)) this.#send(piece);
  }
}

/**
 * `text` in pieces of at most `maxChars` UTF-16 units, never cutting a
 * surrogate pair (an emoji) in two: each piece is valid text on its own.
 */
export function splitText(text: string, maxChars: number): string[] {
  if (text.length <= maxChars) return [text];
  const pieces: string[] = [];
  for (let i = 0; i < text.length;) {
    let end = Math.min(i + maxChars, text.length);
    const last = text.charCodeAt(end - 1);
    if (end < text.length && last >= 0xd800 && last <= 0xdbff) end--;
    pieces.push(text.slice(i, end));
    i = end;
  }
  return pieces;
}
