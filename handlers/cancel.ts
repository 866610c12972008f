import type { Cancel } from "../src/protocol/messages.ts";
import { ChatError } from "../src/core/errors.ts";
import type { ConnectionContext, Handler } from "../src/router/router.ts";

/**
 * `cancel{request_id}`: aborts that stream (provider request and tool calls
 * included). The stream itself answers, with
 * `stream_end{finish_reason:"cancelled"}`.
 */
export class CancelHandler implements Handler<Cancel> {
  readonly name = "CancelHandler";

  handle(msg: Cancel, ctx: ConnectionContext): void {
    if (
      !ctx.tasks.cancel(msg.request_id, new ChatError("cancelled", "Cancelled by the client"))
    ) {
      throw new ChatError(
        "unknown_request",
        `No running stream has request_id "${msg.request_id}"`,
      );
    }
  }
}
