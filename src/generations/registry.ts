/**
 * The generation registry: every generation of this node, started by either
 * door. It decides once what both doors share: request-id uniqueness, the
 * resume token, who may resume or cancel, subscriber limits, and the sweep
 * that cancels generations nobody listens to and forgets finished ones.
 *
 * Resume without gap or duplicate: attach to the live generation first
 * (buffering), then read the log after the client's last `seq`, deliver it,
 * then the buffered events above the last delivered `seq`, then live.
 */
import type { ChatRunner } from "../core/chat.ts";
import { type Clock, type TimerId, within } from "../core/clock.ts";
import { ChatError } from "../core/errors.ts";
import type { Logger } from "../core/logger.ts";
import { spawn } from "../core/spawn.ts";
import type { EventLog, GenerationRecord, LogRead, RemoteGenerations } from "./event_log.ts";
import {
  type DetachReason,
  Generation,
  type GenerationSpec,
  type Subscriber,
} from "./generation.ts";
import { newResumeToken, tokenMatches } from "./resume_token.ts";
import { Replay } from "./replay.ts";
import { RemoteFollower } from "./remote_follower.ts";
import type { YychatMetrics } from "../observability/yychat_metrics.ts";

export interface GenerationRegistryOptions {
  runner: ChatRunner;
  log: EventLog;
  clock: Clock;
  logger: Logger;
  /** This node's id (cluster mode), recorded with each generation. */
  nodeId: string;
  /** Longest `chunk` content, in UTF-16 units. */
  maxChunkChars: number;
  /** A running generation without subscribers this long is cancelled. */
  detachedLimitMs: number;
  /** Subscribers of one generation at once. */
  maxSubscribers: number;
  /** Generation and resume metrics. */
  metrics?: YychatMetrics;
  /** Cluster mode: how often a follower of another node's generation checks the log. */
  watchdogMs?: number;
}

/** What a resumed subscriber learns before the replay. */
export interface ResumeInfo {
  recovered: boolean;
  /** Whether the generation streams its text (`chunk` events) or ends with one `end`. */
  stream: boolean;
  status: "running" | "done";
  /** The highest `seq` the generation had when the log was read. */
  topSeq: number;
  /** When the log no longer held `last_seq + 1`: the text through `snapshot.seq`. */
  snapshot?: { seq: number; content: string };
}

/** A subscriber that can be told how its resume went before the replay. */
export interface ResumeSubscriber extends Subscriber {
  resumed(info: ResumeInfo): void;
}

export interface ResumeRequest {
  principal: string;
  requestId: string;
  token: string;
  /** The last `seq` the client saw (0 for none). */
  afterSeq: number;
}

/** A subscriber's hold on a generation: what its door may do with it. */
export interface Attachment {
  readonly requestId: string;
  /** Stops the generation (any subscriber may). */
  cancel(): void;
  /** Unsubscribes; `disconnect` may cancel it (policy `cancel`), `leave` never does. */
  detach(reason: DetachReason): void;
}

/** A started generation and the token that resumes it. */
export interface Started {
  attachment: Attachment;
  resumeToken: string;
}

export class GenerationRegistry {
  readonly #opts: GenerationRegistryOptions;
  /** Running generations of this node. */
  readonly #running = new Map<string, Generation>();
  /** Subscriptions to generations running on other nodes (cluster mode). */
  readonly #followers = new Set<RemoteFollower>();
  readonly #sweepTimer: TimerId;
  #draining = false;

  constructor(options: GenerationRegistryOptions) {
    this.#opts = options;
    const period = Math.max(100, Math.min(5000, options.detachedLimitMs / 4));
    this.#sweepTimer = options.clock.setInterval(() => this.sweep(), period);
  }

  /** Generations running now. */
  get running(): number {
    return this.#running.size;
  }

  /**
   * Starts a generation. `subscriberFor` receives the resume token and gives
   * the first subscriber, attached before any event is emitted; the run
   * begins on the next microtask, so the caller can file the attachment
   * first.
   *
   * @throws {ChatError} `server_shutting_down`, or `duplicate_request_id` while one with the same id runs
   */
  start(spec: GenerationSpec, subscriberFor: (resumeToken: string) => Subscriber): Started {
    this.#refuseWhileDraining();
    const key = keyOf(spec.principal, spec.requestId);
    if (this.#running.has(key)) {
      throw new ChatError(
        "duplicate_request_id",
        `A stream with request_id "${spec.requestId}" is already running`,
      );
    }
    const { token, hash } = newResumeToken();
    const { clock, logger, log, maxChunkChars, metrics } = this.#opts;
    const generation = new Generation(key, spec, {
      log,
      clock,
      logger,
      maxChunkChars,
      metrics,
      onFinished: (g) => {
        if (this.#running.get(g.key) === g) this.#running.delete(g.key);
      },
    });
    // A finished generation with the same id is replaced: its log goes, so
    // its old token and old `seq`s can never be mixed with the new ones.
    log.create({
      key,
      requestId: spec.requestId,
      principal: spec.principal,
      tokenHash: hash,
      node: this.#opts.nodeId,
      stream: spec.stream,
      status: "running",
      createdAtMs: clock.now(),
    });
    this.#running.set(key, generation);
    const subscriber = subscriberFor(token);
    generation.attach(subscriber);
    spawn(logger, "generation", Promise.resolve().then(() => generation.run(this.#opts.runner)));
    return { attachment: attachmentOf(generation, subscriber), resumeToken: token };
  }

  /**
   * Attaches `subscriber` to generation `requestId` and replays what it
   * missed after `afterSeq` (see the module doc), then live events.
   *
   * @throws {ChatError} `resume_unavailable` (unknown, expired, another principal's, wrong
   *   token: one answer for all), `too_many_subscribers`
   */
  async resume(request: ResumeRequest, subscriber: ResumeSubscriber): Promise<Attachment> {
    const resumes = this.#opts.metrics?.resumes;
    try {
      const { attachment, recovered } = await this.#resume(request, subscriber);
      resumes?.labels(recovered ? "recovered" : "snapshot").inc();
      return attachment;
    } catch (err) {
      if (err instanceof ChatError && err.code === "resume_unavailable") {
        resumes?.labels("unavailable").inc();
      }
      throw err;
    }
  }

  async #resume(
    request: ResumeRequest,
    subscriber: ResumeSubscriber,
  ): Promise<{ attachment: Attachment; recovered: boolean }> {
    const key = keyOf(request.principal, request.requestId);
    const record = await this.#opts.log.get(key);
    if (record === undefined || !tokenMatches(request.token, record.tokenHash)) {
      throw unavailable(request.requestId);
    }
    const generation = this.#running.get(key);
    const remote = this.#opts.log.remote;
    if (generation === undefined && record.status === "running" && remote !== undefined) {
      return await this.#follow(record, request, subscriber, remote);
    }
    if (generation === undefined) {
      // Finished here (or, without a cluster, nowhere else): replay the log.
      const read = await this.#opts.log.read(key, request.afterSeq);
      if (read === undefined || read.status !== "done") throw unavailable(request.requestId);
      const replay = new Replay(subscriber, request.afterSeq);
      await replay.release(read, record.stream);
      replay.finished();
      return {
        attachment: attachmentOf(undefined, replay, request.requestId),
        recovered: read.recovered,
      };
    }
    if (generation.subscriberCount >= this.#opts.maxSubscribers) {
      throw new ChatError(
        "too_many_subscribers",
        `Too many subscribers: generation "${request.requestId}" already has ${this.#opts.maxSubscribers}`,
      );
    }
    const replay = new Replay(subscriber, request.afterSeq);
    generation.attach(replay);
    let read: LogRead | undefined;
    try {
      read = await this.#opts.log.read(key, request.afterSeq);
    } catch (err) {
      generation.detach(replay, "leave");
      throw err;
    }
    if (read === undefined) {
      generation.detach(replay, "leave");
      throw unavailable(request.requestId);
    }
    if (!await replay.release(read, record.stream)) generation.detach(replay, "disconnect");
    return { attachment: attachmentOf(generation, replay), recovered: read.recovered };
  }

  /** Subscribes to a generation running on another node (cluster mode). */
  async #follow(
    record: GenerationRecord,
    request: ResumeRequest,
    subscriber: ResumeSubscriber,
    remote: RemoteGenerations,
  ): Promise<{ attachment: Attachment; recovered: boolean }> {
    this.#refuseWhileDraining();
    const replay = new Replay(subscriber, request.afterSeq);
    const follower = new RemoteFollower({
      record,
      replay,
      log: this.#opts.log,
      remote,
      clock: this.#opts.clock,
      logger: this.#opts.logger,
      watchdogMs: this.#opts.watchdogMs ?? 2000,
      onStop: (f) => this.#followers.delete(f),
    });
    this.#followers.add(follower);
    if (!await follower.start(request.afterSeq)) throw unavailable(request.requestId);
    return {
      attachment: {
        requestId: request.requestId,
        cancel: () => follower.cancel(),
        detach: () => follower.stop(),
      },
      recovered: replay.recovered,
    };
  }

  /** Cancels running generation `key` of this node (a cancel sent by another node). */
  cancelKey(key: string): boolean {
    const generation = this.#running.get(key);
    generation?.cancel();
    return generation !== undefined;
  }

  /** Cancels generations detached too long and forgets finished ones past the window. */
  sweep(): void {
    const now = this.#opts.clock.now();
    for (const generation of this.#running.values()) {
      const since = generation.detachedSinceMs;
      if (since !== undefined && now - since >= this.#opts.detachedLimitMs) {
        generation.cancel("Cancelled: no client listened for STREAM_DETACHED_LIMIT");
      }
    }
    this.#opts.log.expire(now);
  }

  /** Resolves once every generation running now has finished. */
  async settled(): Promise<void> {
    await Promise.all([...this.#running.values()].map((g) => g.done));
  }

  /**
   * Refuses new generations, waits up to `graceMs` for running ones, cancels
   * the rest and waits (bounded) for them to end.
   */
  async drain(graceMs: number): Promise<void> {
    this.#draining = true;
    await within(this.settled(), graceMs, this.#opts.clock);
    for (const g of this.#running.values()) g.cancel("Cancelled: the server is shutting down");
    await within(this.settled(), 1000, this.#opts.clock);
  }

  /** @throws {ChatError} `server_shutting_down` once `drain` began */
  #refuseWhileDraining(): void {
    if (this.#draining) {
      throw new ChatError("server_shutting_down", "The server is shutting down: no new requests");
    }
  }

  /** Stops the sweep and the followers, and releases the log. */
  async close(): Promise<void> {
    this.#opts.clock.clearInterval(this.#sweepTimer);
    for (const follower of [...this.#followers]) follower.stop();
    await this.#opts.log.close();
  }
}

function attachmentOf(
  generation: Generation | undefined,
  subscriber: Subscriber,
  requestId = generation?.spec.requestId ?? "",
): Attachment {
  return {
    requestId,
    cancel: () => generation?.cancel(),
    detach: (reason) => generation?.detach(subscriber, reason),
  };
}

/** The registry key: one generation per request id per principal. */
function keyOf(principal: string, requestId: string): string {
  return `${principal}\u0000${requestId}`;
}

function unavailable(requestId: string): ChatError {
  return new ChatError(
    "resume_unavailable",
    `Cannot resume "${requestId}": it is unknown, expired, or the token does not match` +
      " (a completed reply is in the conversation's memory)",
  );
}
