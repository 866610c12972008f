/**
 * REST errors: an {@linkcode HttpError} thrown anywhere inside a route
 * becomes one OpenAI-shaped error response; a {@linkcode ChatError} gets the
 * HTTP status its code has in the one table of `src/core/errors.ts`, so the
 * WebSocket and REST doors (and the docs) never disagree.
 */
import { ChatError, type ErrorCode, errorTypeOf, httpStatusOf } from "../../core/errors.ts";
import { errorResponse, type HttpErrorType } from "../responses.ts";

/**
 * Codes only the HTTP door answers with (the shared table is
 * `src/core/errors.ts`; docs/REST.md and docs/PROTOCOL.md list them). The
 * error metrics count these by name and any other code as `other`; a test
 * checks every `code:` the server sends is in one of the two lists.
 */
export const HTTP_ERROR_CODES = [
  "host_not_allowed",
  "invalid_api_key",
  "invalid_request",
  "invalid_upgrade",
  "method_not_allowed",
  "model_not_found",
  "not_found",
  "origin_not_allowed",
  "request_too_large",
  "too_many_connections_per_ip",
  "too_many_pending_auth",
  "tool_error",
  "tool_not_found",
  "tool_timeout",
  "unsupported_media_type",
  "upgrade_required",
] as const;

/** A failure a route reports to the client with `status`; thrown, caught by the router. */
export class HttpError extends Error {
  override name = "HttpError";
  constructor(
    readonly status: number,
    message: string,
    readonly options: {
      code?: string | null;
      param?: string | null;
      type?: HttpErrorType;
      upstreamCode?: string | null;
      headers?: HeadersInit;
    } = {},
  ) {
    super(message);
  }

  /** The OpenAI-shaped response for this error. */
  toResponse(): Response {
    return errorResponse(this.status, this.message, this.options);
  }
}

/** The `param` a coded error is about, when there is one. */
function paramOf(code: ErrorCode): string | null {
  if (code === "personality_not_found") return "personality_id";
  if (code === "validation_error") return "messages";
  return null;
}

/**
 * Maps coded failures through the one status table (`httpStatusOf`), or
 * the status the error carries (an upstream 4xx keeps the provider's own),
 * with `Retry-After` when the error says how long to wait; an internal
 * error, coded or not, is a 500 whose details stay in the server log (the
 * client gets the request id in `x-request-id` to quote).
 */
export function toHttpError(err: unknown): HttpError {
  if (err instanceof HttpError) return err;
  if (err instanceof ChatError && err.code !== "internal_error") {
    return new HttpError(err.status ?? httpStatusOf(err.code), err.message, {
      code: err.code,
      type: errorTypeOf(err.code),
      param: err.param ?? paramOf(err.code),
      upstreamCode: err.upstreamCode ?? null,
      ...(err.retryAfterSeconds === undefined
        ? {}
        : { headers: { "retry-after": String(err.retryAfterSeconds) } }),
    });
  }
  return new HttpError(500, "Internal server error", { code: "internal_error" });
}
