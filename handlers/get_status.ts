import type { GetStatus, StatusData } from "../src/protocol/messages.ts";
import { type ConnectionContext, echoRequestId, type Handler } from "../src/router/router.ts";

/** `get_status` → `status_response` with the supervisor's statistics. */
export class GetStatusHandler implements Handler<GetStatus> {
  readonly name = "GetStatusHandler";
  readonly #stats: () => StatusData;

  constructor(stats: () => StatusData) {
    this.#stats = stats;
  }

  handle(msg: GetStatus, ctx: ConnectionContext): void {
    ctx.send(echoRequestId(msg, { type: "status_response", data: this.#stats() }));
  }
}
