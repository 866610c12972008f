/**
 * Connection actor: one per WebSocket. Owns the socket, validates every
 * inbound frame once (size, JSON, type, zod schema), queues typed messages in
 * a bounded mailbox and handles them one at a time through the router.
 * Outbound events are stamped with `timestamp` and `client_id` here, and a
 * client that leaves too much unread is closed as a slow consumer instead of
 * being buffered without limit.
 */
import type { Logger } from "../core/logger.ts";
import { CloseCode } from "../protocol/close_codes.ts";
import { decodeFrame, utf8LengthExceeds } from "../protocol/decode.ts";
import { ChatError } from "../core/errors.ts";
import type { InboundMessage, OutboundBody } from "../protocol/messages.ts";
import type { ConnectionContext, Router } from "../router/router.ts";
import { sendError } from "../router/router.ts";
import type { Clock, TimerId } from "../core/clock.ts";
import { Mailbox } from "./mailbox.ts";
import { TaskScope } from "../core/task_scope.ts";
import { INVALID_MESSAGE_TYPE, YychatMetrics } from "../observability/yychat_metrics.ts";

/** Longest `error.message` sent when an error event would exceed the size limit. */
const MAX_ERROR_MESSAGE_CHARS = 1024;

export type ConnectionStatus = "connecting" | "open" | "closing" | "closed";

export interface ConnectionLimits {
  /** Largest inbound frame, and largest outbound event. */
  maxMessageBytes: number;
  /** Unsent bytes tolerated before closing with 4001 (slow consumer). */
  maxBufferedBytes: number;
  /** Inbound messages queued before new ones are refused. */
  mailboxCapacity: number;
  /** Time to send the `auth` frame when `authRequired`. */
  authTimeoutMs: number;
}

export interface ConnectionOptions {
  socket: WebSocket;
  clientId: string;
  router: Router;
  clock: Clock;
  logger: Logger;
  limits: ConnectionLimits;
  /** Principal already proven at upgrade time (header or subprotocol), if any. */
  principal: string | undefined;
  /** Whether an `auth` frame must come first (a key is configured and none was given). */
  authRequired: boolean;
  /** Told of each inbound frame (statistics). */
  onFrame(): void;
  /** Messages by type and errors sent are counted here (default: a registry of its own). */
  metrics?: YychatMetrics;
  /** Told once, when the connection has stopped and released everything. */
  onStopped(conn: Connection, code: number, reason: string): void;
}

export class Connection implements ConnectionContext {
  readonly clientId: string;
  readonly tasks: TaskScope;
  readonly openedAtMs: number;
  /** Clock time of the last inbound frame (any frame refreshes liveness). */
  lastSeenMs: number;
  /** Clock time `close()` was called, for the supervisor's reconciliation. */
  closingSinceMs = 0;

  readonly #socket: WebSocket;
  readonly #router: Router;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #limits: ConnectionLimits;
  readonly #mailbox: Mailbox<InboundMessage>;
  readonly #controller = new AbortController();
  readonly #idSuffix: string;
  readonly #onFrame: () => void;
  readonly #onStopped: ConnectionOptions["onStopped"];
  readonly #metrics: YychatMetrics;
  #status: ConnectionStatus = "connecting";
  #principal: string | undefined;
  #busy = false;
  #authTimer: TimerId | undefined;
  #authRequired: boolean;

  constructor(options: ConnectionOptions) {
    this.clientId = options.clientId;
    this.#socket = options.socket;
    this.#router = options.router;
    this.#clock = options.clock;
    this.#logger = options.logger;
    this.#limits = options.limits;
    this.#principal = options.principal;
    this.#authRequired = options.authRequired;
    this.#onFrame = options.onFrame;
    this.#onStopped = options.onStopped;
    this.#metrics = options.metrics ?? new YychatMetrics();
    this.#mailbox = new Mailbox({ capacity: options.limits.mailboxCapacity, overflow: "reject" });
    this.tasks = new TaskScope(this.#controller.signal);
    this.#idSuffix = `,"client_id":${JSON.stringify(options.clientId)}}`;
    this.openedAtMs = this.lastSeenMs = options.clock.now();

    const socket = options.socket;
    socket.onopen = () => this.#onOpen();
    socket.onmessage = (ev) => this.#onMessage(ev.data);
    socket.onclose = (ev) => this.stop(ev.code, ev.reason || "closed by peer");
    socket.onerror = (ev) => {
      this.#logger.debug("ws_error", {
        client_id: this.clientId,
        error: (ev as ErrorEvent).message,
      });
    };
  }

  get status(): ConnectionStatus {
    return this.#status;
  }

  get principal(): string {
    return this.#principal ?? "";
  }

  get authenticated(): boolean {
    return !this.#authRequired || this.#principal !== undefined;
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** The socket's `readyState`, for the supervisor's reconciliation. */
  get readyState(): number {
    return this.#socket.readyState;
  }

  /** Bytes sent but not yet written to the network. */
  get bufferedAmount(): number {
    return this.#socket.bufferedAmount;
  }

  authenticate(principal: string): void {
    this.#principal = principal;
    if (this.#authTimer !== undefined) this.#clock.clearTimeout(this.#authTimer);
    this.#authTimer = undefined;
  }

  /**
   * Sends one event, adding `timestamp` and `client_id`. Returns false when
   * the socket is not open or the client is too slow (it is then closed).
   */
  send(body: OutboundBody): boolean {
    const socket = this.#socket;
    if (socket.readyState !== WebSocket.OPEN || this.#status !== "open") return false;
    if (socket.bufferedAmount > this.#limits.maxBufferedBytes) {
      this.close(CloseCode.slowConsumer, "slow consumer: too much unread data");
      return false;
    }
    const json = JSON.stringify(body);
    if (utf8LengthExceeds(json, this.#limits.maxMessageBytes - 128)) {
      if (body.type === "error") {
        // Every error reaches its client: an oversized message is cut, not dropped.
        const { message } = body.error;
        // Up to 3 UTF-8 bytes per character; the rest of the event is bounded (ids ≤ 128).
        const keep = Math.min(
          MAX_ERROR_MESSAGE_CHARS,
          Math.floor((this.#limits.maxMessageBytes - 512) / 3),
        );
        if (message.length <= keep) return false; // cannot happen: the rest is bounded
        return this.send({
          ...body,
          error: { ...body.error, message: `${message.slice(0, keep)}…` },
        });
      }
      this.#logger.warn("ws_event_too_large", { client_id: this.clientId, type: body.type });
      sendError(
        this,
        new ChatError(
          "response_too_large",
          `Cannot send "${body.type}": it exceeds the message size limit (${this.#limits.maxMessageBytes} bytes)`,
        ),
        body.request_id,
      );
      return false;
    }
    // Counted where every error event of the WebSocket door goes out, whoever sent it.
    if (body.type === "error") this.#metrics.error(body.error.code);
    // `body` is a non-empty object: splice the stamp in before its closing brace.
    socket.send(`${json.slice(0, -1)},"timestamp":${this.#clock.now() / 1000}${this.#idSuffix}`);
    return true;
  }

  /** Starts the close handshake; `stop` follows when the socket has closed. */
  close(code: number, reason: string): void {
    if (this.#status === "closing" || this.#status === "closed") return;
    this.#status = "closing";
    this.closingSinceMs = this.#clock.now();
    this.#controller.abort(new ChatError("cancelled", `Connection closing: ${reason}`));
    this.#mailbox.close();
    try {
      this.#socket.close(code, reason);
    } catch {
      // Already closed underneath: the supervisor's reconciliation stops it.
    }
  }

  /**
   * Releases everything the connection holds: cancels its streams, drops its
   * mailbox and timers, and tells the supervisor. Idempotent.
   */
  stop(code: number = CloseCode.normal, reason = "stopped"): void {
    if (this.#status === "closed") return;
    this.#status = "closed";
    this.#controller.abort(new ChatError("cancelled", `Connection closed: ${reason}`));
    this.#mailbox.close();
    if (this.#authTimer !== undefined) this.#clock.clearTimeout(this.#authTimer);
    this.#authTimer = undefined;
    const socket = this.#socket;
    socket.onopen =
      socket.onmessage =
      socket.onclose =
      socket.onerror =
        null;
    if (socket.readyState === WebSocket.OPEN) {
      try {
        socket.close(code, reason);
      } catch { /* closed underneath */ }
    }
    this.#onStopped(this, code, reason);
  }

  #onOpen(): void {
    if (this.#status !== "connecting") return;
    this.#status = "open";
    const authRequired = !this.authenticated;
    this.send({
      type: "connection_established",
      message: authRequired
        ? 'Connected to yychat. Send {"type":"auth","token":"..."} first.'
        : "Connected to yychat",
      ...(authRequired ? { auth_required: true } : {}),
    });
    if (authRequired) {
      this.#authTimer = this.#clock.setTimeout(() => {
        this.#authTimer = undefined;
        if (!this.authenticated) this.close(CloseCode.authTimeout, "authentication timeout");
      }, this.#limits.authTimeoutMs);
    }
  }

  #onMessage(data: unknown): void {
    if (this.#status !== "open") return;
    this.lastSeenMs = this.#clock.now();
    this.#onFrame();
    const limit = this.#limits.maxMessageBytes;
    const messages = this.#metrics.wsMessages;
    if (typeof data !== "string") {
      messages.labels(INVALID_MESSAGE_TYPE).inc();
      const size = data instanceof ArrayBuffer
        ? data.byteLength
        : data instanceof Blob
        ? data.size
        : 0;
      if (size > limit) return this.#tooLarge(size);
      sendError(
        this,
        new ChatError(
          "binary_not_supported",
          "Binary frames are not supported: send JSON text",
        ),
      );
      return;
    }
    if (utf8LengthExceeds(data, limit)) {
      messages.labels(INVALID_MESSAGE_TYPE).inc();
      return this.#tooLarge(undefined);
    }
    const decoded = decodeFrame(data, this.#router.has);
    // Only decoded types are labels: an unknown type is `invalid`, never the client's string.
    messages.labels(decoded.ok ? decoded.msg.type : INVALID_MESSAGE_TYPE).inc();
    if (!decoded.ok) {
      sendError(this, new ChatError(decoded.code, decoded.message), decoded.requestId);
      return;
    }
    if (!this.#mailbox.trySend(decoded.msg)) {
      sendError(
        this,
        new ChatError(
          "mailbox_full",
          `Cannot enqueue "${decoded.msg.type}": mailbox is full (capacity ${this.#mailbox.capacity})`,
        ),
        decoded.msg.request_id,
      );
      return;
    }
    if (!this.#busy) this.#drain();
  }

  #tooLarge(size: number | undefined): void {
    const limit = this.#limits.maxMessageBytes;
    sendError(
      this,
      new ChatError(
        "message_too_large",
        `Message too large: ${
          size === undefined ? "over" : `${size} bytes, over`
        } the limit of ${limit} bytes`,
      ),
    );
    this.close(CloseCode.messageTooBig, "message too large");
  }

  /**
   * Handles queued messages one at a time (non-reentrant). Synchronous
   * handlers run back to back without a promise; an asynchronous one is
   * awaited before the next message.
   */
  #drain(): void {
    this.#busy = true;
    for (;;) {
      const msg = this.#mailbox.take();
      if (msg === undefined) break;
      const pending = this.#router.dispatch(msg, this);
      if (pending !== undefined) {
        pending.finally(() => this.#drain());
        return;
      }
    }
    this.#busy = false;
  }
}
