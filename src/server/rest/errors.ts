/**
 * REST errors: an {@linkcode HttpError} thrown anywhere inside a route
 * becomes one OpenAI-shaped error response; a {@linkcode ChatError} gets the
 * HTTP status its code has in the one table of `src/core/errors.ts`, so the
 * WebSocket and REST doors (and the docs) never disagree.
 */
import { ChatError, type ErrorCode, errorTypeOf, httpStatusOf } from "../../core/errors.ts";
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

/** The `param` a coded error is about, when there is one. */
function paramOf(code: ErrorCode): string | null {
  if (code === "personality_not_found") return "personality_id";
  if (code === "validation_error") return "messages";
  return null;
}

/**
 * Maps coded failures through the one status table (`httpStatusOf`); an
 * internal error, coded or not, is a 500 whose details stay in the server
 * log (the client gets the request id in `x-request-id` to quote).
 */
export function toHttpError(err: unknown): HttpError {
  if (err instanceof HttpError) return err;
  if (err instanceof ChatError && err.code !== "internal_error") {
    return new HttpError(httpStatusOf(err.code), err.message, {
      code: err.code,
      type: errorTypeOf(err.code),
      param: paramOf(err.code),
    });
  }
  return new HttpError(500, "Internal server error", { code: "internal_error" });
}
