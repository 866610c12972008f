/**
 * How a generation turns model deltas into `chunk` events: the first delta
 * goes out at once, later ones are coalesced per macrotask, and every chunk
 * is cut to fit the outbound size limit without splitting a surrogate pair.
 */
import { concatLogprobs, type Logprobs } from "../core/chat.ts";

/** Longest chunk, in UTF-16 units; longer deltas are split. */
export const MAX_CHUNK_CHARS = 16 * 1024;

/** The chunk length that keeps a WebSocket frame under `maxOutboundBytes` (3 bytes a unit at most). */
export function chunkCharsFor(maxOutboundBytes: number): number {
  return Math.max(64, Math.min(MAX_CHUNK_CHARS, Math.floor((maxOutboundBytes - 512) / 3)));
}

/** What one `chunk` event carries. */
export interface ChunkBody {
  content: string;
  refusal?: string;
  logprobs?: Logprobs;
}

/**
 * Sends the first delta of a stream at once (time to first chunk is not
 * delayed) and coalesces later ones until the next macrotask, so a burst read
 * from one upstream packet becomes one event while a paced stream (tokens
 * milliseconds apart) still goes out delta by delta.
 *
 * Coalescing loses nothing: refusal text is concatenated like the text, and
 * token log probabilities are concatenated in order (OpenAI's `logprobs` of a
 * chunk is a list of tokens, so the list of a coalesced chunk is the lists of
 * its deltas one after another). When a chunk must be cut to the outbound
 * size, its refusal and log probabilities travel with the first piece.
 */
export class ChunkCoalescer {
  readonly #send: (chunk: ChunkBody) => void;
  readonly #maxChars: number;
  #pending = "";
  #refusal: string | undefined;
  #logprobs: Logprobs | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #sentFirst = false;

  constructor(send: (chunk: ChunkBody) => void, maxChars: number) {
    this.#send = send;
    this.#maxChars = maxChars;
  }

  push(content: string, refusal?: string, logprobs?: Logprobs): void {
    if (!this.#sentFirst) {
      this.#sentFirst = true;
      this.#emit(content, refusal, logprobs);
      return;
    }
    this.#pending += content;
    if (refusal !== undefined) this.#refusal = (this.#refusal ?? "") + refusal;
    if (logprobs !== undefined) this.#logprobs = concatLogprobs(this.#logprobs, logprobs);
    this.#timer ??= setTimeout(() => this.flush(), 0);
  }

  /** Sends what is pending now (before any other event of the stream). */
  flush(): void {
    if (this.#timer === undefined) return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const content = this.#pending;
    const refusal = this.#refusal;
    const logprobs = this.#logprobs;
    this.#pending = "";
    this.#refusal = undefined;
    this.#logprobs = undefined;
    if (content.length === 0 && refusal === undefined && logprobs === undefined) return;
    this.#emit(content, refusal, logprobs);
  }

  #emit(content: string, refusal: string | undefined, logprobs: Logprobs | undefined): void {
    const pieces = splitText(content, this.#maxChars);
    for (let i = 0; i < pieces.length; i++) {
      const chunk: ChunkBody = { content: pieces[i]! };
      if (i === 0) {
        if (refusal !== undefined) chunk.refusal = refusal;
        if (logprobs !== undefined) chunk.logprobs = logprobs;
      }
      this.#send(chunk);
    }
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
