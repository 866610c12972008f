import type { Auth } from "../src/protocol/messages.ts";
import { CloseCode } from "../src/protocol/close_codes.ts";
import { ChatError } from "../src/core/errors.ts";
import {
  type ConnectionContext,
  echoRequestId,
  type Handler,
  sendError,
} from "../src/router/router.ts";
import type { ApiKeys } from "../src/security/api_keys.ts";

/**
 * `{type:"auth", token}`: the first frame of a client that could not send its
 * key in a header or subprotocol. A wrong token is answered with
 * `auth_failed` and close 4500; a right one when the server is at its
 * connection limit with `too_many_connections` and close 1013.
 */
export class AuthHandler implements Handler<Auth> {
  readonly name = "AuthHandler";
  readonly #keys: ApiKeys;

  constructor(keys: ApiKeys) {
    this.#keys = keys;
  }

  async handle(msg: Auth, ctx: ConnectionContext): Promise<void> {
    if (!this.#keys.required) {
      ctx.send(echoRequestId(msg, { type: "auth_ok" }));
      return;
    }
    const principal = this.#keys.verify(msg.token);
    if (principal === undefined) {
      sendError(
        ctx,
        new ChatError("auth_failed", "Authentication failed: invalid token"),
        msg.request_id,
      );
      ctx.close(CloseCode.unauthorized, "authentication failed");
      return;
    }
    if (await ctx.authenticate(principal)) ctx.send(echoRequestId(msg, { type: "auth_ok" }));
  }
}
