/**
 * The routes that describe the server: `GET /metrics` (Prometheus text),
 * `GET /openapi.json` and `GET /docs` (the REST API's description and its
 * viewer). The description is public (it holds no data); `/metrics` is
 * behind the API key when one is configured, unless `METRICS_PUBLIC=true`.
 */
import type { YychatMetrics } from "../observability/yychat_metrics.ts";
import { PROMETHEUS_CONTENT_TYPE, renderPrometheus } from "../observability/text_format.ts";
import { type ApiKeys, bearerToken } from "../security/api_keys.ts";
import { docsResponse } from "./api_docs.ts";
import { openApiDocument } from "./openapi.ts";
import { errorResponse, json } from "./responses.ts";

export interface ObservabilityRoutesDeps {
  metrics: YychatMetrics;
  keys: ApiKeys;
  /** Serve `/metrics` without the key even when keys are configured. */
  metricsPublic: boolean;
}

/** Answers a request for one of these routes; undefined when `path` is not one of them. */
export type ObservabilityRoutes = (req: Request, path: string) => Promise<Response> | undefined;

export function createObservabilityRoutes(deps: ObservabilityRoutesDeps): ObservabilityRoutes {
  let openApi: Record<string, unknown> | undefined;
  return (req, path) => {
    const docs = path === "/docs" || path.startsWith("/docs/");
    if (path !== "/metrics" && path !== "/openapi.json" && !docs) return undefined;
    if (req.method !== "GET" && req.method !== "HEAD") {
      return Promise.resolve(errorResponse(405, `Method ${req.method} not allowed on ${path}`, {
        code: "method_not_allowed",
        headers: { allow: "GET, HEAD" },
      }));
    }
    if (path === "/metrics") return Promise.resolve(metrics(req, deps));
    if (path === "/openapi.json") {
      // Generated once: the routes and schemas do not change while the server runs.
      openApi ??= openApiDocument();
      return Promise.resolve(json(openApi, 200, { "cache-control": "no-cache" }));
    }
    return docsResponse(path).then((res) =>
      res ?? errorResponse(404, `Unknown route: ${req.method} ${path}`, { code: "not_found" })
    );
  };
}

function metrics(req: Request, deps: ObservabilityRoutesDeps): Response {
  if (deps.keys.required && !deps.metricsPublic) {
    const token = bearerToken(req.headers.get("authorization"));
    if (token === undefined || deps.keys.verify(token) === undefined) {
      return errorResponse(
        401,
        token === undefined
          ? "Missing API key: send it as an Authorization: Bearer header (or set METRICS_PUBLIC=true)"
          : "Incorrect API key provided",
        { code: "invalid_api_key", headers: { "www-authenticate": 'Bearer realm="yychat"' } },
      );
    }
  }
  return new Response(renderPrometheus(deps.metrics.registry), {
    headers: { "content-type": PROMETHEUS_CONTENT_TYPE, "cache-control": "no-store" },
  });
}
