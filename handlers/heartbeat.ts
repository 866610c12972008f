import type { Heartbeat } from "../src/protocol/messages.ts";
import { type ConnectionContext, echoRequestId, type Handler } from "../src/router/router.ts";

/** `heartbeat` → `heartbeat_response` (liveness is refreshed by any frame). */
export class HeartbeatHandler implements Handler<Heartbeat> {
  readonly name = "HeartbeatHandler";

  handle(msg: Heartbeat, ctx: ConnectionContext): void {
    ctx.send(echoRequestId(msg, { type: "heartbeat_response" }));
  }
}
