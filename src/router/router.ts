/**
 * Message router: a handler registry keyed by `type` and a middleware chain.
 * Middleware runs in registration order and may reject a message, which
 * answers it with an `error` event. A handler that throws (or rejects)
 * becomes an `error` event too; the connection survives.
 */
import type { Attachments } from "../generations/attachments.ts";
import { ChatError, errorTypeOf } from "../core/errors.ts";
import type { InboundMessage, InboundType, OutboundBody } from "../protocol/messages.ts";

/** What a handler may see and do of the connection it serves. */
export interface ConnectionContext {
  readonly clientId: string;
  /** Namespace of the API key the client authenticated with ("" without auth). */
  readonly principal: string;
  /** Whether the connection may use anything beyond `auth` yet. */
  readonly authenticated: boolean;
  /** Aborted when the connection closes. */
  readonly signal: AbortSignal;
  /** The generations this connection is subscribed to (its streams). */
  readonly attachments: Attachments;
  /** Sends an event; false when the connection can no longer take it. */
  send(body: OutboundBody): boolean;
  /**
   * Marks the connection authenticated as `principal` (auth handler only).
   * False when no connection slot is free: the client was told and the
   * connection is closing.
   */
  authenticate(principal: string): Promise<boolean>;
  /** Closes the connection with a documented close code. */
  close(code: number, reason: string): void;
}

export interface Handler<M extends InboundMessage = InboundMessage> {
  /** Shown by `GET /ws/handlers`. */
  readonly name: string;
  handle(msg: M, ctx: ConnectionContext): void | Promise<void>;
}

export interface Middleware {
  /** Shown by `GET /ws/handlers`. */
  readonly name: string;
  /** Returns an error to reject `msg`, or undefined to pass it on. */
  check(msg: InboundMessage, ctx: ConnectionContext): ChatError | undefined;
}

type HandlerMap = { [K in InboundType]?: Handler<Extract<InboundMessage, { type: K }>> };

export class Router {
  readonly #handlers: HandlerMap = {};
  readonly #middleware: Middleware[] = [];
  readonly #onCrash: (err: unknown, msg: InboundMessage) => void;

  /** `onCrash` is told of unexpected handler failures (for logging). */
  constructor(onCrash: (err: unknown, msg: InboundMessage) => void = () => {}) {
    this.#onCrash = onCrash;
  }

  register<K extends InboundType>(
    type: K,
    handler: Handler<Extract<InboundMessage, { type: K }>>,
  ): this {
    if (this.#handlers[type] !== undefined) {
      throw new TypeError(`Cannot register handler "${handler.name}": "${type}" already has one`);
    }
    (this.#handlers as Record<string, unknown>)[type] = handler;
    return this;
  }

  use(middleware: Middleware): this {
    this.#middleware.push(middleware);
    return this;
  }

  /** Whether `type` has a handler. */
  has = (type: string): boolean => Object.hasOwn(this.#handlers, type);

  /** `GET /ws/handlers` payload. */
  describe(): { handlers: Record<string, string>; middleware: string[] } {
    const handlers: Record<string, string> = {};
    for (const [type, handler] of Object.entries(this.#handlers)) handlers[type] = handler!.name;
    return { handlers, middleware: this.#middleware.map((m) => m.name) };
  }

  /**
   * Routes one validated message. Returns a promise only when the handler
   * is asynchronous, so synchronous handlers (ping) cost no promise.
   */
  dispatch(msg: InboundMessage, ctx: ConnectionContext): void | Promise<void> {
    for (let i = 0; i < this.#middleware.length; i++) {
      const rejection = this.#middleware[i]!.check(msg, ctx);
      if (rejection !== undefined) {
        sendError(ctx, rejection, msg.request_id);
        return;
      }
    }
    const handler = this.#handlers[msg.type] as Handler | undefined;
    if (handler === undefined) {
      sendError(
        ctx,
        new ChatError("unknown_message_type", `Unknown message type: ${msg.type}`),
        msg.request_id,
      );
      return;
    }
    try {
      const result = handler.handle(msg, ctx);
      if (result !== undefined) return result.catch((err) => this.#fail(err, msg, ctx));
    } catch (err) {
      this.#fail(err, msg, ctx);
    }
  }

  #fail(err: unknown, msg: InboundMessage, ctx: ConnectionContext): void {
    if (err instanceof ChatError) {
      sendError(ctx, err, msg.request_id);
      return;
    }
    this.#onCrash(err, msg);
    sendError(
      ctx,
      new ChatError("internal_error", `Internal error while handling "${msg.type}"`),
      msg.request_id,
    );
  }
}

/** Sends the uniform `error` event for `err`. */
export function sendError(
  ctx: Pick<ConnectionContext, "send">,
  err: ChatError,
  requestId?: string,
): boolean {
  const body: OutboundBody = {
    type: "error",
    error: { message: err.message, type: errorTypeOf(err.code), code: err.code },
  };
  if (requestId !== undefined) body.request_id = requestId;
  return ctx.send(body);
}

/** `body` with the client's `request_id` echoed when it sent one. */
export function echoRequestId<B extends OutboundBody>(
  msg: { request_id?: string | undefined },
  body: B,
): B {
  if (msg.request_id !== undefined) (body as { request_id?: string }).request_id = msg.request_id;
  return body;
}
