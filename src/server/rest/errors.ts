/**
 * REST errors: an {@linkcode HttpError} thrown anywhere inside a route
 * becomes one OpenAI-shaped error response, and the single table
 * {@linkcode ENGINE_ERROR_STATUS} decides which HTTP status each stable
 * engine code gets, so chat completions (and docs) never disagree.
 */
import { EngineError, type EngineErrorCode } from "../../engine/types.ts";
import { errorResponse, type HttpErrorType } from "../responses.ts";

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

/**
 * HTTP status of each engine error code. `cancelled` only happens when the
 * client went away, so nobody reads its 499 (nginx's "client closed request").
 */
export const ENGINE_ERROR_STATUS: Record<EngineErrorCode, number> = {
  validation_error: 400,
  personality_not_found: 400,
  rate_limited: 429,
  cancelled: 499,
  internal_error: 500,
  upstream_error: 502,
  upstream_timeout: 504,
};

/** The OpenAI `error.type` for an engine code (what SDKs switch on besides the status). */
export function engineErrorType(code: EngineErrorCode): HttpErrorType {
  const status = ENGINE_ERROR_STATUS[code];
  if (status === 429) return "rate_limit_error";
  if (status >= 500) return "server_error";
  return "invalid_request_error";
}

/** The `param` an engine error is about, when there is one. */
export function engineErrorParam(code: EngineErrorCode): string | null {
  if (code === "personality_not_found") return "personality_id";
  if (code === "validation_error") return "messages";
  return null;
}

/**
 * Maps engine failures through {@linkcode ENGINE_ERROR_STATUS}; an
 * internal error, engine or not, is a 500 whose details stay in the server
 * log (the client gets the request id in `x-request-id` to quote).
 */
export function toHttpError(err: unknown): HttpError {
  if (err instanceof HttpError) return err;
  if (err instanceof EngineError && err.code !== "internal_error") {
    return new HttpError(ENGINE_ERROR_STATUS[err.code], err.message, {
      code: err.code,
      type: engineErrorType(err.code),
      param: engineErrorParam(err.code),
    });
  }
  return new HttpError(500, "Internal server error", { code: "internal_error" });
}
