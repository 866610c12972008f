/**
 * The Portkey AI gateway (`@portkey-ai/gateway` from npm), the TypeScript
 * gateway users pick instead of yychat, for `bench/completions_bench.ts`.
 *
 * Installed once with `npm` into a cache directory outside the repository
 * (`$XDG_CACHE_HOME` or `~/.cache`, `yychat-bench/portkey-<version>`;
 * `deno run --allow-all bench/portkey.ts` installs it ahead of time), with
 * `@hono/node-server` overridden to 1.14.1: later versions break Portkey's
 * streaming (Portkey issue #1389). Runs under Node, like `npx
 * @portkey-ai/gateway`.
 */
import { freePort } from "../tests/helpers/server_process.ts";

export const PORTKEY_VERSION = "1.15.2";
export const HONO_NODE_SERVER_VERSION = "1.14.1";

/** Where the pinned gateway is installed. */
export function portkeyDir(): string {
  const cache = Deno.env.get("XDG_CACHE_HOME") ?? `${Deno.env.get("HOME") ?? "/tmp"}/.cache`;
  return `${cache}/yychat-bench/portkey-${PORTKEY_VERSION}`;
}

function entryOf(dir: string): string {
  return `${dir}/node_modules/@portkey-ai/gateway/build/start-server.js`;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

/** Whether `node` runs here (Portkey's runtime). */
export async function nodeAvailable(): Promise<boolean> {
  try {
    const out = await new Deno.Command("node", { args: ["--version"], stdout: "null" }).output();
    return out.success;
  } catch {
    return false;
  }
}

/**
 * Installs the pinned gateway when it is not there yet (`npm install`,
 * bounded to 5 minutes) and returns the path of its start script.
 *
 * @throws {Error} when npm is missing or the install fails
 */
export async function ensurePortkey(): Promise<string> {
  const dir = portkeyDir();
  const entry = entryOf(dir);
  if (await exists(entry)) return entry;
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(
    `${dir}/package.json`,
    JSON.stringify(
      {
        name: "yychat-bench-portkey",
        private: true,
        dependencies: {
          "@portkey-ai/gateway": PORTKEY_VERSION,
          "@hono/node-server": HONO_NODE_SERVER_VERSION,
        },
        overrides: { "@hono/node-server": HONO_NODE_SERVER_VERSION },
      },
      null,
      2,
    ),
  );
  const out = await new Deno.Command("npm", {
    args: ["install", "--no-audit", "--no-fund", "--loglevel=error"],
    cwd: dir,
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
    signal: AbortSignal.timeout(300_000),
  }).output();
  if (!out.success || !await exists(entry)) {
    throw new Error(
      `Cannot install @portkey-ai/gateway@${PORTKEY_VERSION} into ${dir}: ${
        new TextDecoder().decode(out.stderr).slice(-2000)
      }`,
    );
  }
  return entry;
}

export interface PortkeyProcess {
  pid: number;
  port: number;
  /** `http://127.0.0.1:PORT/v1` */
  baseUrl: string;
  /** Headers that route a request to `upstreamBaseUrl` as an OpenAI provider. */
  headers: Record<string, string>;
  stop(): Promise<void>;
}

/** Starts the gateway on a free port in front of `upstreamBaseUrl` (ending `/v1`). */
export async function startPortkey(upstreamBaseUrl: string): Promise<PortkeyProcess> {
  const entry = await ensurePortkey();
  const port = freePort();
  const child = new Deno.Command("node", {
    args: [entry, `--port=${port}`, "--headless"],
    env: { NODE_ENV: "production" },
    stdout: "null",
    stderr: "piped",
    stdin: "null",
  }).spawn();
  let exited = false;
  const status = child.status.then((s) => (exited = true, s));
  const stderr = (async () => {
    let text = "";
    for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
      text = (text + chunk).slice(-4000);
    }
    return text;
  })();
  const stop = async () => {
    if (!exited) child.kill("SIGTERM");
    const timer = setTimeout(() => {
      if (!exited) child.kill("SIGKILL");
    }, 5000);
    await status;
    clearTimeout(timer);
    await stderr;
  };
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (exited) {
      throw new Error(`Portkey exited before listening: ${await stderr}`);
    }
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      break;
    } catch {
      if (Date.now() > deadline) {
        await stop();
        throw new Error("Portkey did not listen within 30 s");
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return {
    pid: child.pid,
    port,
    baseUrl: `http://127.0.0.1:${port}/v1`,
    headers: {
      "x-portkey-provider": "openai",
      "x-portkey-custom-host": upstreamBaseUrl,
    },
    stop,
  };
}

/** Whether the pinned gateway is installed already. */
export function portkeyInstalled(): Promise<boolean> {
  return exists(entryOf(portkeyDir()));
}

if (import.meta.main) {
  console.log(await ensurePortkey());
}
