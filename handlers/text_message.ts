/**
 * `text_message`: runs one chat request as a cancellable child task of the
 * connection and streams the engine's output back.
 *
 * Stage-1 sequences, unchanged for a stage-1 client:
 *   stream:     processing_start, stream_start, stream_chunk × n, stream_end{full_content}
 *   non-stream: processing_start, text_response{content, conversation_id}
 * A request ends with exactly one of `stream_end`, `text_response` or
 * `error`. Every event carries the request's `request_id` (the client's, or
 * one the server assigns) and `seq` (1, 2, 3, … per request).
 */
import { ChatError } from "../src/core/errors.ts";
import type { ChatRunner, EngineRequest, FinishReason } from "../src/core/chat.ts";
import type { Logger } from "../src/core/logger.ts";
import { errorTypeOf } from "../src/core/errors.ts";
import type { OutboundBody, TextMessage } from "../src/protocol/messages.ts";
import type { ConnectionContext, Handler } from "../src/router/router.ts";
import { errorMessage } from "../src/core/spawn.ts";
import type { YychatMetrics } from "../src/observability/yychat_metrics.ts"; // metrics:

/** An event of this request before `emit` adds `request_id` and `seq`. */
type RequestEvent = OutboundBody extends infer E
  ? E extends OutboundBody ? Omit<E, "request_id" | "seq"> : never
  : never;
type Emit = (body: RequestEvent) => void;

/** Longest `stream_chunk.content`, in UTF-16 units; longer deltas are split. */
export const MAX_CHUNK_CHARS = 16 * 1024;

/** The chunk length that keeps a `stream_chunk` under `maxMessageBytes` (3 bytes a unit at most). */
export function chunkCharsFor(maxMessageBytes: number): number {
  return Math.max(64, Math.min(MAX_CHUNK_CHARS, Math.floor((maxMessageBytes - 512) / 3)));
}

export interface TextMessageOptions {
  engine: ChatRunner;
  logger: Logger;
  maxStreamsPerConnection: number;
  /** Longest `stream_chunk.content` (see {@linkcode chunkCharsFor}); default {@linkcode MAX_CHUNK_CHARS}. */
  maxChunkChars?: number;
  /** Whether the server is shutting down: running streams may finish, new ones are refused. */
  draining: () => boolean;
  useToolsDefault: boolean;
  streamDefault: boolean;
  /** metrics: generations, time to first chunk, duration, tokens, upstream errors. */
  metrics?: YychatMetrics;
}

export class TextMessageHandler implements Handler<TextMessage> {
  readonly name = "TextMessageHandler";
  readonly #opts: TextMessageOptions;

  constructor(options: TextMessageOptions) {
    this.#opts = options;
  }

  handle(msg: TextMessage, ctx: ConnectionContext): void {
    if (this.#opts.draining()) {
      throw new ChatError(
        "server_shutting_down",
        "The server is shutting down: no new requests",
      );
    }
    const requestId = msg.request_id ?? crypto.randomUUID();
    if (ctx.tasks.has(requestId)) {
      throw new ChatError(
        "duplicate_request_id",
        `A stream with request_id "${requestId}" is already running`,
      );
    }
    if (ctx.tasks.size >= this.#opts.maxStreamsPerConnection) {
      throw new ChatError(
        "too_many_streams",
        `Too many concurrent streams: the limit is ${this.#opts.maxStreamsPerConnection} per connection`,
      );
    }
    ctx.tasks.start(requestId, (signal) => this.#run(msg, requestId, ctx, signal), (err) => {
      this.#opts.logger.error("text_message_crashed", {
        request_id: requestId,
        error: errorMessage(err),
      });
    });
  }

  async #run(
    msg: TextMessage,
    requestId: string,
    ctx: ConnectionContext,
    signal: AbortSignal,
  ): Promise<void> {
    const { logger } = this.#opts;
    const stream = msg.stream ?? this.#opts.streamDefault;
    const conversationId = msg.conversation_id ?? undefined;
    const startedMs = performance.now();
    const gen = this.#opts.metrics?.startGeneration("ws"); // metrics:
    let seq = 0;
    let firstChunkMs: number | undefined;
    const emit: Emit = (body) => {
      ctx.send({ ...body, request_id: requestId, seq: ++seq } as OutboundBody);
    };

    const request: EngineRequest = {
      messages: [{ role: "user", content: msg.content }],
      useTools: msg.use_tools ?? this.#opts.useToolsDefault,
      namespace: ctx.principal,
    };
    if (conversationId !== undefined) request.conversationId = conversationId;
    if (msg.personality_id) request.personalityId = msg.personality_id;

    emit({ type: "processing_start" });
    if (stream) emit({ type: "stream_start" });

    let text = "";
    let outcome = "stop";
    const chunks = new ChunkCoalescer((content) => {
      for (const piece of splitText(content, this.#opts.maxChunkChars ?? MAX_CHUNK_CHARS)) {
        emit({ type: "stream_chunk", content: piece });
      }
    });
    try {
      for await (const event of this.#opts.engine.run(request, { signal })) {
        switch (event.type) {
          case "delta":
            if (event.content.length === 0) break;
            text += event.content;
            if (!stream) break;
            firstChunkMs ??= performance.now() - startedMs;
            gen?.firstChunk(); // metrics: observed once
            chunks.push(event.content);
            break;
          case "tool_call":
            if (stream && msg.tool_events) {
              chunks.flush();
              emit({ type: "tool_call", name: event.name, arguments: event.arguments });
            }
            break;
          case "tool_result":
            if (stream && msg.tool_events) {
              chunks.flush();
              emit({ type: "tool_result", name: event.name, ok: event.ok });
            }
            break;
          case "done":
            chunks.flush();
            outcome = event.finishReason;
            gen?.finish(event.finishReason, event.usage); // metrics:
            finish(emit, { stream, text, conversationId, finishReason: event.finishReason });
            break;
          default: {
            const never: never = event;
            throw new TypeError(`Unknown engine event: ${JSON.stringify(never)}`);
          }
        }
      }
    } catch (err) {
      chunks.flush();
      if (signal.aborted || (err instanceof ChatError && err.code === "cancelled")) {
        outcome = "cancelled";
        gen?.finish("cancelled"); // metrics:
        finish(emit, { stream, text, conversationId, finishReason: "cancelled" });
      } else {
        // Internal faults keep their details in the log (the engine logs its
        // own); the client gets a stable code and a generic message.
        const internal = !(err instanceof ChatError) || err.code === "internal_error";
        const coded = internal
          ? new ChatError("internal_error", "Internal error while generating the reply")
          : new ChatError(err.code, err.message);
        if (!(err instanceof ChatError)) {
          logger.error("text_message_failed", { request_id: requestId, error: errorMessage(err) });
        }
        outcome = `error:${coded.code}`;
        gen?.fail(coded.code); // metrics:
        emit({
          type: "error",
          error: { message: coded.message, type: errorTypeOf(coded.code), code: coded.code },
        });
      }
    }
    gen?.fail("internal_error"); // metrics: only if the engine ended without `done` (else a no-op)
    logger.info("text_message", {
      client_id: ctx.clientId,
      request_id: requestId,
      stream,
      outcome,
      chars: text.length,
      first_chunk_ms: firstChunkMs === undefined ? null : Math.round(firstChunkMs * 10) / 10,
      duration_ms: Math.round((performance.now() - startedMs) * 10) / 10,
    });
  }
}

/**
 * Sends the first delta of a stream at once (time to first chunk is not
 * delayed) and coalesces later ones until the next macrotask, so a burst read
 * from one upstream packet becomes one frame while a paced stream (tokens
 * milliseconds apart) still goes out delta by delta.
 */
class ChunkCoalescer {
  readonly #send: (content: string) => void;
  #pending = "";
  #timer: ReturnType<typeof setTimeout> | undefined;
  #sentFirst = false;

  constructor(send: (content: string) => void) {
    this.#send = send;
  }

  push(content: string): void {
    if (!this.#sentFirst) {
      this.#sentFirst = true;
      this.#send(content);
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
    this.#send(content);
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

/** The closing event of a request that did not fail. */
function finish(
  emit: Emit,
  r: {
    stream: boolean;
    text: string;
    conversationId: string | undefined;
    finishReason: FinishReason;
  },
): void {
  if (r.stream) {
    emit({
      type: "stream_end",
      full_content: r.text,
      finish_reason: r.finishReason,
      ...(r.conversationId === undefined ? {} : { conversation_id: r.conversationId }),
    });
  } else {
    emit({
      type: "text_response",
      content: r.text,
      conversation_id: r.conversationId ?? null,
      finish_reason: r.finishReason,
    });
  }
}
