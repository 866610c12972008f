/**
 * Stable error codes of the WebSocket protocol (`error.code`) and their
 * OpenAI-style category (`error.type`). Codes never change once shipped;
 * `docs/PROTOCOL.md` lists every one (a test checks it).
 */
export const ERROR_CODES = {
  invalid_json: ["invalid_request_error", "The frame is not valid JSON"],
  invalid_message: ["invalid_request_error", "The JSON value is not an object"],
  missing_type: ["invalid_request_error", "`type` is missing, empty or not a string"],
  unknown_message_type: ["invalid_request_error", "No handler for this `type`"],
  validation_error: ["invalid_request_error", "A field has the wrong type or value"],
  binary_not_supported: ["invalid_request_error", "Binary frames are not accepted"],
  message_too_large: [
    "invalid_request_error",
    "Inbound frame over the size limit (then close 1009)",
  ],
  mailbox_full: ["rate_limit_error", "Too many messages queued on this connection"],
  too_many_messages: ["rate_limit_error", "Per-connection message rate exceeded"],
  too_many_streams: ["rate_limit_error", "Concurrent streams per connection exceeded"],
  duplicate_request_id: ["invalid_request_error", "A stream with this `request_id` is running"],
  unknown_request: ["invalid_request_error", "`cancel` names no running stream"],
  auth_required: ["authentication_error", "Send an `auth` frame first"],
  auth_failed: ["authentication_error", "The token is not valid"],
  personality_not_found: ["invalid_request_error", "Unknown `personality_id`"],
  response_too_large: ["server_error", "An outbound event would exceed the size limit"],
  server_shutting_down: ["server_error", "The server is shutting down"],
  rate_limited: ["rate_limit_error", "The model provider rate-limited the request (HTTP 429)"],
  upstream_timeout: ["server_error", "The model provider did not answer in time"],
  upstream_error: ["server_error", "The model provider failed or returned bad data"],
  cancelled: ["server_error", "The request was cancelled"],
  internal_error: ["server_error", "Unexpected server fault (the socket stays open)"],
} as const satisfies Record<string, readonly [ErrorType, string]>;

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

/** An error carrying a stable protocol code; handlers throw it to answer with `error`. */
export class ProtocolError extends Error {
  override name = "ProtocolError";
  constructor(readonly code: ErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
  }
}
