/**
 * The node's connections to Redis: one for commands, one for pub/sub. It
 * connects in the background and reconnects by itself; while Redis is down,
 * commands reject at once (no offline queue) and `up` is false, so callers
 * fall back to this node's own state instead of waiting.
 *
 * The Lua scripts are loaded before `up` turns true (after every
 * (re)connect: a restarted Redis has an empty script cache), so scripts run
 * by SHA in the order they were sent — a fallback that loads a missing
 * script first would let a later write overtake an earlier one.
 */
import { createClient } from "redis";
import type { Logger } from "../core/logger.ts";

type Client = ReturnType<typeof createClient>;

/** `redis://`, `rediss://`, or a unix socket (`unix:///path` or `/path/to/redis.sock`). */
export function clientOptions(url: string) {
  const unix = url.startsWith("unix://")
    ? url.slice("unix://".length)
    : url.startsWith("/")
    ? url
    : "";
  const base = {
    disableOfflineQueue: true,
    socket: {
      connectTimeout: 2000,
      // Retry forever, backing off to 2 s: the node recovers by itself when Redis returns.
      reconnectStrategy: (retries: number) => Math.min(2000, 50 * 2 ** Math.min(retries, 6)),
    },
  };
  if (unix !== "") return { ...base, socket: { ...base.socket, path: unix } };
  return { ...base, url };
}

export class RedisConnection {
  readonly commands: Client;
  readonly subscriber: Client;
  readonly #logger: Logger;
  readonly #listeners = new Set<(up: boolean) => void>();
  readonly #scripts = new Map<string, string>();
  #up = false;
  #closed = false;

  constructor(url: string, logger: Logger, scripts: readonly string[]) {
    this.#logger = logger;
    for (const script of scripts) this.#scripts.set(script, "");
    this.commands = createClient(clientOptions(url));
    this.subscriber = this.commands.duplicate();
    for (const client of [this.commands, this.subscriber]) {
      // Errors surface as failed commands; the client reconnects on its own.
      client.on("error", () => {});
    }
    this.commands.on("ready", () => this.#loadScripts());
    this.commands.on("end", () => this.#set(false));
    this.commands.on("reconnecting", () => this.#set(false));
  }

  /** Whether commands can reach Redis now. */
  get up(): boolean {
    return this.#up;
  }

  /** Told each time Redis comes back (`true`) or goes away (`false`). */
  onChange(listener: (up: boolean) => void): void {
    this.#listeners.add(listener);
  }

  /**
   * Connects both clients, waiting at most `timeoutMs` for the first
   * connection; past it the node starts degraded and keeps trying.
   */
  async connect(timeoutMs: number): Promise<boolean> {
    const first = Promise.all([this.commands.connect(), this.subscriber.connect()]);
    first.catch(() => {});
    const timer = new Promise<false>((resolve) => {
      const id = setTimeout(() => resolve(false), timeoutMs);
      first.then(() => clearTimeout(id), () => clearTimeout(id));
    });
    return await Promise.race([first.then(() => true, () => false), timer]);
  }

  /**
   * Runs one of the scripts given to the constructor, by SHA. While it is
   * not loaded (a Redis restarted since, or flushed by hand) the whole
   * script is sent instead, which keeps the order of writes.
   */
  eval(script: string, keys: string[], args: (string | number)[]): Promise<unknown> {
    const argv = args.map(String);
    const sha = this.#scripts.get(script);
    if (sha === undefined) throw new RangeError("Cannot run a script that was not registered");
    if (sha === "") return this.commands.eval(script, { keys, arguments: argv });
    return this.commands.evalSha(sha, { keys, arguments: argv }).catch((err) => {
      if (!String(err).includes("NOSCRIPT")) throw err;
      this.#scripts.set(script, "");
      return this.commands.eval(script, { keys, arguments: argv });
    });
  }

  /** Loads every script, then reports Redis up (retries while connected). */
  async #loadScripts(): Promise<void> {
    try {
      for (const script of this.#scripts.keys()) {
        this.#scripts.set(script, await this.commands.scriptLoad(script));
      }
      this.#set(true);
    } catch (err) {
      this.#logger.debug("redis_script_load_failed", { error: String(err) });
      if (this.commands.isReady && !this.#closed) setTimeout(() => this.#loadScripts(), 500);
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#listeners.clear();
    await Promise.allSettled([this.commands.close(), this.subscriber.close()]);
    // A client that never connected has nothing to close but its retry loop.
    for (const client of [this.commands, this.subscriber]) {
      if (client.isOpen) client.destroy();
    }
  }

  #set(up: boolean): void {
    if (this.#up === up || this.#closed) return;
    this.#up = up;
    this.#logger[up ? "info" : "warn"]("redis_" + (up ? "up" : "down"), {});
    for (const listener of this.#listeners) listener(up);
  }
}
