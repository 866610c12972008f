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
export const PREFIX = "yychat:";
/** The zset of node leases (see scripts.ts). */
export const NODES_KEY = `${PREFIX}nodes`;
const FINISHED = JSON.stringify({ finished: true });

export class RedisEventLog implements EventLog, RemoteGenerations {
  readonly #opts: RedisEventLogOptions;
  readonly #redis: RedisConnection;
  /** Keys of running generations, so an append does not hash again. */
  readonly #keys = new Map<string, [string, string, string]>();

  constructor(options: RedisEventLogOptions) {
    this.#opts = options;
    this.#redis = options.redis;
  }

  get remote(): RemoteGenerations {
    return this;
  }

  create(record: GenerationRecord): void {
    this.#keys.set(record.key, keysOf(record.key));
    const fields = Object.entries(record).flatMap(([k, v]) => [k, String(v)]);
    this.#write(record.key, CREATE, [this.#opts.runningTtlMs, ...fields]);
  }

  append(key: string, event: GenerationEvent): void {
    const chunk = event.type === "chunk";
    this.#write(key, APPEND, [
      event.seq,
      JSON.stringify(event),
      chunk ? event.content : "",
      chunk ? "1" : "0",
      this.#opts.maxBytesPerGeneration,
      this.#opts.runningTtlMs,
      channelOf(key),
    ]);
  }

  finish(key: string, atMs: number): void {
    this.#write(key, FINISH, ["done", atMs, this.#opts.resumeWindowMs, channelOf(key), FINISHED]);
    this.#keys.delete(key);
  }

  /** Marks a generation whose log is incomplete, so no node replays a gap. */
  abandon(key: string, atMs: number): void {
    this.#keys.delete(key);
    this.#redis.eval(FINISH, keysOf(key), [
      "lost",
      atMs,
      this.#opts.resumeWindowMs,
      channelOf(key),
      FINISHED,
    ]).catch(() => {});
  }

  async get(key: string): Promise<GenerationRecord | undefined> {
    const h = await this.#redis.commands.hGetAll(keysOf(key)[0]!);
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
    const reply = await this.#redis.eval(READ, keysOf(key), [afterSeq]) as
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
    const channel = channelOf(key);
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
    const set = `${PREFIX}node:${record.node}:cancel`;
    await this.#redis.commands.sAdd(set, record.key);
    await this.#redis.commands.pExpire(set, this.#opts.runningTtlMs);
    await this.#redis.commands.publish(nodeChannel(record.node), "cancel");
  }

  async nodeAlive(node: string): Promise<boolean> {
    return Number(await this.#redis.eval(NODE_ALIVE, [NODES_KEY], [node])) === 1;
  }

  #write(key: string, script: string, args: (string | number)[]): void {
    if (!this.#redis.up) {
      this.#opts.onWriteFailure(key);
      return;
    }
    this.#redis.eval(script, this.#keys.get(key) ?? keysOf(key), args).then((ok) => {
      if (Number(ok) !== 1) this.#opts.onWriteFailure(key);
    }, (err) => {
      this.#opts.logger.debug("redis_write_failed", { error: String(err) });
      this.#opts.onWriteFailure(key);
    });
  }
}

/** The three keys of a generation, under one hash tag. */
function keysOf(key: string): [string, string, string] {
  const tag = `${PREFIX}g:{${createHash("sha1").update(key).digest("hex").slice(0, 24)}}`;
  return [`${tag}:m`, `${tag}:e`, `${tag}:t`];
}

function channelOf(key: string): string {
  return keysOf(key)[0].slice(0, -2);
}

/** The channel a node listens on for cancels of its generations. */
export function nodeChannel(node: string): string {
  return `${PREFIX}node:${node}`;
}
