/**
 * The WebSocket side of a generation: maps each generation event to its
 * wire frame (stage-1 names, `request_id` and `seq` added) and sends it on
 * the connection. A socket that can no longer take frames is detached; the
 * generation runs on.
 */
import { errorTypeOf } from "../src/core/errors.ts";
import type { Attachment, GenerationEvent, ResumeInfo } from "../src/generations/mod.ts";
import type { ResumeSubscriber } from "../src/generations/mod.ts";
import type { OutboundBody } from "../src/protocol/messages.ts";
import type { ConnectionContext } from "../src/router/router.ts";

export class WsSubscriber implements ResumeSubscriber {
  readonly #ctx: ConnectionContext;
  readonly #requestId: string;
  #stream: boolean;
  /** Put on `processing_start` for the socket that started the reply. */
  readonly #resumeToken: string | undefined;
  /** Filed once the registry returns it; forgotten when the generation ends. */
  attachment: Attachment | undefined;
  /** Whether the generation has ended (a replay of a finished one ends at once). */
  done = false;

  constructor(
    ctx: ConnectionContext,
    requestId: string,
    options: { stream: boolean; resumeToken?: string },
  ) {
    this.#ctx = ctx;
    this.#requestId = requestId;
    this.#stream = options.stream;
    this.#resumeToken = options.resumeToken;
  }

  push(event: GenerationEvent): boolean {
    this.#ctx.send(this.#wire(event));
    return !this.#ctx.signal.aborted;
  }

  resumed(info: ResumeInfo): void {
    this.#stream = info.stream;
    const requestId = this.#requestId;
    this.#ctx.send({
      type: "resume_ok",
      request_id: requestId,
      recovered: info.recovered,
      status: info.status,
      top_seq: info.topSeq,
    });
    if (info.snapshot) {
      this.#ctx.send({
        type: "stream_snapshot",
        request_id: requestId,
        seq: info.snapshot.seq,
        content: info.snapshot.content,
      });
    }
  }

  finished(): void {
    this.done = true;
    if (this.attachment) this.#ctx.attachments.delete(this.attachment);
  }

  #wire(event: GenerationEvent): OutboundBody {
    const ids = { request_id: this.#requestId, seq: event.seq };
    switch (event.type) {
      case "processing_start":
      case "audio_processing_start":
        // The token goes on the reply's first event, to the socket that started it.
        return this.#resumeToken === undefined || event.seq !== 1
          ? { type: event.type, ...ids }
          : { type: event.type, ...ids, resume_token: this.#resumeToken };
      case "transcription":
        return {
          type: "transcription_result",
          text: event.text,
          ...(event.language ? { language: event.language } : {}),
          ...ids,
        };
      case "audio":
        return {
          type: "audio_stream",
          segment: event.segment,
          text: event.text,
          format: event.format,
          sample_rate: event.sampleRate,
          audio: event.audio,
          ...ids,
        };
      case "synthesis_complete":
        return {
          type: "synthesis_complete",
          segments: event.segments,
          ...(event.error
            ? {
              error: {
                message: event.error.message,
                type: errorTypeOf(event.error.code),
                code: event.error.code,
              },
            }
            : {}),
          ...ids,
        };
      case "stream_start":
        return { type: "stream_start", ...ids };
      case "chunk":
        return { type: "stream_chunk", content: event.content, ...ids };
      case "tool_call":
        return { type: "tool_call", name: event.name, arguments: event.arguments, ...ids };
      case "tool_result":
        return { type: "tool_result", name: event.name, ok: event.ok, ...ids };
      case "end":
        if (this.#stream) {
          return {
            type: "stream_end",
            full_content: event.content,
            finish_reason: event.finishReason,
            ...(event.conversationId === undefined
              ? {}
              : { conversation_id: event.conversationId }),
            ...ids,
          };
        }
        return {
          type: "text_response",
          content: event.content,
          conversation_id: event.conversationId ?? null,
          finish_reason: event.finishReason,
          ...ids,
        };
      case "error":
        return {
          type: "error",
          error: { message: event.message, type: errorTypeOf(event.code), code: event.code },
          ...ids,
        };
      default: {
        const never: never = event;
        throw new TypeError(`Unknown generation event: ${JSON.stringify(never)}`);
      }
    }
  }
}
