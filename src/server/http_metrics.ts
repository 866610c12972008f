/**
 * HTTP request metrics by route PATTERN: a raw path holds ids
 * (`/v1/conversations/abc/memory`) and whatever a scanner tries, so only the
 * patterns below and the REST table's patterns become label values;
 * everything else is `other`.
 */
import { OTHER } from "../observability/registry.ts";
import type { YychatMetrics } from "../observability/yychat_metrics.ts";
import { errorCodeOf } from "./responses.ts";

/** The route label of every path no route matches. */
export const OTHER_ROUTE = OTHER;

/**
 * Routes the HTTP handler serves itself (the REST table's routes come from
 * `REST_ROUTES`). A new route added to `http_handler.ts` belongs here, or it
 * is counted as `other`.
 */
export const HTTP_ROUTES = [
  "/health",
  "/ws/chat",
  "/ws/status",
  "/ws/handlers",
  "/ws/schema",
  "/metrics",
  "/openapi.json",
  "/docs",
  "/docs/:asset",
  // The face (web pages, branch `face`): its pages and files.
  "/",
  "/dashboard",
  "/web/:file",
] as const;

const EXACT = new Set<string>(HTTP_ROUTES);

/** `/v1/models/:id(.+)` → `/v1/models/:id`: a URLPattern without its regular expressions. */
export function routeLabel(pattern: string): string {
  return pattern.replace(/\(([^()]|\([^()]*\))*\)/g, "");
}

/** The route label of a path the HTTP handler serves (not `/v1/*`). */
export function httpRouteOf(path: string): string {
  if (EXACT.has(path)) return path;
  if (path.startsWith("/docs/")) return "/docs/:asset";
  if (path.startsWith("/web/")) return "/web/:file";
  return OTHER_ROUTE;
}

/** Records one finished request, and the error it answered with, if any. */
export function recordHttp(
  metrics: YychatMetrics | undefined,
  route: string,
  req: Request,
  response: Response,
  startedMs: number,
): void {
  if (metrics === undefined) return;
  metrics.httpRequest(route, req.method, response.status, (performance.now() - startedMs) / 1000);
  const code = errorCodeOf(response);
  if (code !== undefined) metrics.error(code);
}
