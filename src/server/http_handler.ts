/**
 * The HTTP entry point: a plain `(Request, info?) => Promise<Response>` that
 * tests can call without a port. Every request first passes the request
 * policy (Host allowlist, Origin, CORS preflight) and gets its request id
 * (the client's `X-Request-Id` when valid, else a new one), then is routed:
 * `/ws/chat` upgrades, `/v1/*` goes to the REST API, `/`, `/dashboard` and
 * `/web/*` serve the pages, and the public routes `/health`, `/ws/status`,
 * `/ws/handlers`, `/ws/schema` answer counts and schemas only.
 */
import type { Supervisor } from "../actors/supervisor.ts";
import type { Logger } from "../core/logger.ts";
import type { Router } from "../router/router.ts";
import type { StatusData } from "../protocol/messages.ts";
import { wsJsonSchema } from "../protocol/json_schema.ts";
import type { ClientInfo, RequestPolicy } from "../security/request_policy.ts";
import { errorResponse, json } from "./responses.ts";
import { isStaticPath } from "./static.ts";
import type { YychatMetrics } from "../observability/yychat_metrics.ts";
import { httpRouteOf, recordHttp } from "./http_metrics.ts";
import { restRouteOf } from "./rest/mod.ts";
import type { ObservabilityRoutes } from "./observability_routes.ts";
import { type UpgradeDeps, upgradeToWebSocket } from "./ws_upgrade.ts";

/** What `Deno.serve` passes besides the request (absent when tests call the handler). */
export interface ServeInfo {
  remoteAddr: Deno.Addr;
}

export type HttpHandler = (req: Request, info?: ServeInfo) => Promise<Response>;

/** What the front door learned about a request before routing it. */
export interface RequestMeta {
  /** The client's `X-Request-Id` when valid, else a new one; echoed and logged. */
  requestId: string;
  client: ClientInfo;
  /** `req.url`, parsed once by the front door. */
  url: URL;
}

/** A handler behind the front door (the REST API). */
export type RoutedHandler = (req: Request, meta: RequestMeta) => Promise<Response>;

export interface HttpDeps extends UpgradeDeps {
  supervisor: Supervisor;
  router: Router;
  policy: RequestPolicy;
  logger: Logger;
  /** The REST API (`/v1/*`), when mounted. */
  rest?: RoutedHandler;
  /** Extra readiness facts for `/health` (provider kind; `status: "degraded"` overrides `ok`). */
  health?: () => Record<string, unknown>;
  /** `/ws/status` figures (cluster-wide in cluster mode; default the supervisor's). */
  stats?: () => StatusData;
  /** The face (`/`, `/dashboard`, `/web/*`: see `static.ts`), when mounted. */
  web?: HttpHandler;
  /** Requests by route and status, errors by code. */
  metrics?: YychatMetrics;
  /** `/metrics`, `/openapi.json`, `/docs`. */
  observability?: ObservabilityRoutes;
}

/** Longest `X-Request-Id` kept; visible ASCII only. */
const REQUEST_ID = /^[\x21-\x7e]{1,128}$/;

export function createHttpHandler(deps: HttpDeps): HttpHandler {
  return async (req, info) => {
    const peer = info?.remoteAddr.transport === "tcp" ? info.remoteAddr.hostname : undefined;
    const client = deps.policy.client(req, peer);
    const incoming = req.headers.get("x-request-id");
    const requestId = incoming !== null && REQUEST_ID.test(incoming)
      ? incoming
      : `req_${crypto.randomUUID().replaceAll("-", "")}`;
    const refusal = deps.policy.refusal(req, client);
    const url = new URL(req.url);
    const path = url.pathname;
    const started = performance.now();
    let response: Response;
    // The REST API records its own requests: a stream ends long after its response is returned.
    let recorded = false;
    if (refusal !== undefined) {
      deps.logger.warn("http_refused", {
        request_id: requestId,
        reason: refusal.code,
        client: client.address,
        method: req.method,
        path,
      });
      await req.body?.cancel().catch(() => {});
      response = errorResponse(403, refusal.message, { code: refusal.code });
    } else if (req.method === "OPTIONS") {
      response = deps.policy.preflight(req);
    } else {
      recorded = path.startsWith("/v1/") && deps.rest !== undefined &&
        deps.supervisor.status === "running";
      response = await route(req, { requestId, client, url }, deps);
      // The upgrade's 101 belongs to the runtime; everything else is ours to stamp.
      if (response.status === 101) {
        recordHttp(deps.metrics, "/ws/chat", req, response, started);
        return response;
      }
      const cors = deps.policy.corsHeaders(req);
      if (cors) { for (const [k, v] of Object.entries(cors)) response.headers.set(k, v); }
    }
    if (!response.headers.has("x-request-id")) response.headers.set("x-request-id", requestId);
    if (!recorded) {
      const route = path.startsWith("/v1/") ? restRouteOf(path) : httpRouteOf(path);
      recordHttp(deps.metrics, route, req, response, started);
    }
    return response;
  };
}

function route(req: Request, meta: RequestMeta, deps: HttpDeps): Promise<Response> {
  const path = meta.url.pathname;
  if (path === "/ws/chat") return upgradeToWebSocket(req, meta.client, deps);
  const described = deps.observability?.(req, path);
  if (described !== undefined) return described;
  if (path.startsWith("/v1/") && deps.rest) {
    if (deps.supervisor.status !== "running") {
      return Promise.resolve(errorResponse(503, "The server is shutting down, try again later", {
        code: "server_shutting_down",
        headers: { "retry-after": "5" },
      }));
    }
    return deps.rest(req, meta);
  }
  if (deps.web && isStaticPath(path)) return deps.web(req);
  if (req.method !== "GET" && req.method !== "HEAD") {
    return Promise.resolve(
      path === "/health" || path.startsWith("/ws/")
        ? errorResponse(405, `Method ${req.method} not allowed on ${path}`, {
          headers: { allow: "GET" },
        })
        : notFound(req, path),
    );
  }
  switch (path) {
    case "/health": {
      const draining = deps.supervisor.status !== "running";
      return Promise.resolve(json(
        {
          status: "ok",
          uptime: deps.supervisor.stats().uptime,
          ...deps.health?.(),
          ...(draining ? { status: "draining" } : {}),
        },
        draining ? 503 : 200,
      ));
    }
    case "/ws/status":
      return Promise.resolve(
        json({ status: "success", data: (deps.stats ?? (() => deps.supervisor.stats()))() }),
      );
    case "/ws/handlers":
      return Promise.resolve(json({ status: "success", data: deps.router.describe() }));
    case "/ws/schema":
      return Promise.resolve(json(wsJsonSchema()));
    default:
      return Promise.resolve(notFound(req, path));
  }
}

function notFound(req: Request, path: string): Response {
  return errorResponse(404, `Unknown route: ${req.method} ${path}`, { code: "not_found" });
}
