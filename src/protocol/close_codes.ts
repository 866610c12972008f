/**
 * WebSocket close codes the server uses. 4000–4499: the client may
 * reconnect (with backoff); 4500–4999: terminal, reconnecting with the same
 * credentials fails again. `docs/PROTOCOL.md` holds the table.
 */
export const CloseCode = {
  /** Normal closure (client or server finished). */
  normal: 1000,
  /** Server shutting down: reconnect later. */
  goingAway: 1001,
  /** Inbound frame over `WS_MESSAGE_SIZE_LIMIT`. */
  messageTooBig: 1009,
  /** Unexpected server fault. */
  internalError: 1011,
  /** Over `WS_MAX_CONNECTIONS`: try again later. */
  tryAgainLater: 1013,
  /** No inbound frame for `WS_CONNECTION_TIMEOUT`. */
  connectionTimeout: 4000,
  /** The client left more than `WS_MAX_BUFFERED_BYTES` unread. */
  slowConsumer: 4001,
  /**
   * No `auth` frame within `WS_AUTH_TIMEOUT`: reconnecting and sending it in
   * time works, so this is not terminal (it replaced 4501, which is retired).
   */
  authTimeout: 4002,
  /** Kept sending frames over `WS_MESSAGES_PER_SECOND` after being told. */
  tooManyMessages: 4003,
  /** Wrong or missing token. */
  unauthorized: 4500,
} as const;

export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];
