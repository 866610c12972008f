/**
 * Stable error codes (`docs/PROTOCOL.md`, the REST API and this page's own
 * client) as sentences a person understands. The code itself stays visible,
 * small, next to the sentence, so it can be searched or reported.
 * `tests/web/error_text_test.ts` checks that every code of
 * `src/core/errors.ts` has a sentence here.
 * @module
 */

/** @type {Readonly<Record<string, string>>} */
export const ERROR_SENTENCES = Object.freeze({
  // WebSocket protocol (src/core/errors.ts)
  invalid_json: "The page sent something the server could not read. Reload the page and try again.",
  invalid_message: "The page sent a malformed message. Reload the page and try again.",
  missing_type: "The page sent a message without a type. Reload the page and try again.",
  unknown_message_type:
    "The server does not know this kind of message; it may be an older version.",
  validation_error: "The server refused the message: one of its fields is not valid.",
  binary_not_supported: "The server only accepts text messages.",
  message_too_large: "That message is too long for the server. Shorten it and send again.",
  mailbox_full: "Too many messages at once. Wait a moment, then send again.",
  too_many_messages: "You are sending messages too fast. Wait a moment, then send again.",
  too_many_streams: "Too many replies are running at the same time. Wait for one to finish.",
  duplicate_request_id: "This reply is already running.",
  unknown_request: "That reply has already finished.",
  auth_required: "This server needs an API key. Enter it with the Key button.",
  auth_failed: "The server did not accept your API key. Check it and enter it again.",
  personality_not_found:
    "The chosen personality does not exist on this server any more. Pick another.",
  response_too_large: "The reply was too large to deliver. Ask for a shorter answer.",
  server_shutting_down: "The server is restarting. The page reconnects by itself.",
  rate_limited: "The model provider is rate-limiting requests. Wait a little and try again.",
  upstream_timeout: "The model provider did not answer in time. Try again.",
  upstream_error: "The model provider failed to answer. Try again in a moment.",
  upstream_invalid_request:
    "The model provider refused this request (the message says why). Change it and try again.",
  upstream_auth_error:
    "The model provider did not accept the server's credentials. Tell the operator.",
  cancelled: "The reply was stopped.",
  internal_error:
    "Something went wrong on the server. Try again; if it keeps happening, tell the operator.",
  // Resumable generations and cluster mode (SPEC §9, §10)
  resume_unavailable:
    "The connection was lost and this reply can no longer be resumed. If it finished, it is saved in the conversation's memory.",
  empty_transcript:
    "No speech was recognised in the recording. Try again, closer to the microphone.",
  too_many_subscribers:
    "Too many windows are following this reply at once. Close one and try again.",
  stream_lost: "The server that was writing this reply went away. What arrived is shown.",
  memory_unavailable:
    "The conversation memory is unavailable right now. Try again without it, or later.",
  // Voice (SPEC §11)
  audio_engine_unavailable:
    "Speech is not available on this server: its speech engine is not installed or configured.",
  audio_engine_error: "The speech engine failed. Try again in a moment.",
  invalid_audio: "The recording could not be read as audio. Record again.",
  empty_audio: "The recording is empty. Record again, a little longer.",
  unsupported_audio_format: "The server cannot read this kind of recording. Record in WAV.",
  unsupported_sample_rate: "The recording's sample rate is not supported. Record again.",
  audio_too_large: "The recording is too long for the server. Record a shorter one.",
  unsupported_response_format: "The server cannot make speech in this format.",
  voice_not_found: "The chosen voice does not exist on this server. Pick another.",
  unsupported_language: "The server cannot understand speech in this language.",
  // HTTP answers
  invalid_api_key: "The server did not accept your API key. Check it and enter it again.",
  origin_not_allowed: "The server refuses requests from this page's address (origin).",
  host_not_allowed: "The server refuses requests for this host name. Open it by its usual address.",
  too_many_connections:
    "The server has too many connections right now. The page retries by itself.",
  too_many_pending_auth:
    "Too many connections are waiting to sign in right now. The page retries by itself.",
  too_many_connections_per_ip:
    "Too many connections come from your address. Close other tabs and the page retries.",
  not_found: "The server does not offer this.",
  model_not_found: "The model is not available on this server.",
  unsupported_media_type: "The server refused the request's format.",
  request_too_large: "The request is too large for the server.",
  invalid_request: "The server refused the request as invalid.",
  method_not_allowed: "The server does not allow this action here.",
  tool_not_found: "The tool does not exist on this server.",
  tool_timeout: "The tool did not answer in time.",
  tool_error: "The tool failed.",
  // This page's client (web/yychat_client.js)
  unreachable: "Cannot reach the server. The page keeps trying.",
  connect_failed: "The connection to the server failed. The page keeps trying.",
  interrupted:
    "The connection was lost before this reply could be resumed. If it finished, it is saved in the conversation's memory.",
  client_queue_full: "Too many messages are waiting for the connection. Wait until it is back.",
  invalid_url: "The server address is not valid.",
  forbidden: "The server refused access.",
  network_error: "Cannot reach the server. Check that it is running.",
});

/**
 * A sentence for `code`, falling back to the server's own `message` (or a
 * generic sentence) for codes this page does not know.
 * @param {string | undefined | null} code
 * @param {string} [message] the server's message
 * @returns {string}
 */
export function describeError(code, message) {
  if (code && Object.hasOwn(ERROR_SENTENCES, code)) return ERROR_SENTENCES[code];
  if (code?.startsWith("close_")) {
    return `The server closed the connection (${code.slice(6)})${message ? `: ${message}` : "."}`;
  }
  if (code?.startsWith("http_")) return `The server answered with HTTP ${code.slice(5)}.`;
  return message ? `Error: ${message}` : "Something went wrong.";
}

/**
 * A `<p class="error-line">`: the sentence for `code`, then the code itself,
 * small (both pages show errors this way).
 * @param {string | undefined} code
 * @param {string} [message] the server's message
 * @returns {HTMLParagraphElement}
 */
export function errorLine(code, message) {
  const p = document.createElement("p");
  p.className = "error-line";
  p.append(describeError(code, message));
  if (code) {
    const c = document.createElement("code");
    c.className = "error-code";
    c.textContent = code;
    p.append(" ", c);
  }
  return p;
}
