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
import { isStaticPath } from "./static.ts";
import { type UpgradeDeps, upgradeToWebSocket } from "./ws_upgrade.ts";

export type HttpHandler = (req: Request) => Promise<Response>;

export interface HttpDeps extends UpgradeDeps {
  supervisor: Supervisor;
  router: Router;
  /** The REST API (`/v1/*`), when mounted. */
  rest?: HttpHandler;
  /** Extra readiness facts for `/health` (model, provider kind). */
  health?: () => Record<string, unknown>;
  /** The face (`/`, `/dashboard`, `/web/*`: see `static.ts`), when mounted. */
  web?: HttpHandler;
}

export function createHttpHandler(deps: HttpDeps): HttpHandler {
  return (req) => {
    const path = new URL(req.url).pathname;
    if (path === "/ws/chat") return Promise.resolve(upgradeToWebSocket(req, deps));
    if (path.startsWith("/v1/") && deps.rest) {
      if (deps.supervisor.status !== "running") {
        return Promise.resolve(errorResponse(503, "The server is shutting down, try again later", {
          code: "server_shutting_down",
          headers: { "retry-after": "5" },
        }));
      }
      return deps.rest(req);
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
