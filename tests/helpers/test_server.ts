/**
 * Starts a real yychat app on 127.0.0.1, port 0, for integration tests.
 */
import { loadSettings, type Settings } from "../../config/settings.ts";
import { Logger } from "../../src/core/logger.ts";
import { type App, type AppOptions, createApp } from "../../src/server/app.ts";

export interface TestServer {
  app: App;
  settings: Settings;
  /** `http://127.0.0.1:PORT` */
  http: string;
  /** `ws://127.0.0.1:PORT/ws/chat` */
  ws: string;
  /** Log lines written so far (LOG_LEVEL debug unless overridden). */
  logs: string[];
  close(): Promise<void>;
}

export async function startTestServer(
  env: Record<string, string> = {},
  options: AppOptions = {},
): Promise<TestServer> {
  const dataDir = await Deno.makeTempDir({ prefix: "yychat-test-" });
  const settings = loadSettings({ LOG_LEVEL: "debug", YYCHAT_DATA_DIR: dataDir, ...env });
  const logs: string[] = [];
  const app = await createApp(settings, {
    logger: new Logger(settings.logLevel, (l) => logs.push(l)),
    ...options,
  });
  const ac = new AbortController();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen() {} },
    app.handler,
  );
  const port = server.addr.port;
  let closed = false;
  return {
    app,
    settings,
    logs,
    http: `http://127.0.0.1:${port}`,
    ws: `ws://127.0.0.1:${port}/ws/chat`,
    async close() {
      if (closed) return;
      closed = true;
      await app.shutdown();
      ac.abort();
      await server.finished;
      await Deno.remove(dataDir, { recursive: true }).catch(() => {});
    },
  };
}
