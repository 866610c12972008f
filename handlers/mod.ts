/**
 * The handler registry: which handler answers which message type, and the
 * middleware chain in front of them.
 */
import type { Logger } from "../src/core/logger.ts";
import type { StatusData } from "../src/protocol/messages.ts";
import { AuthGate } from "../src/router/auth_gate.ts";
import { Router } from "../src/router/router.ts";
import { errorMessage } from "../src/core/spawn.ts";
import type { ApiKeys } from "../src/security/api_keys.ts";
import type { GenerationRegistry } from "../src/generations/mod.ts";
import { AuthHandler } from "./auth.ts";
import { CancelHandler } from "./cancel.ts";
import { GetStatusHandler } from "./get_status.ts";
import { HeartbeatHandler } from "./heartbeat.ts";
import { PingHandler } from "./ping.ts";
import { ResumeHandler } from "./resume.ts";
import { TextMessageHandler } from "./text_message.ts";
import { AudioInputHandler } from "./audio_input.ts";
import type { VoiceDoor } from "./voice.ts";

export interface RouterDeps {
  /** The supervisor's statistics (`get_status`). */
  stats: () => StatusData;
  logger: Logger;
  keys: ApiKeys;
  /** The generation layer behind `text_message`, `resume` and `cancel`. */
  generations: GenerationRegistry;
  maxStreamsPerConnection: number;
  /** Speech for `audio_input` and `text_message{voice}` (absent: both are unavailable). */
  voice?: VoiceDoor;
  useToolsDefault: boolean;
  streamDefault: boolean;
}

/** Builds the router with every stage-1 handler and the default middleware. */
export function createRouter(deps: RouterDeps): Router {
  const router = new Router((err, msg) =>
    deps.logger.error("handler_crashed", { type: msg.type, error: errorMessage(err) })
  );
  router.use(new AuthGate());
  const replies = new TextMessageHandler(deps);
  if (deps.voice) {
    router.register("audio_input", new AudioInputHandler({ voice: deps.voice, replies }));
  }
  router
    .register("auth", new AuthHandler(deps.keys))
    .register("heartbeat", new HeartbeatHandler())
    .register("ping", new PingHandler())
    .register("get_status", new GetStatusHandler(deps.stats))
    .register("text_message", replies)
    .register("resume", new ResumeHandler(deps))
    .register("cancel", new CancelHandler());
  return router;
}
