/**
 * This node's membership of the cluster, in Redis: its lease (renewed by a
 * heartbeat; a node that dies stops renewing and its lease expires), the
 * cluster-wide connection slots (one atomic Lua step admits against
 * `WS_MAX_CONNECTIONS` across every live node), the statistics of every
 * node (summed for `status_response`), and the cancels other nodes send
 * for generations running here.
 *
 * Redis down: slots fall back to this node's own limit (the supervisor's),
 * statistics to this node's, and everything resyncs when Redis returns.
 */
import type { Clock, TimerId } from "../core/clock.ts";
import type { Logger } from "../core/logger.ts";
import { errorMessage, spawn } from "../core/spawn.ts";
import type { RedisConnection } from "./redis_connection.ts";
import { NODE_PREFIX, nodeChannel, nodeKey, NODES_KEY } from "./redis_event_log.ts";
import { ADMIT, HEARTBEAT, RESYNC } from "./scripts.ts";

/** The five stage-1 figures of one node. */
export interface NodeStats {
  total_connections: number;
  active_connections: number;
  total_messages: number;
  max_connections: number;
  uptime: number;
}

export interface ClusterNodeOptions {
  redis: RedisConnection;
  nodeId: string;
  /** A node that misses its heartbeats this long is dead: its slots and generations go. */
  leaseMs: number;
  /** Cluster-wide `WS_MAX_CONNECTIONS`. */
  maxConnections: number;
  clock: Clock;
  logger: Logger;
  /** This node's own figures, sent with each heartbeat. */
  localStats(): NodeStats;
  /** A generation of this node that another node asked to cancel. */
  onCancel(key: string): void;
}

export class ClusterNode {
  readonly #opts: ClusterNodeOptions;
  readonly #redis: RedisConnection;
  /** Connections of this node holding a cluster slot (re-registered after a Redis restart). */
  readonly #slots = new Set<string>();
  #timer: TimerId | undefined;
  /** The other nodes' figures as of the last heartbeat. */
  #others: NodeStats[] = [];
  #nodes = 1;
  #beating = false;

  constructor(options: ClusterNodeOptions) {
    this.#opts = options;
    this.#redis = options.redis;
    options.redis.onChange((up) => {
      if (up) spawn(options.logger, "cluster_resync", this.#resync());
      else {
        this.#others = [];
        this.#nodes = 1;
      }
    });
  }

  get nodeId(): string {
    return this.#opts.nodeId;
  }

  /** Live nodes as of the last heartbeat (1 while Redis is down). */
  get nodes(): number {
    return this.#nodes;
  }

  /** Whether the node works without Redis (per-node limits, local logs only). */
  get degraded(): boolean {
    return !this.#redis.up;
  }

  /** Joins: listens for cancels and starts the heartbeat. */
  async start(): Promise<void> {
    await this.#redis.subscriber.subscribe(nodeChannel(this.#opts.nodeId), () => {
      spawn(this.#opts.logger, "cluster_cancels", this.#takeCancels());
    }).catch(() => {});
    if (this.#redis.up) await this.#resync();
    this.#timer = this.#opts.clock.setInterval(
      () => spawn(this.#opts.logger, "cluster_heartbeat", this.#heartbeat()),
      Math.max(50, Math.floor(this.#opts.leaseMs / 4)),
    );
  }

  /**
   * Takes a cluster-wide slot for connection `id`. While Redis is down the
   * node admits on its own limit (the supervisor checks it) and registers
   * the slot when Redis returns.
   */
  async acquire(id: string): Promise<boolean> {
    if (!this.#redis.up) {
      this.#slots.add(id);
      return true;
    }
    try {
      const ok = await this.#redis.eval(ADMIT, [NODES_KEY], [
        this.#opts.nodeId,
        id,
        this.#opts.maxConnections,
        this.#opts.leaseMs,
        NODE_PREFIX,
      ]);
      if (Number(ok) !== 1) return false;
    } catch (err) {
      this.#opts.logger.warn("cluster_admit_failed", { error: errorMessage(err) });
    }
    this.#slots.add(id);
    return true;
  }

  /** Gives connection `id`'s slot back. */
  release(id: string): void {
    if (!this.#slots.delete(id) || !this.#redis.up) return;
    this.#redis.commands.sRem(nodeKey(this.#opts.nodeId, "conns"), id).catch(() => {});
  }

  /** The cluster-wide figures: this node's live ones plus the others' last reported. */
  stats(local: NodeStats): NodeStats & { nodes: number; node: NodeStats & { id: string } } {
    const sum = (f: keyof NodeStats) => this.#others.reduce((n, s) => n + s[f], local[f]);
    return {
      total_connections: sum("total_connections"),
      active_connections: sum("active_connections"),
      total_messages: sum("total_messages"),
      max_connections: this.#opts.maxConnections,
      uptime: local.uptime,
      nodes: this.#nodes,
      node: { id: this.#opts.nodeId, ...local },
    };
  }

  /** Leaves: stops the heartbeat and gives back this node's lease and slots. */
  async close(): Promise<void> {
    if (this.#timer !== undefined) this.#opts.clock.clearInterval(this.#timer);
    this.#timer = undefined;
    if (!this.#redis.up) return;
    const id = this.#opts.nodeId;
    await Promise.allSettled([
      this.#redis.commands.zRem(NODES_KEY, id),
      this.#redis.commands.del([nodeKey(id, "conns"), nodeKey(id, "stats")]),
      this.#redis.subscriber.unsubscribe(nodeChannel(id)),
    ]);
  }

  async #heartbeat(): Promise<void> {
    if (!this.#redis.up || this.#beating) return;
    this.#beating = true;
    try {
      const local = this.#opts.localStats();
      const reply = await this.#redis.eval(HEARTBEAT, [NODES_KEY], [
        this.#opts.nodeId,
        this.#opts.leaseMs,
        NODE_PREFIX,
        ...Object.entries(local).flatMap(([k, v]) => [k, v]),
      ]) as string[];
      const others: NodeStats[] = [];
      let nodes = 0;
      for (let i = 0; i < reply.length;) {
        const node = reply[i++]!;
        const fields: Record<string, number> = {};
        while (i < reply.length && reply[i] !== "") {
          fields[reply[i]!] = Number(reply[i + 1]), i += 2;
        }
        i++;
        nodes++;
        if (node !== this.#opts.nodeId) others.push(fields as unknown as NodeStats);
      }
      this.#others = others;
      this.#nodes = Math.max(1, nodes);
      await this.#takeCancels();
    } catch (err) {
      this.#opts.logger.debug("cluster_heartbeat_failed", { error: errorMessage(err) });
    } finally {
      this.#beating = false;
    }
  }

  /** Registers this node's slots again (Redis restarted without them) and beats. */
  async #resync(): Promise<void> {
    try {
      await this.#redis.eval(RESYNC, [NODES_KEY], [
        this.#opts.nodeId,
        this.#opts.leaseMs,
        NODE_PREFIX,
        ...this.#slots,
      ]);
      await this.#heartbeat();
    } catch (err) {
      this.#opts.logger.debug("cluster_resync_failed", { error: errorMessage(err) });
    }
  }

  /** Cancels asked by other nodes: the set in Redis is the truth, the message a wake-up. */
  async #takeCancels(): Promise<void> {
    const set = nodeKey(this.#opts.nodeId, "cancel");
    const [keys] = await this.#redis.commands.multi().sMembers(set).del(set).exec() as unknown as [
      string[],
    ];
    for (const key of keys ?? []) this.#opts.onCancel(key);
  }
}
