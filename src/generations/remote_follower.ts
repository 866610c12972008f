/**
 * Follows a generation that runs on another node (cluster mode): subscribe
 * to its live events first, then read the log after the client's `seq`,
 * then merge by `seq` (the `Replay`). The log is the truth; pub/sub only
 * wakes us up, so a watchdog re-reads the durable state: a finished
 * generation whose last message was lost is completed from the log, and one
 * whose node died (its lease expired) ends with `stream_lost` after what was
 * logged.
 */
import type { Clock, TimerId } from "../core/clock.ts";
import type { Logger } from "../core/logger.ts";
import { errorMessage } from "../core/spawn.ts";
import type { EventLog, GenerationRecord, RemoteGenerations } from "./event_log.ts";
import type { Replay } from "./replay.ts";

export interface RemoteFollowerOptions {
  record: GenerationRecord;
  replay: Replay;
  log: EventLog;
  remote: RemoteGenerations;
  clock: Clock;
  logger: Logger;
  /** How often the durable state is checked (and the owner's lease). */
  watchdogMs: number;
  /** Told once, when the follower stops (finished, lost, or detached). */
  onStop(follower: RemoteFollower): void;
}

export class RemoteFollower {
  readonly #opts: RemoteFollowerOptions;
  #unsubscribe: (() => void) | undefined;
  #timer: TimerId | undefined;
  #stopped = false;
  #checking = false;

  constructor(options: RemoteFollowerOptions) {
    this.#opts = options;
  }

  /**
   * Subscribes, replays the log after `afterSeq`, and starts the watchdog.
   * False when the log no longer knows the generation (nothing delivered).
   */
  async start(afterSeq: number): Promise<boolean> {
    const { record, replay, log, remote } = this.#opts;
    this.#unsubscribe = await remote.subscribe(record.key, (event) => {
      if (event === null) this.#check(true);
      else if (!replay.push(event)) this.stop();
    });
    const read = await log.read(record.key, afterSeq);
    if (read === undefined || read.status === "lost") {
      this.stop();
      return false;
    }
    if (!await replay.release(read, record.stream)) {
      this.stop();
      return true;
    }
    if (read.status === "done") {
      replay.finished();
      this.stop();
      return true;
    }
    this.#timer = this.#opts.clock.setInterval(() => this.#check(false), this.#opts.watchdogMs);
    return true;
  }

  /** Asks the owner node to cancel the generation. */
  cancel(): void {
    this.#opts.remote.cancel(this.#opts.record).catch((err) =>
      this.#opts.logger.warn("remote_cancel_failed", { error: errorMessage(err) })
    );
  }

  /** Unsubscribes and stops the watchdog (idempotent). */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#unsubscribe?.();
    if (this.#timer !== undefined) this.#opts.clock.clearInterval(this.#timer);
    this.#opts.onStop(this);
  }

  /** Re-reads the durable state: completes a finished generation, ends a lost one. */
  async #check(finishedMessage: boolean): Promise<void> {
    if (this.#stopped || this.#checking) return;
    this.#checking = true;
    const { record, replay, log, remote } = this.#opts;
    try {
      const now = await log.get(record.key);
      const done = now?.status === "done";
      const ownerAlive = done || finishedMessage ? true : await remote.nodeAlive(record.node);
      if (!done && now?.status === "running" && ownerAlive) return;
      // Finished, lost, expired, or its node died: deliver what was logged, then end.
      const read = await log.read(record.key, replay.lastSeq);
      if (read?.recovered) { for (const e of read.events) replay.push(e); }
      if (read?.status !== "done") {
        replay.push({
          seq: replay.lastSeq + 1,
          type: "error",
          code: "stream_lost",
          message: "The node running this reply went away: what it logged was delivered",
        });
      }
      replay.finished();
      this.stop();
    } catch (err) {
      // Redis unreachable: try again at the next tick.
      this.#opts.logger.debug("remote_check_failed", { error: errorMessage(err) });
    } finally {
      this.#checking = false;
    }
  }
}
