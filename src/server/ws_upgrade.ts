/**
 * `GET /ws/chat`: checks origin, capacity and credentials, then upgrades the
 * request and hands the socket to the supervisor. Refusals happen before the
 * upgrade, as plain HTTP answers a client can read: 403 (origin), 401 (bad
 * key), 503 + `Retry-After` (over capacity or shutting down).
 */
import type { Supervisor } from "../actors/supervisor.ts";
import type { Logger } from "../core/logger.ts";
import { type ApiKeys, bearerToken } from "../security/api_keys.ts";
import { errorResponse } from "./responses.ts";

/** The subprotocol a browser offers next to `bearer.<key>`; the server selects it. */
export const WS_SUBPROTOCOL = "yychat";
const BEARER_PREFIX = "bearer.";

export interface UpgradeDeps {
  supervisor: Supervisor;
  keys: ApiKeys;
  allowedOrigins: readonly string[];
  /** Protocol-level ping period (Deno's `idleTimeout`). */
  heartbeatIntervalMs: number;
  logger: Logger;
}

export function upgradeToWebSocket(req: Request, deps: UpgradeDeps): Response {
  if (req.headers.get("upgrade")?.toLowerCase() !== "websocket") {
    return errorResponse(426, "Expected a WebSocket upgrade request", {
      code: "upgrade_required",
      headers: { upgrade: "websocket" },
    });
  }
  const origin = req.headers.get("origin");
  if (origin !== null && deps.allowedOrigins.length > 0 && !deps.allowedOrigins.includes(origin)) {
    deps.logger.warn("ws_refused", { reason: "origin_not_allowed", origin });
    return errorResponse(403, `Origin not allowed: ${JSON.stringify(origin)}`, {
      code: "origin_not_allowed",
    });
  }

  const offered = (req.headers.get("sec-websocket-protocol") ?? "")
    .split(",").map((p) => p.trim()).filter((p) => p.length > 0);
  let principal: string | undefined;
  if (deps.keys.required) {
    const token = bearerToken(req.headers.get("authorization")) ??
      offered.find((p) => p.startsWith(BEARER_PREFIX))?.slice(BEARER_PREFIX.length);
    if (token !== undefined) {
      principal = deps.keys.verify(token);
      if (principal === undefined) {
        deps.logger.warn("ws_refused", { reason: "invalid_api_key" });
        return errorResponse(401, "Invalid API key", { code: "invalid_api_key" });
      }
    }
  }

  const refusal = deps.supervisor.refusal();
  if (refusal !== undefined) {
    deps.logger.warn("ws_refused", { reason: refusal, active: deps.supervisor.size });
    return errorResponse(
      503,
      refusal === "at_capacity"
        ? "Too many connections: the server is at its connection limit, try again later"
        : "The server is shutting down, try again later",
      {
        code: refusal === "at_capacity" ? "too_many_connections" : "server_shutting_down",
        headers: { "retry-after": "5" },
      },
    );
  }

  let upgraded: { socket: WebSocket; response: Response };
  try {
    upgraded = Deno.upgradeWebSocket(req, {
      // A browser that offered subprotocols must get one of them back.
      ...(offered.includes(WS_SUBPROTOCOL) ? { protocol: WS_SUBPROTOCOL } : {}),
      idleTimeout: Math.max(1, Math.round(deps.heartbeatIntervalMs / 1000)),
    });
  } catch (err) {
    // A malformed handshake (missing key, `Connection: close`, …).
    deps.logger.warn("ws_refused", { reason: "invalid_upgrade", error: String(err) });
    return errorResponse(400, "Invalid WebSocket upgrade request", { code: "invalid_upgrade" });
  }
  const { socket, response } = upgraded;
  deps.supervisor.admit(socket, {
    principal,
    authRequired: deps.keys.required && principal === undefined,
  });
  return response;
}
