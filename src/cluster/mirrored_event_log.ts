/**
 * The event log of a cluster node: every generation is kept in this node's
 * memory (its own subscribers and resumes never wait for Redis) and mirrored
 * to Redis for the other nodes. A generation whose mirror missed a write
 * (Redis down) is marked `lost` in Redis and stays resumable here only, so
 * no node ever replays a log with a gap. While Redis is down the node works
 * on its memory log alone, and mirrors again from the next generation on.
 */
import type {
  EventLog,
  GenerationEvent,
  GenerationRecord,
  LogRead,
  MemoryEventLog,
} from "../generations/mod.ts";
import type { RemoteGenerations } from "../generations/event_log.ts";
import type { RedisEventLog } from "./redis_event_log.ts";

export class MirroredEventLog implements EventLog {
  readonly #local: MemoryEventLog;
  readonly #redis: RedisEventLog;
  readonly #now: () => number;
  /** Generations whose every write so far reached Redis. */
  readonly #mirrored = new Set<string>();

  constructor(local: MemoryEventLog, redis: RedisEventLog, now: () => number) {
    this.#local = local;
    this.#redis = redis;
    this.#now = now;
  }

  get remote(): RemoteGenerations {
    return this.#redis;
  }

  /** Called by the Redis log when a write of `key` failed. */
  writeFailed(key: string): void {
    if (!this.#mirrored.delete(key)) return;
    this.#redis.abandon(key, this.#now());
  }

  create(record: GenerationRecord): void {
    this.#local.create(record);
    this.#mirrored.add(record.key);
    this.#redis.create(record);
  }

  append(key: string, event: GenerationEvent): void {
    this.#local.append(key, event);
    if (this.#mirrored.has(key)) this.#redis.append(key, event);
  }

  finish(key: string, atMs: number): void {
    this.#local.finish(key, atMs);
    if (this.#mirrored.delete(key)) this.#redis.finish(key, atMs);
  }

  // While Redis is down, what only Redis knows is unknown here: a resume of
  // another node's generation is `resume_unavailable`, not a fault.
  async get(key: string): Promise<GenerationRecord | undefined> {
    return await this.#local.get(key) ?? await this.#redis.get(key).catch(() => undefined);
  }

  async read(key: string, afterSeq: number): Promise<LogRead | undefined> {
    return await this.#local.read(key, afterSeq) ??
      await this.#redis.read(key, afterSeq).catch(() => undefined);
  }

  expire(nowMs: number): void {
    this.#local.expire(nowMs);
  }

  close(): Promise<void> {
    return this.#local.close();
  }
}
