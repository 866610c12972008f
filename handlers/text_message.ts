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
import type { GenerationRegistry } from "../src/generations/mod.ts";
import { pickGenerationParams } from "../src/protocol/generation_params.ts";
import type { TextMessage } from "../src/protocol/messages.ts";
import type { ConnectionContext, Handler } from "../src/router/router.ts";
import { WsSubscriber } from "./ws_subscriber.ts";

export interface TextMessageOptions {
  generations: GenerationRegistry;
  maxStreamsPerConnection: number;
  useToolsDefault: boolean;
  streamDefault: boolean;
}

export class TextMessageHandler implements Handler<TextMessage> {
  readonly name = "TextMessageHandler";
  readonly #opts: TextMessageOptions;

  constructor(options: TextMessageOptions) {
    this.#opts = options;
  }

  handle(msg: TextMessage, ctx: ConnectionContext): void {
    const requestId = msg.request_id ?? crypto.randomUUID();
    if (ctx.attachments.has(requestId)) {
      throw new ChatError(
        "duplicate_request_id",
        `A stream with request_id "${requestId}" is already running`,
      );
    }
    if (ctx.attachments.size >= this.#opts.maxStreamsPerConnection) {
      throw new ChatError(
        "too_many_streams",
        `Too many concurrent streams: the limit is ${this.#opts.maxStreamsPerConnection} per connection`,
      );
    }
    const stream = msg.stream ?? this.#opts.streamDefault;
    const request: EngineRequest = {
      messages: [{ role: "user", content: msg.content }],
      useTools: msg.use_tools ?? this.#opts.useToolsDefault,
      namespace: ctx.principal,
    };
    if (msg.conversation_id != null) request.conversationId = msg.conversation_id;
    if (msg.personality_id) request.personalityId = msg.personality_id;
    const params = pickGenerationParams(msg);
    for (const _ in params) {
      request.params = params;
      break;
    }

    let subscriber: WsSubscriber | undefined;
    const { attachment } = this.#opts.generations.start({
      requestId,
      principal: ctx.principal,
      door: "ws",
      request,
      stream,
      toolEvents: msg.tool_events === true,
      onDisconnect: msg.on_disconnect ?? "continue",
      origin: { client_id: ctx.clientId },
    }, (resumeToken) => subscriber = new WsSubscriber(ctx, requestId, { stream, resumeToken }));
    subscriber!.attachment = attachment;
    ctx.attachments.add(attachment);
  }
}
