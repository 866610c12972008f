/**
 * What a REST route receives: the request, its path parameters, the caller's
 * memory namespace (its principal; `""` without auth) and the shared deps.
 */
import type { Settings } from "../../../config/settings.ts";
import type { LogFields, Logger } from "../../core/logger.ts";
import type { ApiKeys } from "../../security/api_keys.ts";
import type { YychatMetrics } from "../../observability/yychat_metrics.ts";
import type { InFlight } from "../in_flight.ts";
import type { Services } from "../services.ts";
import type { GenerationRegistry } from "../../generations/mod.ts";

export interface RestDeps {
  settings: Settings;
  services: Services;
  /** The generation layer both doors run replies through. */
  generations: GenerationRegistry;
  keys: ApiKeys;
  logger: Logger;
  /** Requests being served; aborts `signal` when shutdown stops waiting. */
  inFlight: InFlight;
  /** Requests, errors and generations are counted here (optional: tests may leave it out). */
  metrics?: YychatMetrics;
}

export interface RouteContext {
  req: Request;
  url: URL;
  /** Decoded path parameters (`{id}`). */
  params: Record<string, string>;
  /** Memory namespace of the caller: its key's principal, `""` when auth is off. */
  namespace: string;
  requestId: string;
  deps: RestDeps;
  /**
   * For responses that outlive the handler (SSE): the router skips its
   * request log line, and the route calls the returned function once the
   * body is finished, so the line carries the whole duration.
   */
  deferLog(): (fields?: LogFields) => void;
}

export type RouteHandler = (ctx: RouteContext) => Promise<Response>;

/**
 * Aborts `controller` when the client disconnects before the handler
 * returns; call the result before returning. (deno.json opts in to
 * `no-legacy-abort`, so `req.signal` fires on a disconnect only, never for a
 * delivered response.)
 */
export function followClient(req: Request, controller: AbortController): () => void {
  const onAbort = () => controller.abort(new DOMException("Client disconnected", "AbortError"));
  if (req.signal.aborted) onAbort();
  else req.signal.addEventListener("abort", onAbort, { once: true });
  return () => req.signal.removeEventListener("abort", onAbort);
}
