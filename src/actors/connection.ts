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
import { Attachments } from "../generations/attachments.ts";
import { INVALID_MESSAGE_TYPE, YychatMetrics } from "../observability/yychat_metrics.ts";

/** Longest `error.message` sent when an error event would exceed the size limit. */
const MAX_ERROR_MESSAGE_CHARS = 1024;

export type ConnectionStatus = "connecting" | "open" | "closing" | "closed";

export interface ConnectionLimits {
  /** Largest inbound frame. */
  maxMessageBytes: number;
  /** Largest outbound event (a separate limit, so whole replies reach their client). */
  maxOutboundBytes: number;
  /** Inbound frames per second (token bucket, burst = 2 s worth); 0 turns the limit off. */
  messagesPerSecond: number;
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
  /** The client's address (per-address limits, logs). */
  address: string;
  /** Principal already proven at upgrade time (header or subprotocol), if any. */
  principal: string | undefined;
  /** Whether an `auth` frame must come first (a key is configured and none was given). */
  authRequired: boolean;
  /** Told of each inbound frame (statistics). */
  onFrame(): void;
  /**
   * Asked when a pending connection proves its key: whether it may take a
   * connection slot now (false: it is refused with 1013).
   */
  onAuthenticated(conn: Connection): Promise<boolean>;
  /** Messages by type and errors sent are counted here (default: a registry of its own). */
  metrics?: YychatMetrics;
  /** Told once, when the connection has stopped and released everything. */
  onStopped(conn: Connection, code: number, reason: string): void;
}

export class Connection implements ConnectionContext {
  readonly clientId: string;
  readonly address: string;
  /** The replies this connection is subscribed to; a disconnect only detaches them. */
  readonly attachments = new Attachments();
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
  readonly #onAuthenticated: ConnectionOptions["onAuthenticated"];
  readonly #onStopped: ConnectionOptions["onStopped"];
  /** Inbound rate limit: tokens left, when they were counted, frames refused in a row. */
  #tokens: number;
  #tokensAtMs: number;
  #refusedInARow = 0;
  readonly #metrics: YychatMetrics;
  #status: ConnectionStatus = "connecting";
  #principal: string | undefined;
  #busy = false;
  #authTimer: TimerId | undefined;
  #authRequired: boolean;
  #closeSent: { code: number; reason: string } | undefined;

  constructor(options: ConnectionOptions) {
    this.clientId = options.clientId;
    this.address = options.address;
    this.#socket = options.socket;
    this.#router = options.router;
    this.#clock = options.clock;
    this.#logger = options.logger;
    this.#limits = options.limits;
    this.#principal = options.principal;
    this.#authRequired = options.authRequired;
    this.#onFrame = options.onFrame;
    this.#onAuthenticated = options.onAuthenticated;
    this.#onStopped = options.onStopped;
    this.#tokens = burstOf(options.limits.messagesPerSecond);
    this.#metrics = options.metrics ?? new YychatMetrics();
    this.#mailbox = new Mailbox({ capacity: options.limits.mailboxCapacity, overflow: "reject" });
    this.#idSuffix = `,"client_id":${JSON.stringify(options.clientId)}}`;
    this.openedAtMs = this.lastSeenMs = this.#tokensAtMs = options.clock.now();

    const socket = options.socket;
    socket.onopen = () => this.#onOpen();
    socket.onmessage = (ev) => this.#onMessage(ev.data);
    // A close we started is logged with our code and reason, whatever the peer answered.
    socket.onclose = (ev) =>
      this.stop(
        this.#closeSent?.code ?? ev.code,
        this.#closeSent?.reason ?? (ev.reason || "closed by peer"),
      );
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

  /**
   * Marks the connection authenticated as `principal`, if a connection slot
   * is free; otherwise tells the client (`too_many_connections`), closes with
   * 1013 and returns false.
   */
  async authenticate(principal: string): Promise<boolean> {
    if (this.#authTimer !== undefined) this.#clock.clearTimeout(this.#authTimer);
    this.#authTimer = undefined;
    if (this.#principal === undefined && this.#authRequired && !await this.#onAuthenticated(this)) {
      sendError(
        this,
        new ChatError(
          "too_many_connections",
          "Too many connections: the server is at its connection limit, try again later",
        ),
      );
      this.close(CloseCode.tryAgainLater, "server at its connection limit");
      return false;
    }
    this.#principal = principal;
    return true;
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
    const limit = this.#limits.maxOutboundBytes;
    if (utf8LengthExceeds(json, limit - 128)) {
      if (body.type === "error") {
        // Every error reaches its client: an oversized message is cut, not dropped.
        const { message } = body.error;
        // Up to 3 UTF-8 bytes per character; the rest of the event is bounded (ids ≤ 128).
        const keep = Math.min(MAX_ERROR_MESSAGE_CHARS, Math.floor((limit - 512) / 3));
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
          `Cannot send "${body.type}": it exceeds the outbound size limit (${limit} bytes)`,
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
    this.#closeSent = { code, reason };
    this.closingSinceMs = this.#clock.now();
    this.#controller.abort(new ChatError("cancelled", `Connection closing: ${reason}`));
    this.#mailbox.close();
    this.attachments.detachAll("disconnect");
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
    this.attachments.detachAll("disconnect");
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
    // Every frame counts, before any decoding: undecodable ones too.
    if (!this.#withinRate()) return;
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

  /**
   * The inbound rate limit (token bucket). A frame over it is answered with
   * `too_many_messages` and dropped; a client that goes on sending for
   * another burst's worth of refused frames is closed with 4003.
   */
  #withinRate(): boolean {
    const perSecond = this.#limits.messagesPerSecond;
    if (perSecond === 0) return true;
    const now = this.lastSeenMs;
    const burst = burstOf(perSecond);
    this.#tokens = Math.min(burst, this.#tokens + (now - this.#tokensAtMs) * perSecond / 1000);
    this.#tokensAtMs = now;
    if (this.#tokens >= 1) {
      this.#tokens -= 1;
      this.#refusedInARow = 0;
      return true;
    }
    if (++this.#refusedInARow > burst) {
      this.close(CloseCode.tooManyMessages, "too many messages");
      return false;
    }
    sendError(
      this,
      new ChatError(
        "too_many_messages",
        `Too many messages: the limit is ${perSecond} per second per connection`,
      ),
    );
    return false;
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

/** Frames a connection may send at once: two seconds' worth. */
function burstOf(messagesPerSecond: number): number {
  return Math.max(1, messagesPerSecond * 2);
}
