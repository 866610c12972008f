/**
 * One generation: a reply owned by the server. It runs the chat request
 * (its own AbortController), numbers and logs every event, and delivers each
 * to its subscribers (sockets, HTTP responses). Subscribers come and go; a
 * disconnect only detaches, and the completed turn is stored by the engine
 * whether or not anyone still listens.
 */
import type { ChatRunner, EngineRequest } from "../core/chat.ts";
import type { Clock } from "../core/clock.ts";
import { ChatError, type ErrorCode } from "../core/errors.ts";
import type { Logger } from "../core/logger.ts";
import type { SpeechStream } from "../core/speech.ts";
import { errorMessage } from "../core/spawn.ts";
import { ChunkCoalescer } from "./chunks.ts";
import type { EventLog, GenerationStatus } from "./event_log.ts";
import type { EventBody, GenerationEvent } from "./events.ts";
import type { YychatMetrics } from "../observability/yychat_metrics.ts";

/** Which door started a generation. */
export type Door = "ws" | "rest";

/** What a disconnect of the last subscriber does: keep running, or cancel. */
export type DisconnectPolicy = "continue" | "cancel";

/** Everything a door decides about a new generation. */
export interface GenerationSpec {
  /** The client's `request_id`, or one the door assigned. */
  requestId: string;
  /** Who started it (memory namespace; `""` without auth); only they may resume it. */
  principal: string;
  door: Door;
  request: EngineRequest;
  /** Stream the text as `chunk` events (else only the final `end`). */
  stream: boolean;
  /** Log `tool_call`/`tool_result` events (streaming only). */
  toolEvents: boolean;
  onDisconnect: DisconnectPolicy;
  /** Door-side ids for the log line (`client_id`, the HTTP request id). */
  origin?: Record<string, string>;
  /** Speak the reply: a speech stream fed with its text, each sentence logged as `audio`. */
  speech?: (signal: AbortSignal) => SpeechStream;
  /**
   * Spoken input (WS `audio_input`): transcribed first; with `respond` the
   * transcript is the user message of `request`, else the generation ends
   * after `transcription`.
   */
  transcription?: {
    run(signal: AbortSignal): Promise<{ text: string; language?: string }>;
    respond: boolean;
  };
}

/** A consumer of a generation's events: a socket, an HTTP response. */
export interface Subscriber {
  /** Takes one event; false when it can take no more (it is then detached). */
  push(event: GenerationEvent): boolean;
  /** The generation is over: no event follows. */
  finished?(): void;
}

/** Why a subscriber leaves. */
export type DetachReason = "disconnect" | "leave";

export interface GenerationDeps {
  log: EventLog;
  clock: Clock;
  logger: Logger;
  /** Longest `chunk` content, in UTF-16 units. */
  maxChunkChars: number;
  /** Generations running, outcomes, time to first chunk, duration, tokens, upstream errors. */
  metrics?: YychatMetrics;
  /** Told once, after the last event. */
  onFinished(generation: Generation): void;
}

export class Generation {
  readonly key: string;
  readonly spec: GenerationSpec;
  readonly #deps: GenerationDeps;
  readonly #subscribers = new Set<Subscriber>();
  readonly #controller = new AbortController();
  readonly #done: Promise<void>;
  #resolveDone!: () => void;
  #status: GenerationStatus = "running";
  #seq = 0;
  #detachedSinceMs: number | undefined;
  /** Subscribers ever attached (the log line says whether anyone resumed). */
  #attachCount = 0;

  constructor(key: string, spec: GenerationSpec, deps: GenerationDeps) {
    this.key = key;
    this.spec = spec;
    this.#deps = deps;
    this.#done = new Promise((resolve) => this.#resolveDone = resolve);
  }

  get status(): GenerationStatus {
    return this.#status;
  }

  get subscriberCount(): number {
    return this.#subscribers.size;
  }

  /** Clock time since which no subscriber listens (undefined while one does). */
  get detachedSinceMs(): number | undefined {
    return this.#detachedSinceMs;
  }

  /** Settles when the generation has finished (never rejects). */
  get done(): Promise<void> {
    return this.#done;
  }

  attach(subscriber: Subscriber): void {
    if (this.#status === "done") {
      subscriber.finished?.();
      return;
    }
    this.#subscribers.add(subscriber);
    this.#attachCount++;
    this.#detachedSinceMs = undefined;
  }

  /**
   * Removes a subscriber. When the last one leaves by disconnecting and the
   * policy is `cancel`, the generation is cancelled; otherwise it runs on
   * detached (the registry cancels it after `STREAM_DETACHED_LIMIT`).
   */
  detach(subscriber: Subscriber, reason: DetachReason): void {
    if (!this.#subscribers.delete(subscriber) || this.#subscribers.size > 0) return;
    if (this.#status === "done") return;
    if (reason === "disconnect" && this.spec.onDisconnect === "cancel") {
      this.cancel("Cancelled: the client disconnected");
    } else {
      this.#detachedSinceMs = this.#deps.clock.now();
    }
  }

  /** Aborts the engine run; the generation ends with `finish_reason: "cancelled"`. */
  cancel(message = "Cancelled by the client"): void {
    if (this.#status === "running") this.#controller.abort(new ChatError("cancelled", message));
  }

  /** Runs the request to its end. Never rejects: failures become an `error` event. */
  async run(runner: ChatRunner): Promise<void> {
    const { spec } = this;
    const { logger, maxChunkChars } = this.#deps;
    const signal = this.#controller.signal;
    const started = performance.now();
    const metrics = this.#deps.metrics?.startGeneration(spec.door);
    let firstChunkMs: number | undefined;
    let text = "";
    let outcome = "stop";
    const chunks = new ChunkCoalescer((chunk) => {
      if (firstChunkMs === undefined) {
        firstChunkMs = performance.now() - started;
        metrics?.firstChunk();
      }
      this.#emit({ type: "chunk", ...chunk });
    }, maxChunkChars);
    const end = (body: Extract<EventBody, { type: "end" }>) => {
      chunks.flush();
      this.#emit(body);
    };
    const toolEvents = spec.stream && spec.toolEvents;
    // Speech runs beside the text: sentences are spoken as they complete;
    // `synthesis_complete` waits for the text's own end.
    const speech = spec.speech?.(signal);
    const textOver = Promise.withResolvers<void>();
    const spoken = speech && this.#speak(speech, textOver.promise);
    try {
      // The engine asks the provider for a stream only when the client reads one.
      let request: EngineRequest | undefined = spec.request.stream === spec.stream
        ? spec.request
        : { ...spec.request, stream: spec.stream };
      if (spec.transcription) {
        this.#emit({ type: "audio_processing_start" });
        const heard = await spec.transcription.run(signal);
        signal.throwIfAborted();
        this.#emit({
          type: "transcription",
          text: heard.text,
          ...(heard.language ? { language: heard.language } : {}),
        });
        if (!spec.transcription.respond) {
          outcome = "transcribed";
          metrics?.finish("stop");
          request = undefined;
        } else if (heard.text.trim() === "") {
          throw new ChatError("empty_transcript", "Nothing was recognised in the audio");
        } else {
          request = { ...request, messages: [{ role: "user", content: heard.text }] };
        }
      }
      if (request !== undefined) this.#emit({ type: "processing_start" });
      if (request !== undefined && spec.stream) this.#emit({ type: "stream_start" });
      const events = request === undefined ? [] : runner.run(request, { signal });
      for await (const event of events) {
        switch (event.type) {
          case "delta":
            text += event.content;
            if (
              spec.stream &&
              (event.content.length > 0 || event.refusal !== undefined ||
                event.logprobs !== undefined)
            ) {
              chunks.push(event.content, event.refusal, event.logprobs);
            }
            if (event.content.length > 0) speech?.push(event.content);
            break;
          case "tool_call":
          case "tool_result":
            if (!toolEvents) break;
            chunks.flush();
            this.#emit(event);
            break;
          case "done":
            outcome = event.finishReason;
            metrics?.finish(event.finishReason, event.usage);
            end({
              type: "end",
              finishReason: event.finishReason,
              content: event.content,
              model: event.model,
              ...(event.usage ? { usage: event.usage } : {}),
              ...conversation(spec),
              ...(event.toolCalls ? { toolCalls: event.toolCalls } : {}),
              ...(event.refusal !== undefined ? { refusal: event.refusal } : {}),
              ...(event.logprobs ? { logprobs: event.logprobs } : {}),
              ...(event.systemFingerprint ? { systemFingerprint: event.systemFingerprint } : {}),
              ...(event.serviceTier ? { serviceTier: event.serviceTier } : {}),
            });
            speech?.end();
            break;
          default: {
            const never: never = event;
            throw new TypeError(`Unknown engine event: ${JSON.stringify(never)}`);
          }
        }
      }
    } catch (err) {
      speech?.abort();
      if (signal.aborted || (err instanceof ChatError && err.code === "cancelled")) {
        outcome = "cancelled";
        metrics?.finish("cancelled");
        end({
          type: "end",
          finishReason: "cancelled",
          content: text,
          model: "",
          ...conversation(spec),
        });
      } else {
        // Internal faults keep their details in the log (the engine logs its
        // own); clients get a stable code and a generic message.
        const internal = !(err instanceof ChatError) || err.code === "internal_error";
        if (!(err instanceof ChatError)) {
          logger.error("generation_failed", {
            request_id: spec.requestId,
            error: errorMessage(err),
          });
        }
        const code: ErrorCode = internal ? "internal_error" : (err as ChatError).code;
        outcome = `error:${code}`;
        metrics?.fail(code);
        chunks.flush();
        const upstream = internal ? undefined : err as ChatError;
        this.#emit({
          type: "error",
          code,
          message: internal ? "Internal error while generating the reply" : errorMessage(err),
          ...(upstream?.status === undefined ? {} : { status: upstream.status }),
          ...(upstream?.retryAfterSeconds === undefined
            ? {}
            : { retryAfterSeconds: upstream.retryAfterSeconds }),
          ...(upstream?.param === undefined ? {} : { param: upstream.param }),
          ...(upstream?.upstreamCode === undefined ? {} : { upstreamCode: upstream.upstreamCode }),
        });
      }
    } finally {
      chunks.flush();
      metrics?.fail("internal_error"); // only when nothing above ended it (a no-op otherwise)
    }
    // A reply that never got to its end (a transcription only, a failure) says nothing more.
    speech?.end();
    textOver.resolve();
    if (spoken) await spoken;
    this.#finish();
    logger.info("generation", {
      request_id: spec.requestId,
      door: spec.door,
      ...spec.origin,
      stream: spec.stream,
      outcome,
      chars: text.length,
      first_chunk_ms: firstChunkMs === undefined ? null : Math.round(firstChunkMs * 10) / 10,
      duration_ms: Math.round((performance.now() - started) * 10) / 10,
      subscribers: this.#subscribers.size,
      attached: this.#attachCount,
      ...(speech ? { spoken_segments: speech.segments } : {}),
    });
  }

  /**
   * Logs each spoken sentence as an `audio` event, then — once the text is
   * over too — `synthesis_complete`. Never rejects.
   */
  async #speak(speech: SpeechStream, textOver: Promise<void>): Promise<void> {
    let error: { code: ErrorCode; message: string } | undefined;
    try {
      for await (const s of speech) {
        this.#emit({
          type: "audio",
          segment: s.segment,
          text: s.text,
          format: s.format,
          sampleRate: s.sample_rate,
          audio: s.audio.toBase64(),
        });
      }
    } catch (err) {
      if (!speech.aborted) {
        error = err instanceof ChatError
          ? { code: err.code, message: err.message }
          : { code: "audio_engine_error", message: "Speech synthesis failed" };
        if (!(err instanceof ChatError)) {
          this.#deps.logger.error("speech_failed", {
            request_id: this.spec.requestId,
            error: errorMessage(err),
          });
        }
      }
    }
    await textOver;
    this.#emit({
      type: "synthesis_complete",
      segments: speech.segments,
      ...(error ? { error } : {}),
    });
  }

  #emit(body: EventBody): void {
    const event = { ...body, seq: ++this.#seq } as GenerationEvent;
    this.#deps.log.append(this.key, event);
    for (const subscriber of this.#subscribers) {
      if (!subscriber.push(event)) this.detach(subscriber, "disconnect");
    }
  }

  #finish(): void {
    this.#status = "done";
    this.#deps.log.finish(this.key, this.#deps.clock.now());
    const subscribers = [...this.#subscribers];
    this.#subscribers.clear();
    for (const subscriber of subscribers) subscriber.finished?.();
    this.#deps.onFinished(this);
    this.#resolveDone();
  }
}

function conversation(spec: GenerationSpec): { conversationId?: string } {
  const id = spec.request.conversationId;
  return id === undefined ? {} : { conversationId: id };
}
