/**
 * The HTTP entry point: a plain `(Request) => Promise<Response>` that tests
 * can call without a port. Public routes: `/health`, `/ws/status`,
 * `/ws/handlers`, `/ws/schema` (counts and schemas only, no content).
 * `/ws/chat` upgrades; `/v1/*` goes to the REST API.
 */
import type { Supervisor } from "../actors/supervisor.ts";
import type { Router } from "../router/router.ts";
import { wsJsonSchema } from "../protocol/json_schema.ts";
import { errorResponse, json } from "./responses.ts";
import { type UpgradeDeps, upgradeToWebSocket } from "./ws_upgrade.ts";
import type { YychatMetrics } from "../observability/yychat_metrics.ts";
import { httpRouteOf, recordHttp } from "./http_metrics.ts";
import { restRouteOf } from "./rest/mod.ts";
import type { ObservabilityRoutes } from "./observability_routes.ts";

export type HttpHandler = (req: Request) => Promise<Response>;

export interface HttpDeps extends UpgradeDeps {
  supervisor: Supervisor;
  router: Router;
  /** The REST API (`/v1/*`), when mounted. */
  rest?: HttpHandler;
  /** Extra readiness facts for `/health` (model, provider kind). */
  health?: () => Record<string, unknown>;
  /** Requests by route and status, errors by code. */
  metrics?: YychatMetrics;
  /** `/metrics`, `/openapi.json`, `/docs`. */
  observability?: ObservabilityRoutes;
}

export function createHttpHandler(deps: HttpDeps): HttpHandler {
  const serve = createRoutes(deps);
  return async (req) => {
    const path = new URL(req.url).pathname;
    // The REST API records its own requests: a stream ends long after its response is returned.
    if (path.startsWith("/v1/") && deps.rest && deps.supervisor.status === "running") {
      return deps.rest(req);
    }
    const started = performance.now();
    const response = await serve(req, path);
    const route = path.startsWith("/v1/") ? restRouteOf(path) : httpRouteOf(path);
    recordHttp(deps.metrics, route, req, response, started);
    return response;
  };
}

function createRoutes(deps: HttpDeps): (req: Request, path: string) => Promise<Response> {
  return (req, path) => {
    if (path === "/ws/chat") return Promise.resolve(upgradeToWebSocket(req, deps));
    const described = deps.observability?.(req, path);
    if (described !== undefined) return described;
    if (path.startsWith("/v1/") && deps.rest) {
      if (deps.supervisor.status !== "running") {
        return Promise.resolve(errorResponse(503, "The server is shutting down, try again later", {
          code: "server_shutting_down",
          headers: { "retry-after": "5" },
        }));
      }
      return deps.rest(req);
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      return Promise.resolve(
        path === "/health" || path.startsWith("/ws/")
          ? errorResponse(405, `Method ${req.method} not allowed on ${path}`, {
            code: "method_not_allowed",
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
            status: draining ? "draining" : "ok",
            uptime: deps.supervisor.stats().uptime,
            ...deps.health?.(),
          },
          draining ? 503 : 200,
        ));
      }
      case "/ws/status":
        return Promise.resolve(json({ status: "success", data: deps.supervisor.stats() }));
      case "/ws/handlers":
        return Promise.resolve(json({ status: "success", data: deps.router.describe() }));
      case "/ws/schema":
        return Promise.resolve(json(wsJsonSchema()));
      default:
        return Promise.resolve(notFound(req, path));
    }
  };
}

function notFound(req: Request, path: string): Response {
  return errorResponse(404, `Unknown route: ${req.method} ${path}`, { code: "not_found" });
}
