/**
 * Supervisor: admits or refuses connections against the limits, keeps the
 * registry and the statistics, runs ONE liveness sweep for every connection
 * on one timer, reconciles its registry with socket state (a connection whose
 * socket closed without a `close` event, or whose close handshake stalled, is
 * stopped and dropped) and shuts everything down in order.
 *
 * Admission: an authenticated connection (a key in the upgrade request, or
 * no keys configured) takes one of `maxConnections` slots; a socket that
 * still owes its `auth` frame takes no slot but one of `maxPendingAuth`, and
 * asks for a slot when it authenticates. Every client address holds at most
 * `maxConnectionsPerIp` connections of either kind.
 *
 * Supervision policy: connections are `temporary` children (never
 * restarted); a handler crash becomes an `error` event and the connection
 * lives on (see the router).
 */
import type { Logger } from "../core/logger.ts";
import { CloseCode } from "../protocol/close_codes.ts";
import type { StatusData } from "../protocol/messages.ts";
import type { Router } from "../router/router.ts";
import { type Clock, type TimerId, within } from "../core/clock.ts";
import { Connection, type ConnectionLimits } from "./connection.ts";
import { YychatMetrics } from "../observability/yychat_metrics.ts";

export interface SupervisorOptions {
  /** Authenticated connections (WS_MAX_CONNECTIONS). */
  maxConnections: number;
  /** Sockets still owing their `auth` frame (WS_MAX_PENDING_AUTH). */
  maxPendingAuth: number;
  /** Connections per client address (WS_MAX_CONNECTIONS_PER_IP). */
  maxConnectionsPerIp: number;
  /** Cluster mode: slots counted across every node (absent: this node's count is the limit). */
  slots?: ConnectionSlots;
  /** Period of the liveness sweep. */
  heartbeatIntervalMs: number;
  /** Silence after which a connection is closed with 4000. */
  connectionTimeoutMs: number;
  /** How long a close handshake may take before the connection is dropped anyway. */
  closeGraceMs?: number;
  limits: ConnectionLimits;
  router: Router;
  clock: Clock;
  logger: Logger;
  /** Connections, accepted, closes; passed on to each connection (default: a registry of its own). */
  metrics?: YychatMetrics;
}

export type SupervisorStatus = "running" | "draining" | "stopped";

/** Why `admit` would refuse, for the HTTP answer. */
export type Refusal = "at_capacity" | "too_many_pending" | "too_many_per_ip" | "shutting_down";

/**
 * Connection slots shared with other nodes (cluster mode): `acquire` says
 * whether one more authenticated connection fits cluster-wide.
 */
export interface ConnectionSlots {
  acquire(clientId: string): Promise<boolean>;
  release(clientId: string): void;
}

/** Who is knocking: its address, and whether it proved a key already. */
export interface Applicant {
  address: string;
  authenticated: boolean;
}

type SupervisorMsg =
  | { type: "stopped"; conn: Connection; code: number; reason: string }
  | { type: "sweep" };

export class Supervisor {
  readonly #opts: SupervisorOptions;
  readonly #registry = new Map<string, Connection>();
  readonly #startedAtMs: number;
  #status: SupervisorStatus = "running";
  #sweepTimer: TimerId | undefined;
  /** Connections holding a slot (authenticated); the rest of the registry is pending. */
  #admitted = 0;
  readonly #perAddress = new Map<string, number>();
  #acceptedConnections = 0;
  #totalMessages = 0;
  #idle: (() => void) | undefined;
  readonly #metrics: YychatMetrics;

  constructor(options: SupervisorOptions) {
    this.#opts = options;
    this.#metrics = options.metrics ?? new YychatMetrics();
    this.#metrics.wsConnections.collect((g) => g.set(this.#registry.size));
    this.#startedAtMs = options.clock.now();
    this.#sweepTimer = options.clock.setInterval(
      () => this.send({ type: "sweep" }),
      options.heartbeatIntervalMs,
    );
  }

  get status(): SupervisorStatus {
    return this.#status;
  }

  /** Connections registered now. */
  get size(): number {
    return this.#registry.size;
  }

  /** Why `applicant` would be refused now, or undefined if it would be admitted. */
  refusal(applicant: Applicant): Refusal | undefined {
    if (this.#status !== "running") return "shutting_down";
    if ((this.#perAddress.get(applicant.address) ?? 0) >= this.#opts.maxConnectionsPerIp) {
      return "too_many_per_ip";
    }
    if (applicant.authenticated) {
      if (this.#admitted >= this.#opts.maxConnections) return "at_capacity";
    } else if (this.#registry.size - this.#admitted >= this.#opts.maxPendingAuth) {
      return "too_many_pending";
    }
    return undefined;
  }

  /**
   * Takes a cluster-wide slot for `clientId` (always granted without a
   * cluster: the local count in {@linkcode refusal} is the limit).
   */
  acquireSlot(clientId: string): boolean | Promise<boolean> {
    return this.#opts.slots?.acquire(clientId) ?? true;
  }

  /** Gives back a slot taken for a connection that was never admitted. */
  releaseSlot(clientId: string): void {
    this.#opts.slots?.release(clientId);
  }

  /**
   * Registers a freshly upgraded socket as a connection actor. Call right
   * after `refusal()` returned undefined, in the same tick.
   */
  admit(
    socket: WebSocket,
    auth: {
      principal: string | undefined;
      authRequired: boolean;
      address: string;
      /** Given when a cluster slot was taken for it already. */
      clientId?: string;
    },
  ): Connection {
    const authenticated = !auth.authRequired;
    const refusal = this.refusal({ address: auth.address, authenticated });
    if (refusal !== undefined) throw new RangeError(`Cannot admit connection: ${refusal}`);
    const conn = new Connection({
      socket,
      clientId: auth.clientId ?? crypto.randomUUID(),
      router: this.#opts.router,
      clock: this.#opts.clock,
      logger: this.#opts.logger,
      limits: this.#opts.limits,
      address: auth.address,
      principal: auth.principal,
      authRequired: auth.authRequired,
      onFrame: () => this.#totalMessages++,
      onAuthenticated: async (c) => {
        if (this.#status !== "running" || this.#admitted >= this.#opts.maxConnections) return false;
        this.#admitted++; // reserved now, so concurrent authentications cannot overshoot
        if (await this.acquireSlot(c.clientId) && c.status === "open") return true;
        this.#admitted--;
        this.#opts.slots?.release(c.clientId);
        return false;
      },
      metrics: this.#metrics,
      onStopped: (c, code, reason) => this.send({ type: "stopped", conn: c, code, reason }),
    });
    this.#registry.set(conn.clientId, conn);
    if (authenticated) this.#admitted++;
    this.#perAddress.set(auth.address, (this.#perAddress.get(auth.address) ?? 0) + 1);
    this.#acceptedConnections++;
    this.#metrics.wsConnectionsAccepted.inc();
    this.#opts.logger.info("ws_open", {
      client_id: conn.clientId,
      client: auth.address,
      pending_auth: !authenticated,
      active: this.#registry.size,
    });
    return conn;
  }

  /**
   * `status_response.data` and `GET /ws/status`, meaning what the original
   * service meant: connections registered now, those of them authenticated
   * and live, messages received since start.
   */
  stats(): StatusData {
    let active = 0;
    for (const conn of this.#registry.values()) {
      if (conn.status === "open" && conn.authenticated) active++;
    }
    return {
      total_connections: this.#registry.size,
      active_connections: active,
      total_messages: this.#totalMessages,
      max_connections: this.#opts.maxConnections,
      uptime: (this.#opts.clock.now() - this.#startedAtMs) / 1000,
      accepted_connections: this.#acceptedConnections,
    };
  }

  /** Handles one supervisor message. All are synchronous state changes. */
  send(msg: SupervisorMsg): boolean {
    if (this.#status === "stopped" && msg.type === "sweep") return false;
    this.#receive(msg);
    return true;
  }

  #receive(msg: SupervisorMsg): void {
    switch (msg.type) {
      case "stopped": {
        const conn = msg.conn;
        if (this.#registry.get(conn.clientId) !== conn) return;
        this.#registry.delete(conn.clientId);
        if (conn.authenticated) {
          this.#admitted--;
          this.#opts.slots?.release(conn.clientId);
        }
        const left = (this.#perAddress.get(conn.address) ?? 1) - 1;
        if (left === 0) this.#perAddress.delete(conn.address);
        else this.#perAddress.set(conn.address, left);
        this.#metrics.wsCloses.labels(String(msg.code)).inc();
        this.#opts.logger.info("ws_close", {
          client_id: msg.conn.clientId,
          code: msg.code,
          reason: msg.reason,
          duration_ms: this.#opts.clock.now() - msg.conn.openedAtMs,
          active: this.#registry.size,
        });
        if (this.#registry.size === 0) this.#idle?.();
        return;
      }
      case "sweep":
        this.#sweep();
        return;
      default: {
        const never: never = msg;
        throw new TypeError(`Unknown supervisor message: ${JSON.stringify(never)}`);
      }
    }
  }

  /**
   * The liveness sweep: closes silent connections, and reconciles the
   * registry with the sockets so nothing leaks when a `close` event is lost.
   */
  #sweep(): void {
    const now = this.#opts.clock.now();
    const { connectionTimeoutMs, limits } = this.#opts;
    const closeGraceMs = this.#opts.closeGraceMs ?? 5000;
    for (const conn of [...this.#registry.values()]) {
      const state = conn.readyState;
      if (state === WebSocket.CLOSED) {
        conn.stop(CloseCode.normal, "socket closed");
      } else if (conn.status === "closing" || state === WebSocket.CLOSING) {
        if (conn.closingSinceMs === 0) conn.closingSinceMs = now;
        else if (now - conn.closingSinceMs > closeGraceMs) {
          conn.stop(CloseCode.normal, "close handshake timed out");
        }
      } else if (now - conn.lastSeenMs > connectionTimeoutMs) {
        conn.close(CloseCode.connectionTimeout, "connection timeout");
      } else if (conn.bufferedAmount > limits.maxBufferedBytes) {
        conn.close(CloseCode.slowConsumer, "slow consumer: too much unread data");
      }
    }
  }

  /** Runs one sweep now (tests, and the reconciliation after shutdown). */
  sweep(): void {
    this.send({ type: "sweep" });
  }

  /**
   * Graceful shutdown: refuse new connections, tell clients, let `settle`
   * finish the running replies (the generation registry waits up to the
   * grace period, then cancels the rest while the sockets are still open, so
   * each client still gets its `stream_end{finish_reason:"cancelled"}`),
   * close every connection with 1001, and wait (bounded) until all are
   * released.
   */
  async shutdown(
    graceMs: number,
    settle: () => Promise<void> = () => Promise.resolve(),
  ): Promise<void> {
    if (this.#status !== "running") return;
    this.#status = "draining";
    const { clock, logger } = this.#opts;
    logger.info("supervisor_draining", { active: this.#registry.size, grace_ms: graceMs });
    for (const conn of this.#registry.values()) {
      conn.send({
        type: "server_shutdown",
        message: "Server is shutting down; running replies may finish, then the connection closes",
        grace_seconds: graceMs / 1000,
      });
    }
    await settle();
    for (const conn of this.#registry.values()) {
      conn.close(CloseCode.goingAway, "server shutting down");
    }
    if (this.#registry.size > 0) {
      await within(new Promise<void>((resolve) => this.#idle = resolve), 2000, clock);
    }
    for (const conn of [...this.#registry.values()]) {
      conn.stop(CloseCode.goingAway, "server shutting down");
    }
    if (this.#sweepTimer !== undefined) clock.clearInterval(this.#sweepTimer);
    this.#sweepTimer = undefined;
    this.#status = "stopped";
    logger.info("supervisor_stopped", {});
  }
}
