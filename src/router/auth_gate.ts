import { ChatError } from "../core/errors.ts";
import type { ConnectionContext, Middleware } from "./router.ts";

/** Serves nothing but `auth` until the connection is authenticated. */
export class AuthGate implements Middleware {
  readonly name = "AuthGate";

  check(msg: { type: string }, ctx: ConnectionContext): ChatError | undefined {
    if (ctx.authenticated || msg.type === "auth") return undefined;
    return new ChatError(
      "auth_required",
      `Authentication required: send an "auth" frame before "${msg.type}"`,
    );
  }
}
