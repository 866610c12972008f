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
  /** Drains connections (bounded by the settings' grace period) and releases everything. */
  shutdown(): Promise<void>;
}

export async function createApp(settings: Settings, options: AppOptions = {}): Promise<App> {
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? new Logger(settings.logLevel);
  const keys = new ApiKeys(settings.apiKeys);
  const services = await createServices(settings, { logger, fetch: options.fetch });
  const inFlight = new InFlight();
  // The router's get_status handler reads the supervisor, which needs the
  // router: the closure runs only once messages flow, after both exist.
  const generations = new GenerationRegistry({
    runner: services.engine,
    log: new MemoryEventLog({
      maxBytesPerGeneration: settings.streams.maxBytesPerGeneration,
      maxTotalBytes: settings.streams.maxTotalBytes,
      resumeWindowMs: settings.streams.resumeWindowMs,
    }),
    clock,
    logger,
    nodeId: settings.nodeId,
    maxChunkChars: chunkCharsFor(settings.ws.maxOutboundBytes),
    detachedLimitMs: settings.streams.detachedLimitMs,
    maxSubscribers: settings.streams.maxSubscribers,
  });
  const router = createRouter({
    stats: () => supervisor.stats(),
    logger,
    keys,
    generations,
    maxStreamsPerConnection: settings.ws.maxStreamsPerConnection,
    useToolsDefault: settings.useToolsDefault,
    streamDefault: settings.streamDefault,
  });
  const supervisor: Supervisor = new Supervisor({
    maxConnections: settings.ws.maxConnections,
    maxPendingAuth: settings.ws.maxPendingAuth,
    maxConnectionsPerIp: settings.ws.maxConnectionsPerIp,
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
  });
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
    rest: createRestApi({ settings, services, generations, keys, logger, inFlight }),
    web: createStaticHandler(),
    // Public, so counts and kinds only: names and ids are behind the key (/v1/*).
    health: () => {
      const mcp = services.mcp.servers();
      return {
        provider: services.engine.offline ? "offline" : "openai-compatible",
        mcp_servers: {
          configured: mcp.length,
          connected: mcp.filter((s) => s.state === "connected").length,
        },
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
      ]).then(() => generations.close()).then(() => services.close());
      return stopped;
    },
  };
}
