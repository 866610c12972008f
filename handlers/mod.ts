/**
 * The handler registry: which handler answers which message type, and the
 * middleware chain in front of them.
 */
import type { Clock } from "../src/core/clock.ts";
import type { Logger } from "../src/core/logger.ts";
import type { StatusData } from "../src/protocol/messages.ts";
import { AuthGate } from "../src/router/auth_gate.ts";
import { RateLimit } from "../src/router/rate_limit.ts";
import { Router } from "../src/router/router.ts";
import { errorMessage } from "../src/core/spawn.ts";
import type { ApiKeys } from "../src/security/api_keys.ts";
import type { ChatRunner } from "../src/core/chat.ts";
import { AuthHandler } from "./auth.ts";
import { CancelHandler } from "./cancel.ts";
import { GetStatusHandler } from "./get_status.ts";
import { HeartbeatHandler } from "./heartbeat.ts";
import { PingHandler } from "./ping.ts";
import { chunkCharsFor, TextMessageHandler } from "./text_message.ts";
import type { YychatMetrics } from "../src/observability/yychat_metrics.ts";

export interface RouterDeps {
  /** The supervisor's statistics (`get_status`). */
  stats: () => StatusData;
  clock: Clock;
  logger: Logger;
  /** Per-connection message rate; 0 turns the limit off. */
  messagesPerSecond: number;
  keys: ApiKeys;
  /** The chat engine behind `text_message`. */
  engine: ChatRunner;
  maxStreamsPerConnection: number;
  /** WS_MESSAGE_SIZE_LIMIT: stream chunks are cut to fit it. */
  maxMessageBytes: number;
  /** Whether the server is shutting down (new streams are refused). */
  draining: () => boolean;
  useToolsDefault: boolean;
  streamDefault: boolean;
  /** Generation metrics of `text_message` (optional: tests may leave it out). */
  metrics?: YychatMetrics;
}

/** Builds the router with every stage-1 handler and the default middleware. */
export function createRouter(deps: RouterDeps): Router {
  const router = new Router((err, msg) =>
    deps.logger.error("handler_crashed", { type: msg.type, error: errorMessage(err) })
  );
  router.use(new AuthGate());
  if (deps.messagesPerSecond > 0) router.use(new RateLimit(deps.messagesPerSecond, deps.clock));
  router
    .register("auth", new AuthHandler(deps.keys))
    .register("heartbeat", new HeartbeatHandler())
    .register("ping", new PingHandler())
    .register("get_status", new GetStatusHandler(deps.stats))
    .register(
      "text_message",
      new TextMessageHandler({ ...deps, maxChunkChars: chunkCharsFor(deps.maxMessageBytes) }),
    )
    .register("cancel", new CancelHandler());
  return router;
}
