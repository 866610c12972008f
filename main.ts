/**
 * yychat entry point: reads the environment (and `.env`), checks exposure,
 * serves the app, and shuts down gracefully on SIGINT/SIGTERM.
 */
import { readEnvFile } from "./config/env_file.ts";
import { ConfigError, loadSettings, type Settings } from "./config/settings.ts";
import { Logger } from "./src/core/logger.ts";
import { type App, createApp } from "./src/server/app.ts";
import { checkExposure, isLoopback } from "./src/security/exposure.ts";

async function main(): Promise<number> {
  let settings: Settings;
  try {
    settings = loadSettings({ ...(await readEnvFile(".env")), ...Deno.env.toObject() });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    console.error(err.message);
    return 2;
  }
  const exposure = checkExposure(settings);
  if (exposure !== undefined) {
    console.error(exposure);
    return 2;
  }
  const logger = new Logger(settings.logLevel);
  if (settings.apiKeys.length === 0) {
    logger.warn("auth_disabled", {
      message: isLoopback(settings.host)
        ? "No YYCHAT_API_KEY set: authentication is OFF, so the server listens on loopback only"
        : "No YYCHAT_API_KEY set and a public bind was explicitly allowed: ANYONE who can reach this port can use it",
      host: settings.host,
    });
  }

  let app: App;
  try {
    app = await createApp(settings, { logger });
  } catch (err) {
    // Unusable data dir, database or MCP config: say what, without a stack.
    logger.error("startup_failed", { error: err instanceof Error ? err.message : String(err) });
    return 1;
  }
  const ac = new AbortController();
  const server = Deno.serve({
    hostname: settings.host,
    port: settings.port,
    signal: ac.signal,
    onListen: ({ hostname, port }) => {
      logger.info("listening", {
        url: `http://${hostname}:${port}`,
        ws: `ws://${hostname}:${port}/ws/chat`,
      });
    },
  }, app.handler);

  const { promise: stopRequested, resolve: requestStop } = Promise.withResolvers<string>();
  let stopping = false;
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    Deno.addSignalListener(signal, () => {
      // A second signal while draining means "now".
      if (stopping) Deno.exit(1);
      stopping = true;
      requestStop(signal);
    });
  }
  const signal = await stopRequested;
  logger.info("shutdown", { signal });
  // Force exit if the drain overruns its bound.
  const hardStop = setTimeout(() => Deno.exit(1), settings.shutdownGraceMs + 10_000);
  await app.shutdown();
  ac.abort();
  await server.finished;
  clearTimeout(hardStop);
  logger.info("stopped", {});
  return 0;
}

if (import.meta.main) Deno.exit(await main());
