/**
 * `GET /ws/chat`: checks credentials and capacity (Host and Origin were
 * checked for every route before this), then upgrades the request and hands
 * the socket to the supervisor. Refusals happen before the upgrade, as plain
 * HTTP answers a client can read: 401 (bad key), 429 (too many connections
 * from this address), 503 + `Retry-After` (over capacity or shutting down).
 */
import type { Refusal, Supervisor } from "../actors/supervisor.ts";
import type { ClientInfo } from "../security/request_policy.ts";
import type { Logger } from "../core/logger.ts";
import { type ApiKeys, bearerToken } from "../security/api_keys.ts";
import { errorResponse } from "./responses.ts";
import { CloseCode } from "../protocol/close_codes.ts";

/** The subprotocol a browser offers next to `bearer.<key>`; the server selects it. */
export const WS_SUBPROTOCOL = "yychat";
const BEARER_PREFIX = "bearer.";

export interface UpgradeDeps {
  supervisor: Supervisor;
  keys: ApiKeys;
  /** Protocol-level ping period (Deno's `idleTimeout`). */
  heartbeatIntervalMs: number;
  logger: Logger;
}

/** How each admission refusal is answered. */
const REFUSALS: Record<Refusal, { status: number; code: string; message: string }> = {
  at_capacity: {
    status: 503,
    code: "too_many_connections",
    message: "Too many connections: the server is at its connection limit, try again later",
  },
  too_many_pending: {
    status: 503,
    code: "too_many_pending_auth",
    message: "Too many connections waiting to authenticate, try again later",
  },
  too_many_per_ip: {
    status: 429,
    code: "too_many_connections_per_ip",
    message: "Too many connections from this address",
  },
  shutting_down: {
    status: 503,
    code: "server_shutting_down",
    message: "The server is shutting down, try again later",
  },
};

export async function upgradeToWebSocket(
  req: Request,
  client: ClientInfo,
  deps: UpgradeDeps,
): Promise<Response> {
  if (req.headers.get("upgrade")?.toLowerCase() !== "websocket") {
    return errorResponse(426, "Expected a WebSocket upgrade request", {
      code: "upgrade_required",
      headers: { upgrade: "websocket" },
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

  const authRequired = deps.keys.required && principal === undefined;
  const clientId = crypto.randomUUID();
  let refusal = deps.supervisor.refusal({ address: client.address, authenticated: !authRequired });
  // Cluster mode: an authenticated connection also needs a cluster-wide slot
  // (without a cluster the answer is synchronous, so refusal and admit share a tick).
  let slot = false;
  if (refusal === undefined && !authRequired) {
    const granted = deps.supervisor.acquireSlot(clientId);
    slot = granted === true || await granted;
    if (!slot) refusal = "at_capacity";
  }
  if (refusal !== undefined) {
    const { status, code, message } = REFUSALS[refusal];
    deps.logger.warn("ws_refused", {
      reason: code,
      client: client.address,
      active: deps.supervisor.size,
    });
    return errorResponse(status, message, { code, headers: { "retry-after": "5" } });
  }

  let upgraded: { socket: WebSocket; response: Response };
  try {
    upgraded = Deno.upgradeWebSocket(req, {
      // A browser that offered subprotocols must get one of them back.
      ...(offered.includes(WS_SUBPROTOCOL) ? { protocol: WS_SUBPROTOCOL } : {}),
      idleTimeout: Math.max(1, Math.round(deps.heartbeatIntervalMs / 1000)),
    });
  } catch (err) {
    if (slot) deps.supervisor.releaseSlot(clientId);
    // A malformed handshake (missing key, `Connection: close`, …).
    deps.logger.warn("ws_refused", { reason: "invalid_upgrade", error: String(err) });
    return errorResponse(400, "Invalid WebSocket upgrade request", { code: "invalid_upgrade" });
  }
  const { socket, response } = upgraded;
  try {
    deps.supervisor.admit(socket, { principal, authRequired, address: client.address, clientId });
  } catch {
    // Full or draining since the check (another upgrade won the race while the slot was taken).
    if (slot) deps.supervisor.releaseSlot(clientId);
    socket.onopen = () => socket.close(CloseCode.tryAgainLater, "server at its connection limit");
  }
  return response;
}
