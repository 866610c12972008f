/**
 * The audio bytes an engine is producing, as the `chunks` iterator of a
 * `SynthesizedSpeech`: each read is bounded by an idle timeout (time the
 * engine takes, never time the consumer takes), the first chunk can be
 * awaited before the response is committed, and ending early — `return()`,
 * an abort, an error — releases the engine exactly once.
 */
import { ChatError } from "../core/errors.ts";
import type { AudioChunks } from "../core/speech.ts";

export interface ByteStreamOptions {
  source: ReadableStream<Uint8Array>;
  /** Longest wait for the next chunk from the engine. */
  idleTimeoutMs: number;
  signal?: AbortSignal;
  /** The error when the engine stalls longer than `idleTimeoutMs`. */
  timeoutError(): ChatError;
  /** A read that failed (a broken upstream body), as a coded error. */
  readError(err: unknown): ChatError;
  /** At the end of the source: checks the engine finished well (throws otherwise). */
  finish(): Promise<void>;
  /** Stops the engine and releases it (kill and reap processes, abort a request). */
  release(): Promise<void>;
}

/** See the module doc. */
export class ByteStream implements AudioChunks {
  readonly #options: ByteStreamOptions;
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  #peeked: Uint8Array | undefined;
  #done = false;
  #released: Promise<void> | undefined;

  constructor(options: ByteStreamOptions) {
    this.#options = options;
    this.#reader = options.source.getReader();
  }

  /**
   * Waits for the first non-empty chunk (kept for the first `next()`), so a
   * failure before any audio surfaces here.
   */
  async start(): Promise<this> {
    const first = await this.next();
    if (!first.done) this.#peeked = first.value;
    return this;
  }

  /** The chunk {@linkcode start} read, until `next()` hands it out. */
  get first(): Uint8Array | undefined {
    return this.#peeked;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  async next(): Promise<IteratorResult<Uint8Array>> {
    if (this.#peeked !== undefined) {
      const value = this.#peeked;
      this.#peeked = undefined;
      if (value.length > 0) return { done: false, value };
    }
    if (this.#done) return { done: true, value: undefined };
    const { signal } = this.#options;
    try {
      signal?.throwIfAborted();
      for (;;) {
        const result = await this.#read();
        if (result.done) {
          this.#done = true;
          signal?.throwIfAborted();
          await this.#options.finish();
          await this.#release();
          return { done: true, value: undefined };
        }
        if (result.value.length > 0) return { done: false, value: result.value };
      }
    } catch (err) {
      this.#done = true;
      await this.#release();
      if (signal?.aborted) throw new ChatError("cancelled", "The speech was cancelled");
      throw err instanceof ChatError ? err : this.#options.readError(err);
    }
  }

  async return(): Promise<IteratorResult<Uint8Array>> {
    this.#done = true;
    this.#peeked = undefined;
    await this.#release();
    return { done: true, value: undefined };
  }

  #read(): Promise<ReadableStreamReadResult<Uint8Array>> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(this.#options.timeoutError()), this.#options.idleTimeoutMs);
    });
    return Promise.race([this.#reader.read(), timeout]).finally(() => clearTimeout(timer));
  }

  #release(): Promise<void> {
    this.#released ??= (async () => {
      await this.#reader.cancel().catch(() => {});
      this.#reader.releaseLock();
      await this.#options.release();
    })();
    return this.#released;
  }
}
