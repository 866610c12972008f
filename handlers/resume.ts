import type { GenerationRegistry } from "../src/generations/mod.ts";
import type { Resume } from "../src/protocol/messages.ts";
import type { ConnectionContext, Handler } from "../src/router/router.ts";
import { checkStreamLimit } from "./text_message.ts";
import { WsSubscriber } from "./ws_subscriber.ts";

/**
 * `resume{request_id, resume_token, last_seq}`: subscribes this connection
 * to a reply started earlier (by this or another socket of the same key) →
 * `resume_ok{recovered, status, top_seq}`, then every event after
 * `last_seq` (or a `stream_snapshot` and the events after it when the log no
 * longer holds them), then live events. Unknown, expired or foreign →
 * `resume_unavailable`.
 */
export class ResumeHandler implements Handler<Resume> {
  readonly name = "ResumeHandler";
  readonly #generations: GenerationRegistry;
  readonly #maxStreams: number;

  constructor(options: { generations: GenerationRegistry; maxStreamsPerConnection: number }) {
    this.#generations = options.generations;
    this.#maxStreams = options.maxStreamsPerConnection;
  }

  async handle(msg: Resume, ctx: ConnectionContext): Promise<void> {
    const previous = ctx.attachments.get(msg.request_id);
    if (previous === undefined) {
      checkStreamLimit(ctx, this.#maxStreams);
    } else {
      // Resuming twice on one socket replaces the first subscription.
      ctx.attachments.delete(previous);
      previous.detach("leave");
    }
    const subscriber = new WsSubscriber(ctx, msg.request_id, { stream: true });
    const attachment = await this.#generations.resume({
      principal: ctx.principal,
      requestId: msg.request_id,
      token: msg.resume_token,
      afterSeq: msg.last_seq,
    }, subscriber);
    subscriber.attachment = attachment;
    if (ctx.signal.aborted) attachment.detach("disconnect");
    else if (!subscriber.done) ctx.attachments.add(attachment);
  }
}
