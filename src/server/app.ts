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
import { createHttpHandler, type HttpHandler } from "./http_handler.ts";
import { InFlight } from "./in_flight.ts";
import { createRestApi } from "./rest/mod.ts";
import { createServices, type Services } from "./services.ts";
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
  const router = createRouter({
    stats: () => supervisor.stats(),
    clock,
    logger,
    messagesPerSecond: settings.ws.messagesPerSecond,
    keys,
    engine: services.engine,
    maxStreamsPerConnection: settings.ws.maxStreamsPerConnection,
    maxMessageBytes: settings.ws.maxMessageBytes,
    draining: () => supervisor.status !== "running",
    useToolsDefault: settings.useToolsDefault,
    streamDefault: settings.streamDefault,
  });
  const supervisor: Supervisor = new Supervisor({
    maxConnections: settings.ws.maxConnections,
    heartbeatIntervalMs: settings.ws.heartbeatIntervalMs,
    connectionTimeoutMs: settings.ws.connectionTimeoutMs,
    limits: {
      maxMessageBytes: settings.ws.maxMessageBytes,
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
    allowedOrigins: settings.allowedOrigins,
    heartbeatIntervalMs: settings.ws.heartbeatIntervalMs,
    logger,
    rest: createRestApi({ settings, services, keys, logger, inFlight }),
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
    shutdown() {
      // Both front doors drain (new work is refused meanwhile), then the
      // services they use are closed.
      stopped ??= Promise.all([
        supervisor.shutdown(settings.shutdownGraceMs),
        inFlight.drain(settings.shutdownGraceMs),
      ]).then(() => services.close());
      return stopped;
    },
  };
}
