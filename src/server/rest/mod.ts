/**
 * The OpenAI-compatible REST API (`/v1/*`): a small route table matched with
 * `URLPattern`. Every request is authenticated first (before its body is
 * read) when keys are configured; the key's principal becomes the memory
 * namespace. Routes throw {@linkcode HttpError}s, turned into OpenAI-shaped
 * errors here; every request gets one structured log line (method, path,
 * status, duration, request id: never keys or content).
 */
import type { LogFields } from "../../core/logger.ts";
import { errorMessage } from "../../core/spawn.ts";
import { bearerToken } from "../../security/api_keys.ts";
import type { RoutedHandler } from "../http_handler.ts";
import { errorCodeOf, errorResponse } from "../responses.ts";
import { OTHER_ROUTE, routeLabel } from "../http_metrics.ts";
import { chatCompletions, resumeCompletionStream } from "./chat_completions.ts";
import { createSpeech, createTranscription, listAudioModels, listVoices } from "./audio.ts";
import { HttpError, toHttpError } from "./errors.ts";
import {
  callMcpTool,
  callTool,
  deleteMemory,
  getMemory,
  getModel,
  getPersonality,
  listMcpServers,
  listMcpTools,
  listModels,
  listPersonalities,
  listTools,
} from "./resources.ts";
import type { RestDeps, RouteContext, RouteHandler } from "./route.ts";

export type { RestDeps, RouteContext, RouteHandler } from "./route.ts";
export { HttpError } from "./errors.ts";

interface Route {
  method: string;
  pattern: URLPattern;
  handle: RouteHandler;
  /** The pattern as a metrics label (`/v1/models/:id`). */
  label: string;
}

/** Every REST route, as data (the auth test enumerates the same list). */
export const REST_ROUTES: readonly { method: string; path: string; handle: RouteHandler }[] = [
  { method: "POST", path: "/v1/chat/completions", handle: chatCompletions },
  { method: "GET", path: "/v1/chat/completions/:id/stream", handle: resumeCompletionStream },
  { method: "GET", path: "/v1/models", handle: listModels },
  { method: "GET", path: "/v1/models/:id(.+)", handle: getModel },
  { method: "GET", path: "/v1/personalities", handle: listPersonalities },
  { method: "GET", path: "/v1/personalities/:id", handle: getPersonality },
  { method: "GET", path: "/v1/conversations/:id/memory", handle: getMemory },
  { method: "DELETE", path: "/v1/conversations/:id/memory", handle: deleteMemory },
  { method: "GET", path: "/v1/tools", handle: listTools },
  { method: "POST", path: "/v1/tools/call", handle: callTool },
  { method: "GET", path: "/v1/mcp/tools", handle: listMcpTools },
  { method: "POST", path: "/v1/mcp/call", handle: callMcpTool },
  { method: "GET", path: "/v1/mcp/servers", handle: listMcpServers },
  { method: "POST", path: "/v1/audio/transcriptions", handle: createTranscription },
  { method: "POST", path: "/v1/audio/speech", handle: createSpeech },
  { method: "GET", path: "/v1/audio/voices", handle: listVoices },
  { method: "GET", path: "/v1/audio/models", handle: listAudioModels },
];

/** {@linkcode REST_ROUTES} with their patterns compiled, for dispatch and metrics labels. */
const ROUTES: readonly Route[] = REST_ROUTES.map(({ method, path, handle }) => ({
  method,
  pattern: new URLPattern({ pathname: path }),
  handle,
  label: routeLabel(path),
}));

/** Builds the `/v1/*` handler; mounted by the HTTP handler. */
export function createRestApi(deps: RestDeps): RoutedHandler {
  const { logger, metrics } = deps;

  return async (req, { requestId, client, url }) => {
    const started = performance.now();
    let deferred = false;
    /** The matched route pattern, once dispatch found one. */
    let route: string | undefined;
    const log = (status: number, fields?: LogFields) => {
      const ms = performance.now() - started;
      logger.info("http_request", {
        request_id: requestId,
        client: client.address,
        method: req.method,
        path: url.pathname,
        status,
        duration_ms: Math.round(ms * 10) / 10,
        ...fields,
      });
      // A pattern, never the raw path: ids in paths must not become series.
      metrics?.httpRequest(route ?? restRouteOf(url.pathname), req.method, status, ms / 1000);
    };

    // Counted until the response is complete (for a stream: until it ends).
    const exit = deps.inFlight.enter();
    let response: Response;
    try {
      const namespace = authenticate(req, deps);
      const ctx: RouteContext = {
        req,
        url,
        params: {},
        namespace,
        requestId,
        deps,
        deferLog() {
          deferred = true;
          return (fields) => {
            exit();
            log(200, fields);
          };
        },
      };
      response = await dispatch(ctx, (label) => route = label);
    } catch (err) {
      const e = toHttpError(err);
      if (e.status >= 500 && !(err instanceof HttpError)) {
        logger.error("http_request_failed", {
          request_id: requestId,
          error: errorMessage(err),
        });
      }
      response = e.toResponse();
    }
    // Drain an unread body (401, 404, 405) so the connection can be reused.
    if (!req.bodyUsed && req.body) await req.body.cancel().catch(() => {});
    const errorCode = errorCodeOf(response);
    if (errorCode !== undefined) metrics?.error(errorCode);
    if (!deferred || response.status !== 200) {
      exit();
      log(response.status);
    }
    return response;
  };
}

/**
 * The caller's memory namespace.
 *
 * @throws {HttpError} 401 when keys are configured and the Bearer token is missing or wrong
 */
function authenticate(req: Request, { keys }: RestDeps): string {
  if (!keys.required) return "";
  const token = bearerToken(req.headers.get("authorization"));
  const headers = { "www-authenticate": 'Bearer realm="yychat"' };
  if (token === undefined) {
    throw new HttpError(
      401,
      "Missing API key: send it as an Authorization: Bearer header",
      { code: "invalid_api_key", headers },
    );
  }
  const principal = keys.verify(token);
  if (principal === undefined) {
    throw new HttpError(401, "Incorrect API key provided", { code: "invalid_api_key", headers });
  }
  return principal;
}

async function dispatch(
  ctx: RouteContext,
  onRoute: (label: string) => void,
): Promise<Response> {
  const path = ctx.url.pathname;
  const allowed: string[] = [];
  for (const route of ROUTES) {
    // A path without parameters is compared as a string (a URLPattern match costs microseconds).
    const literal = route.label === path && !path.includes(":");
    const match = literal ? undefined : route.pattern.exec({ pathname: path });
    if (!literal && !match) continue;
    onRoute(route.label);
    if (route.method !== ctx.req.method) {
      allowed.push(route.method);
      continue;
    }
    if (match) ctx.params = decodeParams(match.pathname.groups);
    return await route.handle(ctx);
  }
  if (allowed.length > 0) {
    return errorResponse(405, `Method ${ctx.req.method} not allowed on ${path}`, {
      code: "method_not_allowed",
      headers: { allow: allowed.join(", ") },
    });
  }
  return errorResponse(404, `Unknown route: ${ctx.req.method} ${path}`, { code: "not_found" });
}

/** The route pattern of a `/v1/*` path as a metrics label (`/v1/models/:id`), or `other`. */
export function restRouteOf(path: string): string {
  return ROUTES.find((r) => r.pattern.test({ pathname: path }))?.label ?? OTHER_ROUTE;
}

function decodeParams(groups: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(groups)) {
    if (v === undefined) continue;
    try {
      out[k] = decodeURIComponent(v);
    } catch {
      throw new HttpError(400, `Invalid percent-encoding in the path: "${v}"`, {
        code: "invalid_request",
      });
    }
  }
  return out;
}
