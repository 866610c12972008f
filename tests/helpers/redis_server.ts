/**
 * A private Redis (Debian's `redis-server`) for tests and benchmarks: a child
 * process listening only on a unix socket in a temporary directory (no TCP
 * port, so test files running in parallel never collide), nothing saved to
 * disk, stopped by pid and removed afterwards.
 *
 * ```ts
 * const redis = await startRedis();
 * try {
 *   // connect to redis.socketPath (or redis.url)
 *   await redis.stop();  // the "Redis down" case
 *   await redis.start(); // back, empty (no persistence)
 * } finally {
 *   await redis.close();
 * }
 * ```
 *
 * The process is a child of the test, so `close()` (which waits for it to
 * exit) must run before the test ends, or Deno's sanitizers report it.
 */

export const REDIS_SERVER = "/usr/bin/redis-server";
const READY_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 5_000;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

export interface RedisServer {
  /** The unix socket: `DIR/r.sock`. */
  readonly socketPath: string;
  /** `unix://DIR/r.sock` (the socket as a URL). */
  readonly url: string;
  /** The temporary directory (socket and `redis.log`). */
  readonly dir: string;
  /** The server's pid while running, else undefined. */
  readonly pid: number | undefined;
  /** Stops the server (SIGTERM, then SIGKILL) and waits for it to exit; data is lost. */
  stop(): Promise<void>;
  /** Starts it again on the same socket, and waits until it answers PING. */
  start(): Promise<void>;
  /** Stops the server and removes its directory. Idempotent. */
  close(): Promise<void>;
}

/** Why a private Redis cannot be started here, or undefined when it can. */
export function redisMissing(): string | undefined {
  try {
    if (Deno.statSync(REDIS_SERVER).isFile) return undefined;
  } catch { /* missing */ }
  return `${REDIS_SERVER} is missing (apt-get install redis-server)`;
}

/** True when {@linkcode startRedis} can work on this machine. */
export function redisAvailable(): boolean {
  return redisMissing() === undefined;
}

/** Sends an inline PING on the unix socket; resolves with the reply line. */
async function ping(socketPath: string): Promise<string> {
  const conn = await Deno.connect({ transport: "unix", path: socketPath });
  try {
    await conn.write(encoder.encode("PING\r\n"));
    const buf = new Uint8Array(64);
    let text = "";
    while (!text.includes("\r\n")) {
      const n = await conn.read(buf);
      if (n === null) break;
      text += decoder.decode(buf.subarray(0, n));
    }
    return text.trim();
  } finally {
    conn.close();
  }
}

async function logTail(dir: string): Promise<string> {
  try {
    return (await Deno.readTextFile(`${dir}/redis.log`)).slice(-2000);
  } catch {
    return "(no log)";
  }
}

/** Starts a new private Redis and returns it answering PING. */
export async function startRedis(): Promise<RedisServer> {
  const missing = redisMissing();
  if (missing) throw new Error(`Cannot start Redis: ${missing}`);
  const dir = await Deno.makeTempDir({ prefix: "yychat-redis-" });
  const socketPath = `${dir}/r.sock`;
  let child: Deno.ChildProcess | undefined;
  let exited: Promise<Deno.CommandStatus> | undefined;
  let closed = false;

  const stop = async () => {
    const running = child;
    if (!running || !exited) return;
    try {
      running.kill("SIGTERM");
    } catch { /* already gone */ }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const killLater = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        try {
          running.kill("SIGKILL");
        } catch { /* already gone */ }
        resolve();
      }, STOP_TIMEOUT_MS);
    });
    await Promise.race([exited, killLater]);
    await exited;
    clearTimeout(timer);
    child = undefined;
    exited = undefined;
  };

  const start = async () => {
    if (child) return;
    await Deno.remove(socketPath).catch(() => {});
    const process = new Deno.Command(REDIS_SERVER, {
      args: [
        "--port",
        "0",
        "--unixsocket",
        socketPath,
        "--unixsocketperm",
        "700",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        dir,
        "--logfile",
        `${dir}/redis.log`,
        "--daemonize",
        "no",
      ],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    child = process;
    let done = false;
    exited = process.status.then((s) => (done = true, s));
    const deadline = Date.now() + READY_TIMEOUT_MS;
    for (;;) {
      if (done) {
        child = undefined;
        exited = undefined;
        throw new Error(`redis-server exited before answering PING:\n${await logTail(dir)}`);
      }
      try {
        if (await ping(socketPath) === "+PONG") return;
      } catch { /* not listening yet */ }
      if (Date.now() > deadline) {
        await stop();
        throw new Error(`redis-server did not answer PING within 10 s:\n${await logTail(dir)}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  };

  try {
    await start();
  } catch (err) {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    throw err;
  }
  return {
    socketPath,
    url: `unix://${socketPath}`,
    dir,
    get pid() {
      return child?.pid;
    },
    stop,
    start,
    async close() {
      if (closed) return;
      closed = true;
      try {
        await stop();
      } finally {
        await Deno.remove(dir, { recursive: true }).catch(() => {});
      }
    },
  };
}
