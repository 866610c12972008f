/**
 * Wires one yychat server from its settings: supervisor, router, handlers,
 * HTTP handler. `main.ts` serves it; tests call `createApp` directly.
 */
import type { Settings } from "../../config/settings.ts";
import { createRouter } from "../../handlers/mod.ts";
import { type Clock, systemClock } from "../actors/clock.ts";
import { Supervisor } from "../actors/supervisor.ts";
import { Logger } from "../logger.ts";
import type { Router } from "../router/router.ts";
import { ApiKeys } from "./api_keys.ts";
import { createHttpHandler, type HttpHandler } from "./http_handler.ts";

export interface AppOptions {
  clock?: Clock;
  logger?: Logger;
}

export interface App {
  readonly handler: HttpHandler;
  readonly supervisor: Supervisor;
  readonly router: Router;
  /** Drains connections (bounded by the settings' grace period) and releases everything. */
  shutdown(): Promise<void>;
}

export function createApp(settings: Settings, options: AppOptions = {}): App {
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? new Logger(settings.logLevel);
  const keys = new ApiKeys(settings.apiKeys);
  // The router's get_status handler reads the supervisor, which needs the
  // router: the closure runs only once messages flow, after both exist.
  const router = createRouter({
    stats: () => supervisor.stats(),
    clock,
    logger,
    messagesPerSecond: settings.ws.messagesPerSecond,
    keys,
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
  });
  return {
    handler,
    supervisor,
    router,
    shutdown: () => supervisor.shutdown(settings.shutdownGraceMs),
  };
}
