/**
 * The event log in Redis Streams, shared by every node: each generation's
 * metadata (hash), numbered events (stream, entry id = `seq`) and snapshot
 * text (string), appended, trimmed and expired in one Lua step, and
 * published on the generation's channel for followers on other nodes.
 *
 * Writes never block the reply: `create`/`append`/`finish` are sent in
 * order on one connection without being awaited, and a failure is reported
 * through `onWriteFailure` (the mirrored log then gives the generation up
 * for other nodes). Reads reject fast while Redis is down.
 */
import { createHash } from "node:crypto";
import type { Logger } from "../core/logger.ts";
import type {
  EventLog,
  GenerationEvent,
  GenerationRecord,
  GenerationStatus,
  LogRead,
} from "../generations/mod.ts";
import type { RemoteGenerations } from "../generations/event_log.ts";
import type { RedisConnection } from "./redis_connection.ts";
import { APPEND, CREATE, FINISH, NODE_ALIVE, READ } from "./scripts.ts";

export interface RedisEventLogOptions {
  redis: RedisConnection;
  logger: Logger;
  /** Bytes of one generation's events and text in Redis (oldest events trimmed beyond). */
  maxBytesPerGeneration: number;
  /** Expiry of a running generation's keys, renewed by each event (its detached limit and more). */
  runningTtlMs: number;
  /** How long a finished generation's keys stay (the resume window). */
  resumeWindowMs: number;
  /** A write that failed: the generation's log in Redis is incomplete from here on. */
  onWriteFailure(key: string): void;
}

/** The key prefix of cluster mode. */
const PREFIX = "yychat:";
/** The zset of node leases (see scripts.ts). */
export const NODES_KEY = `${PREFIX}nodes`;
/** The prefix of a node's channel and keys (`yychat:node:<id>`, `…:<id>:conns`; see scripts.ts). */
export const NODE_PREFIX = `${PREFIX}node:`;
const FINISHED = JSON.stringify({ finished: true });

/** A generation's three keys (meta, events, text, under one hash tag) and its channel. */
interface GenerationKeys {
  keys: [string, string, string];
  channel: string;
}

export class RedisEventLog implements EventLog, RemoteGenerations {
  readonly #opts: RedisEventLogOptions;
  readonly #redis: RedisConnection;
  /** Keys of running generations, so an append does not hash again. */
  readonly #keys = new Map<string, GenerationKeys>();

  constructor(options: RedisEventLogOptions) {
    this.#opts = options;
    this.#redis = options.redis;
  }

  get remote(): RemoteGenerations {
    return this;
  }

  create(record: GenerationRecord): void {
    const keys = keysOf(record.key);
    this.#keys.set(record.key, keys);
    const fields = Object.entries(record).flatMap(([k, v]) => [k, String(v)]);
    this.#write(record.key, keys, CREATE, [this.#opts.runningTtlMs, ...fields]);
  }

  append(key: string, event: GenerationEvent): void {
    const chunk = event.type === "chunk";
    const keys = this.#cached(key);
    this.#write(key, keys, APPEND, [
      event.seq,
      JSON.stringify(event),
      chunk ? event.content : "",
      chunk ? "1" : "0",
      this.#opts.maxBytesPerGeneration,
      this.#opts.runningTtlMs,
      keys.channel,
    ]);
  }

  finish(key: string, atMs: number): void {
    const keys = this.#cached(key);
    this.#write(key, keys, FINISH, this.#finishArgs(keys, "done", atMs));
    this.#keys.delete(key);
  }

  /** Marks a generation whose log is incomplete, so no node replays a gap. */
  abandon(key: string, atMs: number): void {
    const keys = this.#cached(key);
    this.#keys.delete(key);
    this.#redis.eval(FINISH, keys.keys, this.#finishArgs(keys, "lost", atMs)).catch(() => {});
  }

  async get(key: string): Promise<GenerationRecord | undefined> {
    const h = await this.#redis.commands.hGetAll(keysOf(key).keys[0]);
    if (!h.requestId) return undefined;
    return {
      key,
      requestId: h.requestId,
      principal: h.principal ?? "",
      tokenHash: h.tokenHash ?? "",
      node: h.node ?? "",
      stream: h.stream === "true",
      status: (h.status ?? "running") as GenerationStatus,
      createdAtMs: Number(h.createdAtMs),
      ...(h.finishedAtMs ? { finishedAtMs: Number(h.finishedAtMs) } : {}),
    };
  }

  async read(key: string, afterSeq: number): Promise<LogRead | undefined> {
    const reply = await this.#redis.eval(READ, keysOf(key).keys, [afterSeq]) as
      | (string | number)[]
      | null;
    if (reply === null) return undefined;
    const [status, topSeq, snapshot, fromSeq, text, ...events] = reply;
    const parsed = (events as string[]).map((e) => JSON.parse(e) as GenerationEvent);
    const common = { status: status as GenerationStatus, topSeq: Number(topSeq), events: parsed };
    if (Number(snapshot) === 1) {
      return {
        ...common,
        recovered: false,
        snapshot: { seq: Number(fromSeq), content: String(text) },
      };
    }
    return { ...common, recovered: true };
  }

  /** Redis expires finished generations by itself. */
  expire(): void {}

  close(): Promise<void> {
    return Promise.resolve();
  }

  async subscribe(
    key: string,
    listener: (event: GenerationEvent | null) => void,
  ): Promise<() => void> {
    const { channel } = keysOf(key);
    const onMessage = (message: string) => {
      const value = JSON.parse(message) as GenerationEvent | { finished: true };
      listener("seq" in value ? value : null);
    };
    await this.#redis.subscriber.subscribe(channel, onMessage);
    return () => {
      this.#redis.subscriber.unsubscribe(channel, onMessage).catch(() => {});
    };
  }

  async cancel(record: GenerationRecord): Promise<void> {
    const set = nodeKey(record.node, "cancel");
    await this.#redis.commands.sAdd(set, record.key);
    await this.#redis.commands.pExpire(set, this.#opts.runningTtlMs);
    await this.#redis.commands.publish(nodeChannel(record.node), "cancel");
  }

  async nodeAlive(node: string): Promise<boolean> {
    return Number(await this.#redis.eval(NODE_ALIVE, [NODES_KEY], [node])) === 1;
  }

  /** The keys of `key`, hashed once while it runs. */
  #cached(key: string): GenerationKeys {
    return this.#keys.get(key) ?? keysOf(key);
  }

  #finishArgs(keys: GenerationKeys, status: GenerationStatus, atMs: number): (string | number)[] {
    return [status, atMs, this.#opts.resumeWindowMs, keys.channel, FINISHED];
  }

  #write(key: string, keys: GenerationKeys, script: string, args: (string | number)[]): void {
    if (!this.#redis.up) {
      this.#opts.onWriteFailure(key);
      return;
    }
    this.#redis.eval(script, keys.keys, args).then((ok) => {
      if (Number(ok) !== 1) this.#opts.onWriteFailure(key);
    }, (err) => {
      this.#opts.logger.debug("redis_write_failed", { error: String(err) });
      this.#opts.onWriteFailure(key);
    });
  }
}

/** The keys of a generation, under one hash tag, and its channel (the tag itself). */
function keysOf(key: string): GenerationKeys {
  const tag = `${PREFIX}g:{${createHash("sha1").update(key).digest("hex").slice(0, 24)}}`;
  return { keys: [`${tag}:m`, `${tag}:e`, `${tag}:t`], channel: tag };
}

/** The channel a node listens on for cancels of its generations. */
export function nodeChannel(node: string): string {
  return `${NODE_PREFIX}${node}`;
}

/** A node's connection set, statistics hash or set of cancels to take. */
export function nodeKey(node: string, what: "conns" | "stats" | "cancel"): string {
  return `${NODE_PREFIX}${node}:${what}`;
}
