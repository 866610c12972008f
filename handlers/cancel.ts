import type { Cancel } from "../src/protocol/messages.ts";
import { ChatError } from "../src/core/errors.ts";
import type { ConnectionContext, Handler } from "../src/router/router.ts";

/**
 * `cancel{request_id}`: stops that reply (provider request and tool calls
 * included) for every subscriber. Any socket subscribed to it may cancel it,
 * the one that started it or one that resumed it. The reply itself answers,
 * with `stream_end{finish_reason:"cancelled"}`.
 */
export class CancelHandler implements Handler<Cancel> {
  readonly name = "CancelHandler";

  handle(msg: Cancel, ctx: ConnectionContext): void {
    const attachment = ctx.attachments.get(msg.request_id);
    if (attachment === undefined) {
      throw new ChatError(
        "unknown_request",
        `No running stream has request_id "${msg.request_id}" on this connection` +
          " (resume it first to cancel it from here)",
      );
    }
    attachment.cancel();
  }
}
