/**
 * Cluster mode (`YYCHAT_REDIS_URL`): the implementations of the ports that
 * several nodes share through Redis — the event log (mirrored: memory here,
 * Redis for the others), cluster-wide connection slots, node leases and
 * statistics, and cancels across nodes. `src/server/app.ts` picks them from
 * configuration; nothing else imports this folder.
 */
import type { Clock } from "../core/clock.ts";
import type { Logger } from "../core/logger.ts";
import { MemoryEventLog, type MemoryEventLogOptions } from "../generations/mod.ts";
import { ClusterNode, type NodeStats } from "./cluster_node.ts";
import { MirroredEventLog } from "./mirrored_event_log.ts";
import { RedisConnection } from "./redis_connection.ts";
import { RedisEventLog } from "./redis_event_log.ts";
import * as SCRIPTS from "./scripts.ts";

export type { NodeStats } from "./cluster_node.ts";
export { ClusterNode } from "./cluster_node.ts";

export interface ClusterOptions {
  redisUrl: string;
  nodeId: string;
  /** Lease of a node without heartbeats. */
  nodeTtlMs: number;
  /** Cluster-wide `WS_MAX_CONNECTIONS`. */
  maxConnections: number;
  /** The node's own log bounds, also the per-generation bound in Redis. */
  streams: MemoryEventLogOptions & { detachedLimitMs: number };
  clock: Clock;
  logger: Logger;
  localStats(): NodeStats;
  /** A generation of this node another node asked to cancel (by registry key). */
  onCancel(key: string): void;
}

export interface Cluster {
  readonly log: MirroredEventLog;
  readonly node: ClusterNode;
  readonly redis: RedisConnection;
  close(): Promise<void>;
}

/**
 * Connects to Redis (waiting a bounded time: past it the node starts
 * degraded and joins when Redis answers). The node joins (heartbeats,
 * cancels) with `cluster.node.start()`, once what `localStats` reads exists.
 */
export async function startCluster(options: ClusterOptions): Promise<Cluster> {
  const { logger } = options;
  const redis = new RedisConnection(options.redisUrl, logger, Object.values(SCRIPTS));
  const connected = await redis.connect(3000);
  if (!connected) {
    logger.warn("cluster_degraded", {
      message: "Redis is not reachable: serving on this node alone until it is",
    });
  }
  let log: MirroredEventLog | undefined;
  const redisLog = new RedisEventLog({
    redis,
    logger,
    maxBytesPerGeneration: options.streams.maxBytesPerGeneration,
    // A running generation's keys outlive its detached limit; each event renews them.
    runningTtlMs: options.streams.detachedLimitMs + options.streams.resumeWindowMs +
      options.nodeTtlMs,
    resumeWindowMs: options.streams.resumeWindowMs,
    onWriteFailure: (key) => log?.writeFailed(key),
  });
  log = new MirroredEventLog(
    new MemoryEventLog(options.streams),
    redisLog,
    () => options.clock.now(),
  );
  const node = new ClusterNode({
    redis,
    nodeId: options.nodeId,
    leaseMs: options.nodeTtlMs,
    maxConnections: options.maxConnections,
    clock: options.clock,
    logger,
    localStats: options.localStats,
    onCancel: options.onCancel,
  });
  return {
    log,
    node,
    redis,
    async close() {
      await node.close();
      await redis.close();
    },
  };
}
