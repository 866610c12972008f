import type { Ping } from "../src/protocol/messages.ts";
import { type ConnectionContext, echoRequestId, type Handler } from "../src/router/router.ts";

/** `ping` → `pong`. */
export class PingHandler implements Handler<Ping> {
  readonly name = "PingHandler";

  handle(msg: Ping, ctx: ConnectionContext): void {
    ctx.send(echoRequestId(msg, { type: "pong" }));
  }
}
