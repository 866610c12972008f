/**
 * Stable error codes, decided once for both doors: the WebSocket `error`
 * event carries `code` and its OpenAI-style category (`type`); the REST API
 * answers with the code's HTTP status. Codes never change once shipped;
 * `docs/PROTOCOL.md` lists every one (a test checks it).
 */
export const ERROR_CODES = {
  invalid_json: ["invalid_request_error", 400, "The frame is not valid JSON"],
  invalid_message: ["invalid_request_error", 400, "The JSON value is not an object"],
  missing_type: ["invalid_request_error", 400, "`type` is missing, empty or not a string"],
  unknown_message_type: ["invalid_request_error", 400, "No handler for this `type`"],
  validation_error: ["invalid_request_error", 400, "A field has the wrong type or value"],
  binary_not_supported: ["invalid_request_error", 400, "Binary frames are not accepted"],
  message_too_large: [
    "invalid_request_error",
    413,
    "Inbound frame over the size limit (then close 1009)",
  ],
  mailbox_full: ["rate_limit_error", 429, "Too many messages queued on this connection"],
  too_many_messages: ["rate_limit_error", 429, "Per-connection message rate exceeded"],
  too_many_streams: ["rate_limit_error", 429, "Concurrent streams per connection exceeded"],
  too_many_connections: [
    "rate_limit_error",
    503,
    "The server is at WS_MAX_CONNECTIONS (after `auth`: then close 1013)",
  ],
  duplicate_request_id: [
    "invalid_request_error",
    409,
    "A stream with this `request_id` is running",
  ],
  unknown_request: ["invalid_request_error", 404, "`cancel` names no running stream"],
  resume_unavailable: [
    "invalid_request_error",
    404,
    "The generation to resume is unknown, expired, or the token does not match",
  ],
  empty_transcript: [
    "invalid_request_error",
    400,
    "`audio_input` with `respond`: no speech was recognised",
  ],
  stream_lost: [
    "server_error",
    502,
    "The node running the reply went away; what it logged was delivered",
  ],
  too_many_subscribers: [
    "rate_limit_error",
    429,
    "The generation already has STREAM_MAX_SUBSCRIBERS subscribers",
  ],
  auth_required: ["authentication_error", 401, "Send an `auth` frame first"],
  auth_failed: ["authentication_error", 401, "The token is not valid"],
  personality_not_found: ["invalid_request_error", 400, "Unknown `personality_id`"],
  response_too_large: ["server_error", 500, "An outbound event would exceed the size limit"],
  server_shutting_down: ["server_error", 503, "The server is shutting down"],
  rate_limited: ["rate_limit_error", 429, "The model provider rate-limited the request (HTTP 429)"],
  upstream_timeout: ["server_error", 504, "The model provider did not answer in time"],
  upstream_error: ["server_error", 502, "The model provider failed or returned bad data"],
  upstream_invalid_request: [
    "invalid_request_error",
    400,
    "The model provider refused the request (HTTP 4xx: unknown model, prompt too long, bad parameter); REST answers with the provider's own status",
  ],
  upstream_auth_error: [
    "authentication_error",
    401,
    "The model provider refused yychat's credentials (HTTP 401/403): the server's OPENAI_API_KEY; REST answers with the provider's status",
  ],
  cancelled: ["server_error", 499, "The request was cancelled"],
  internal_error: ["server_error", 500, "Unexpected server fault (the socket stays open)"],
  audio_engine_unavailable: [
    "server_error",
    503,
    "The speech engine is not installed or not configured (the rest of the server works)",
  ],
  audio_engine_error: ["server_error", 502, "A speech engine failed, timed out or sent bad output"],
  invalid_audio: ["invalid_request_error", 400, "The audio is not audio, truncated or malformed"],
  empty_audio: ["invalid_request_error", 400, "The audio holds no samples"],
  unsupported_audio_format: [
    "invalid_request_error",
    400,
    "The audio's container or encoding is not accepted",
  ],
  unsupported_sample_rate: [
    "invalid_request_error",
    400,
    "The audio's sample rate is not accepted",
  ],
  audio_too_large: ["invalid_request_error", 413, "The audio is over `STT_MAX_AUDIO_BYTES`"],
  unsupported_response_format: [
    "invalid_request_error",
    400,
    "The engine cannot produce this `response_format`",
  ],
  voice_not_found: ["invalid_request_error", 400, "Unknown `voice`"],
  unsupported_language: [
    "invalid_request_error",
    400,
    "The speech engine cannot handle this `language`",
  ],
  memory_unavailable: [
    "server_error",
    503,
    "Conversation memory cannot be read or written (its database is down)",
  ],
} as const satisfies Record<string, readonly [ErrorType, number, string]>;

/** OpenAI-style error category carried in `error.type`. */
export type ErrorType =
  | "invalid_request_error"
  | "authentication_error"
  | "rate_limit_error"
  | "server_error";

/** Closed union of every stable error code. */
export type ErrorCode = keyof typeof ERROR_CODES;

/** The category of `code`. */
export function errorTypeOf(code: ErrorCode): ErrorType {
  return ERROR_CODES[code][0];
}

/** The HTTP status a REST answer with `code` gets. */
export function httpStatusOf(code: ErrorCode): number {
  return ERROR_CODES[code][1];
}

/**
 * The one error type carrying a stable code, thrown by the engine, the
 * generation layer and handlers alike; each door turns it into its own
 * answer (`error` event, or an OpenAI-shaped HTTP error).
 */
export class ChatError extends Error {
  override name = "ChatError";
  /** HTTP status for REST when it is not the code's (an upstream 4xx keeps its own). */
  readonly status: number | undefined;
  /** Seconds the client should wait before retrying (an upstream 429's `Retry-After`). */
  readonly retryAfterSeconds: number | undefined;
  /** The request field the error is about (an upstream 400's `param`). */
  readonly param: string | undefined;
  /** The provider's own error code (`context_length_exceeded`, `model_not_found` …). */
  readonly upstreamCode: string | undefined;

  constructor(readonly code: ErrorCode, message: string, options?: ChatErrorOptions) {
    super(message, options);
    this.status = options?.status;
    this.retryAfterSeconds = options?.retryAfterSeconds;
    this.param = options?.param;
    this.upstreamCode = options?.upstreamCode;
  }
}

/** What a {@linkcode ChatError} may carry besides its code and message. */
export interface ChatErrorOptions extends ErrorOptions {
  status?: number;
  retryAfterSeconds?: number;
  param?: string;
  upstreamCode?: string;
}
