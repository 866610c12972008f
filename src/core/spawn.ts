/**
 * The one way to start a promise nobody awaits: any rejection is logged
 * instead of becoming an unhandled rejection that kills the process.
 */
import type { Logger } from "./logger.ts";

export function spawn(logger: Logger, what: string, promise: Promise<unknown>): void {
  promise.catch((err) => logger.error("task_failed", { task: what, error: errorMessage(err) }));
}

/** A printable message for any thrown value. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
