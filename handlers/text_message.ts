/**
 * `text_message`: starts a generation (the reply belongs to the server) and
 * subscribes this connection to it.
 *
 * Stage-1 sequences, unchanged for a stage-1 client:
 *   stream:     processing_start, stream_start, stream_chunk × n, stream_end{full_content}
 *   non-stream: processing_start, text_response{content, conversation_id}
 * A request ends with exactly one of `stream_end`, `text_response` or
 * `error`. Every event carries the request's `request_id` (the client's, or
 * one the server assigns) and `seq` (1, 2, 3, … per request);
 * `processing_start` carries the `resume_token`.
 */
import type { EngineRequest } from "../src/core/chat.ts";
import { ChatError } from "../src/core/errors.ts";
import type { GenerationRegistry, GenerationSpec } from "../src/generations/mod.ts";
import { pickGenerationParams } from "../src/protocol/generation_params.ts";
import type { TextMessage } from "../src/protocol/messages.ts";
import type { ConnectionContext, Handler } from "../src/router/router.ts";
import { WsSubscriber } from "./ws_subscriber.ts";
import type { VoiceDoor } from "./voice.ts";

export interface TextMessageOptions {
  generations: GenerationRegistry;
  maxStreamsPerConnection: number;
  useToolsDefault: boolean;
  streamDefault: boolean;
  /** Speech for `voice` (absent: `voice` is refused). */
  voice?: VoiceDoor;
}

/**
 * The per-connection stream limit (`WS_MAX_STREAMS_PER_CONNECTION`), for
 * every message that subscribes the connection to one more reply.
 *
 * @throws {ChatError} `too_many_streams`
 */
export function checkStreamLimit(ctx: ConnectionContext, max: number): void {
  if (ctx.attachments.size >= max) {
    throw new ChatError(
      "too_many_streams",
      `Too many concurrent streams: the limit is ${max} per connection`,
    );
  }
}

/** The `text_message` fields a reply is made of (`audio_input` takes them too). */
export type ReplyFields = Omit<TextMessage, "type" | "content">;

export class TextMessageHandler implements Handler<TextMessage> {
  readonly name = "TextMessageHandler";
  readonly #opts: TextMessageOptions;

  constructor(options: TextMessageOptions) {
    this.#opts = options;
  }

  handle(msg: TextMessage, ctx: ConnectionContext): void {
    const spec = this.spec(msg, ctx, [{ role: "user", content: msg.content }]);
    this.start(spec, ctx);
  }

  /**
   * The generation of a reply to `fields` (limits checked): the door's one
   * place for ids, defaults and speech, shared with `audio_input`.
   *
   * @throws {ChatError} `duplicate_request_id`, `too_many_streams`
   */
  spec(
    fields: ReplyFields,
    ctx: ConnectionContext,
    messages: EngineRequest["messages"],
  ): GenerationSpec {
    const requestId = fields.request_id ?? crypto.randomUUID();
    if (ctx.attachments.has(requestId)) {
      throw new ChatError(
        "duplicate_request_id",
        `A stream with request_id "${requestId}" is already running`,
      );
    }
    checkStreamLimit(ctx, this.#opts.maxStreamsPerConnection);
    const request: EngineRequest = {
      messages,
      useTools: fields.use_tools ?? this.#opts.useToolsDefault,
      namespace: ctx.principal,
    };
    if (fields.conversation_id != null) request.conversationId = fields.conversation_id;
    if (fields.personality_id) request.personalityId = fields.personality_id;
    const params = pickGenerationParams(fields);
    if (Object.keys(params).length > 0) request.params = params;
    const spec: GenerationSpec = {
      requestId,
      principal: ctx.principal,
      door: "ws",
      request,
      stream: fields.stream ?? this.#opts.streamDefault,
      toolEvents: fields.tool_events === true,
      onDisconnect: fields.on_disconnect ?? "continue",
      origin: { client_id: ctx.clientId },
    };
    if (fields.voice) {
      if (!this.#opts.voice) {
        throw new ChatError("audio_engine_unavailable", "Speech is not available");
      }
      const options = typeof fields.voice === "object" ? fields.voice : {};
      spec.speech = this.#opts.voice.speaker({
        ...options,
        ...(fields.personality_id ? { personalityId: fields.personality_id } : {}),
      });
    }
    return spec;
  }

  /** Starts `spec` and subscribes this connection to it. */
  start(spec: GenerationSpec, ctx: ConnectionContext): void {
    let subscriber: WsSubscriber | undefined;
    const { attachment } = this.#opts.generations.start(
      spec,
      (resumeToken) =>
        subscriber = new WsSubscriber(ctx, spec.requestId, { stream: spec.stream, resumeToken }),
    );
    subscriber!.attachment = attachment;
    ctx.attachments.add(attachment);
  }
}
