/**
 * Speech while text streams: text deltas go in ({@linkcode SpeechPipeline.push}),
 * audio segments come out, one per sentence, strictly in order.
 *
 * - The first segment is synthesised as soon as the segmenter completes the
 *   first sentence, while the rest of the text is still streaming.
 * - One synthesis at a time, in order; the next sentence is synthesised
 *   while earlier segments wait to be taken, up to `maxBufferedSegments`
 *   (then synthesis waits for the consumer: memory stays bounded).
 * - {@linkcode SpeechPipeline.abort} (or the `signal`) stops at once: the
 *   running synthesis is killed, buffered segments are dropped, the iterator
 *   ends — no burst of stale audio after a barge-in.
 * - A synthesis failure is thrown by the iterator after the segments before
 *   it; nothing after it is synthesised.
 */
import { ChatError } from "../core/errors.ts";
import type { SpeechFormat, SpeechStream, SpokenSegment, TextToSpeech } from "../core/speech.ts";
import { concatBytes } from "./process.ts";
import { type SegmenterOptions, SentenceSegmenter } from "./segmenter.ts";
import { fixWavSizes } from "./wav.ts";

export interface SpeechPipelineOptions {
  tts: TextToSpeech;
  format: SpeechFormat;
  voice?: string;
  speed?: number;
  model?: string;
  /** Aborting it is the same as {@linkcode SpeechPipeline.abort}. */
  signal?: AbortSignal;
  segmenter?: SegmenterOptions;
  /** Segments synthesised ahead of the consumer, default 2. */
  maxBufferedSegments?: number;
  /** Largest audio of one segment, default 16 MiB (`audio_engine_error` past it). */
  maxSegmentBytes?: number;
}

/** See the module doc. */
export class SpeechPipeline implements SpeechStream {
  readonly #options: SpeechPipelineOptions;
  readonly #segmenter: SentenceSegmenter;
  readonly #abort = new AbortController();
  readonly #maxBuffered: number;
  readonly #sentences: string[] = [];
  readonly #ready: SpokenSegment[] = [];
  #ended = false;
  #finished = false;
  #error: unknown;
  #count = 0;
  #delivered = 0;
  #wakeWorker: (() => void) | undefined;
  #wakeConsumer: (() => void) | undefined;
  #onAbort: (() => void) | undefined;

  constructor(options: SpeechPipelineOptions) {
    this.#options = options;
    this.#segmenter = new SentenceSegmenter(options.segmenter);
    this.#maxBuffered = Math.max(1, options.maxBufferedSegments ?? 2);
    if (options.signal) {
      this.#onAbort = () => this.abort();
      if (options.signal.aborted) this.abort();
      else options.signal.addEventListener("abort", this.#onAbort, { once: true });
    }
    // The worker never rejects: failures are kept in #error for the consumer.
    this.#work().catch((err) => this.#fail(err));
  }

  /** Segments handed to the consumer so far (`synthesis_complete{segments}`). */
  get segments(): number {
    return this.#delivered;
  }

  /** Whether the pipeline was aborted. */
  get aborted(): boolean {
    return this.#abort.signal.aborted;
  }

  /** Feeds a text delta; sentences it completes are queued for synthesis. */
  push(delta: string): void {
    if (this.#ended || this.aborted) return;
    const done = this.#segmenter.push(delta);
    if (done.length > 0) {
      this.#sentences.push(...done);
      this.#wakeWorker?.();
    }
  }

  /** The text is complete: the rest is spoken, then the iterator ends. */
  end(): void {
    if (this.#ended || this.aborted) return;
    this.#ended = true;
    this.#sentences.push(...this.#segmenter.flush());
    this.#wakeWorker?.();
  }

  /** Stops at once: kills the running synthesis, drops what is buffered, ends the iterator. */
  abort(): void {
    if (this.aborted) return;
    this.#abort.abort(new DOMException("Speech aborted", "AbortError"));
    this.#sentences.length = 0;
    this.#ready.length = 0;
    if (this.#onAbort) this.#options.signal?.removeEventListener("abort", this.#onAbort);
    this.#wakeWorker?.();
    this.#wakeConsumer?.();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<SpokenSegment> {
    try {
      for (;;) {
        if (this.aborted) return;
        const next = this.#ready.shift();
        if (next) {
          this.#delivered++;
          this.#wakeWorker?.();
          yield next;
          continue;
        }
        if (this.#error !== undefined) throw this.#error;
        if (this.#finished) return;
        await new Promise<void>((resolve) => (this.#wakeConsumer = resolve));
        this.#wakeConsumer = undefined;
      }
    } finally {
      // A consumer that stops early stops the pipeline.
      if (!this.#finished || this.#ready.length > 0) this.abort();
    }
  }

  async #work(): Promise<void> {
    const signal = this.#abort.signal;
    for (;;) {
      while (
        !signal.aborted &&
        (this.#ready.length >= this.#maxBuffered || (this.#sentences.length === 0 && !this.#ended))
      ) {
        await new Promise<void>((resolve) => (this.#wakeWorker = resolve));
        this.#wakeWorker = undefined;
      }
      if (signal.aborted) return;
      const text = this.#sentences.shift();
      if (text === undefined) {
        this.#finished = true;
        this.#wakeConsumer?.();
        return;
      }
      const segment = await this.#synthesize(text, signal).catch((err) => {
        if (!signal.aborted) throw err;
        return undefined;
      });
      if (segment === undefined || signal.aborted) return;
      this.#ready.push(segment);
      this.#wakeConsumer?.();
    }
  }

  async #synthesize(text: string, signal: AbortSignal): Promise<SpokenSegment> {
    const { tts, format, voice, speed, model } = this.#options;
    const max = this.#options.maxSegmentBytes ?? 16 * 1024 * 1024;
    const speech = await tts.synthesize(text, { format, voice, speed, model, signal });
    const parts: Uint8Array[] = [];
    let total = 0;
    for await (const chunk of speech.chunks) {
      total += chunk.length;
      if (total > max) {
        await speech.chunks.return();
        throw new ChatError("audio_engine_error", `One sentence made over ${max} bytes of audio`);
      }
      parts.push(chunk);
    }
    const audio = concatBytes(parts);
    return {
      segment: ++this.#count,
      text,
      format: speech.format,
      sample_rate: speech.sampleRate,
      audio: format === "wav" ? fixWavSizes(audio) : audio,
    };
  }

  #fail(err: unknown): void {
    this.#error = err;
    this.#sentences.length = 0;
    this.#wakeConsumer?.();
  }
}

/**
 * Speaks a stream of text deltas: a {@linkcode SpeechPipeline} fed from
 * `deltas`. Stopping the iteration (or the signal) stops the speech; a
 * failure of `deltas` is thrown after the segments already made.
 */
export async function* speakDeltas(
  deltas: AsyncIterable<string>,
  options: SpeechPipelineOptions,
): AsyncGenerator<SpokenSegment> {
  const pipeline = new SpeechPipeline(options);
  let failure: unknown;
  const feeding = (async () => {
    for await (const delta of deltas) {
      if (pipeline.aborted) return;
      pipeline.push(delta);
    }
    pipeline.end();
  })().catch((err) => {
    failure = err;
    pipeline.end();
  });
  try {
    yield* pipeline;
    await feeding;
    if (failure !== undefined) throw failure;
  } finally {
    pipeline.abort();
  }
}
