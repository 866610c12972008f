/**
 * Wires one yychat server from its settings: supervisor, router, handlers,
 * HTTP handler. `main.ts` serves it; tests call `createApp` directly.
 */
import type { Settings } from "../../config/settings.ts";
import { createRouter } from "../../handlers/mod.ts";
import { type Clock, systemClock } from "../core/clock.ts";
import { Supervisor } from "../actors/supervisor.ts";
import { Logger } from "../core/logger.ts";
import type { Router } from "../router/router.ts";
import { ApiKeys } from "../security/api_keys.ts";
import { RequestPolicy } from "../security/request_policy.ts";
import { createHttpHandler, type HttpHandler } from "./http_handler.ts";
import { InFlight } from "./in_flight.ts";
import { createRestApi } from "./rest/mod.ts";
import { createServices, type Services } from "./services.ts";
import { chunkCharsFor, GenerationRegistry, MemoryEventLog } from "../generations/mod.ts";
import { createStaticHandler } from "./static.ts";
import { ERROR_CODES } from "../core/errors.ts";
import { CloseCode } from "../protocol/close_codes.ts";
import { INBOUND_SCHEMAS } from "../protocol/messages.ts";
import type { McpServerState } from "../tools/mcp_manager.ts";
import { YychatMetrics } from "../observability/yychat_metrics.ts";
import { registerProcessMetrics } from "../observability/process_metrics.ts";
import { HTTP_ROUTES, routeLabel } from "./http_metrics.ts";
import { createObservabilityRoutes } from "./observability_routes.ts";
import { API_VERSION } from "./openapi.ts";
import { HTTP_ERROR_CODES } from "./rest/errors.ts";
import { REST_ROUTES } from "./rest/mod.ts";
import { startCluster } from "../cluster/mod.ts";
import { createVoiceDoor } from "./voice_door.ts";

export interface AppOptions {
  clock?: Clock;
  logger?: Logger;
  /** Used by the provider and HTTP tools (tests inject one). */
  fetch?: typeof fetch;
}

export interface App {
  readonly handler: HttpHandler;
  readonly supervisor: Supervisor;
  readonly router: Router;
  readonly services: Services;
  readonly generations: GenerationRegistry;
  /** This server's metrics (`GET /metrics` renders `metrics.registry`). */
  readonly metrics: YychatMetrics;
  /** Drains connections (bounded by the settings' grace period) and releases everything. */
  shutdown(): Promise<void>;
}

export async function createApp(settings: Settings, options: AppOptions = {}): Promise<App> {
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? new Logger(settings.logLevel);
  const keys = new ApiKeys(settings.apiKeys);
  const services = await createServices(settings, { logger, fetch: options.fetch });
  const inFlight = new InFlight();
  const metrics = createMetrics();
  metrics.wsConnectionsLimit.set(settings.ws.maxConnections);
  const processMetrics = registerProcessMetrics(metrics.registry, { version: API_VERSION });
  metrics.mcpServers.collect((g) => {
    const counts = new Map<string, number>(MCP_STATES.map((s) => [s, 0]));
    for (const s of services.mcp.servers()) counts.set(s.state, (counts.get(s.state) ?? 0) + 1);
    for (const [state, n] of counts) g.labels(state).set(n);
  });
  const logBounds = {
    maxBytesPerGeneration: settings.streams.maxBytesPerGeneration,
    maxTotalBytes: settings.streams.maxTotalBytes,
    resumeWindowMs: settings.streams.resumeWindowMs,
  };
  // Cluster mode: the ports shared through Redis. The closures below run
  // only once traffic flows, after the supervisor and the registry exist.
  const cluster = settings.cluster.redisUrl === undefined ? undefined : await startCluster({
    redisUrl: settings.cluster.redisUrl,
    nodeId: settings.nodeId,
    nodeTtlMs: settings.cluster.nodeTtlMs,
    maxConnections: settings.ws.maxConnections,
    streams: { ...logBounds, detachedLimitMs: settings.streams.detachedLimitMs },
    clock,
    logger,
    localStats: () => supervisor.stats(),
    onCancel: (key) => generations.cancelKey(key),
  });
  if (cluster) metrics.clusterNodes.collect((g) => g.set(cluster.node.nodes));
  /** `status_response` and `/ws/status`: cluster-wide in cluster mode. */
  const stats = () => {
    const local = supervisor.stats();
    return cluster ? { ...local, ...cluster.node.stats(local) } : local;
  };
  // The router's get_status handler reads the supervisor, which needs the
  // router: the closure runs only once messages flow, after both exist.
  const generations: GenerationRegistry = new GenerationRegistry({
    runner: services.engine,
    log: cluster?.log ?? new MemoryEventLog(logBounds),
    clock,
    logger,
    nodeId: settings.nodeId,
    maxChunkChars: chunkCharsFor(settings.ws.maxOutboundBytes),
    detachedLimitMs: settings.streams.detachedLimitMs,
    maxSubscribers: settings.streams.maxSubscribers,
    metrics,
    watchdogMs: Math.max(50, Math.floor(settings.cluster.nodeTtlMs / 4)),
  });
  const router = createRouter({
    stats,
    logger,
    keys,
    generations,
    maxStreamsPerConnection: settings.ws.maxStreamsPerConnection,
    voice: createVoiceDoor(services.voice, {
      maxAudioBytes: settings.stt.maxAudioBytes,
      personalities: services.engine.personalities,
    }),
    useToolsDefault: settings.useToolsDefault,
    streamDefault: settings.streamDefault,
  });
  const supervisor: Supervisor = new Supervisor({
    maxConnections: settings.ws.maxConnections,
    maxPendingAuth: settings.ws.maxPendingAuth,
    maxConnectionsPerIp: settings.ws.maxConnectionsPerIp,
    ...(cluster ? { slots: cluster.node } : {}),
    heartbeatIntervalMs: settings.ws.heartbeatIntervalMs,
    connectionTimeoutMs: settings.ws.connectionTimeoutMs,
    limits: {
      maxMessageBytes: settings.ws.maxMessageBytes,
      maxOutboundBytes: settings.ws.maxOutboundBytes,
      messagesPerSecond: settings.ws.messagesPerSecond,
      maxBufferedBytes: settings.ws.maxBufferedBytes,
      mailboxCapacity: settings.ws.mailboxCapacity,
      authTimeoutMs: settings.ws.authTimeoutMs,
    },
    router,
    clock,
    logger,
    metrics,
  });
  if (cluster) {
    await cluster.node.start();
    logger.info("cluster_joined", {
      node: settings.nodeId,
      redis: cluster.redis.up ? "up" : "down",
    });
  }
  const handler = createHttpHandler({
    supervisor,
    router,
    keys,
    policy: new RequestPolicy({
      keysRequired: keys.required,
      allowedHosts: settings.allowedHosts,
      allowedOrigins: settings.allowedOrigins,
      trustedProxies: settings.trustedProxies,
    }),
    heartbeatIntervalMs: settings.ws.heartbeatIntervalMs,
    logger,
    rest: createRestApi({ settings, services, generations, keys, logger, inFlight, metrics }),
    web: createStaticHandler(),
    metrics,
    observability: createObservabilityRoutes({
      metrics,
      keys,
      metricsPublic: settings.metricsPublic,
    }),
    // Public, so counts and kinds only: names and ids are behind the key (/v1/*).
    stats,
    health: () => {
      const mcp = services.mcp.servers();
      return {
        // Degraded: serving, but on this node alone (Redis unreachable).
        ...(cluster?.node.degraded ? { status: "degraded" } : {}),
        provider: services.engine.offline ? "offline" : "openai-compatible",
        mcp_servers: {
          configured: mcp.length,
          connected: mcp.filter((s) => s.state === "connected").length,
        },
        ...(cluster
          ? { cluster: { redis: cluster.redis.up ? "up" : "down", nodes: cluster.node.nodes } }
          : {}),
      };
    },
  });
  let stopped: Promise<void> | undefined;
  return {
    handler,
    supervisor,
    router,
    services,
    generations,
    metrics,
    shutdown() {
      // Both front doors drain (new work is refused meanwhile), then the
      // services they use are closed.
      // Replies (both doors) get the grace period, then are cancelled while
      // their sockets and responses are still open.
      stopped ??= Promise.all([
        supervisor.shutdown(
          settings.shutdownGraceMs,
          () => generations.drain(settings.shutdownGraceMs),
        ),
        inFlight.drain(settings.shutdownGraceMs),
      ]).then(() => generations.close()).then(() => cluster?.close())
        .then(() => services.close())
        .finally(() => processMetrics.stop());
      return stopped;
    },
  };
}

/** MCP server states, each a `yychat_mcp_servers{state}` series from the start. */
const MCP_STATES = [
  "connecting",
  "connected",
  "failed",
  "closed",
] as const satisfies readonly McpServerState[];

/** The metrics, with every label's closed list of values taken from the tables they count. */
function createMetrics(): YychatMetrics {
  return new YychatMetrics({
    messageTypes: Object.keys(INBOUND_SCHEMAS),
    errorCodes: [...Object.keys(ERROR_CODES), ...HTTP_ERROR_CODES],
    routes: [...HTTP_ROUTES, ...REST_ROUTES.map((r) => routeLabel(r.path))],
    // Plus what peers and the runtime report: protocol error, no status, abnormal, bad data, policy.
    closeCodes: [...Object.values(CloseCode), 1002, 1005, 1006, 1007, 1008],
    mcpStates: MCP_STATES,
  });
}
