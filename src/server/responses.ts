/** JSON responses, and errors in OpenAI's top-level shape. */

/** The `error.code` of each response built by `errorResponse` (read by the error metrics). */
const ERROR_CODE_OF = new WeakMap<Response, string>();

/** The stable code of an error response built here, or undefined for any other response. */
export function errorCodeOf(response: Response): string | undefined {
  return ERROR_CODE_OF.get(response);
}

const JSON_HEADERS = { "content-type": "application/json; charset=utf-8" };

export function json(body: unknown, status = 200, headers?: HeadersInit): Response {
  if (headers === undefined) {
    return new Response(JSON.stringify(body), { status, headers: JSON_HEADERS });
  }
  if (!(headers instanceof Headers) && !Array.isArray(headers)) {
    return new Response(JSON.stringify(body), { status, headers: { ...JSON_HEADERS, ...headers } });
  }
  const h = new Headers(JSON_HEADERS);
  new Headers(headers).forEach((v, k) => h.set(k, v));
  return new Response(JSON.stringify(body), { status, headers: h });
}

export type HttpErrorType =
  | "invalid_request_error"
  | "authentication_error"
  | "not_found_error"
  | "rate_limit_error"
  | "server_error";

/** `{"error":{"message","type","param","code"}}` with `status`. */
export function errorResponse(
  status: number,
  message: string,
  options: {
    type?: HttpErrorType;
    code?: string | null;
    param?: string | null;
    /** The model provider's own code, when the error is the provider's (`upstream_code`). */
    upstreamCode?: string | null;
    headers?: HeadersInit;
  } = {},
): Response {
  const type = options.type ?? defaultType(status);
  const error: Record<string, unknown> = {
    message,
    type,
    param: options.param ?? null,
    code: options.code ?? null,
  };
  if (options.upstreamCode) error.upstream_code = options.upstreamCode;
  const response = json({ error }, status, options.headers);
  if (options.code) ERROR_CODE_OF.set(response, options.code);
  return response;
}

function defaultType(status: number): HttpErrorType {
  if (status === 401) return "authentication_error";
  if (status === 404) return "not_found_error";
  if (status === 429) return "rate_limit_error";
  if (status >= 500) return "server_error";
  return "invalid_request_error";
}
