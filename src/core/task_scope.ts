/**
 * The running child tasks (streams) of one connection, keyed by
 * `request_id`. Each task gets its own AbortController linked to the
 * connection's signal, so `cancel`, a disconnect or shutdown reach the
 * provider request and tool calls underneath. Restart policy: temporary
 * (a finished or failed task is never restarted).
 */
export class TaskScope {
  readonly #tasks = new Map<string, { controller: AbortController; done: Promise<void> }>();
  readonly #parent: AbortSignal;

  constructor(parent: AbortSignal) {
    this.#parent = parent;
  }

  get size(): number {
    return this.#tasks.size;
  }

  has(id: string): boolean {
    return this.#tasks.has(id);
  }

  /**
   * Starts `run` as task `id`. The task removes itself when it settles;
   * `run` must handle its own errors (a rejection here is a bug and is
   * passed to `onCrash`).
   */
  start(
    id: string,
    run: (signal: AbortSignal) => Promise<void>,
    onCrash: (err: unknown) => void,
  ): void {
    const controller = new AbortController();
    const signal = AbortSignal.any([this.#parent, controller.signal]);
    const done = run(signal).catch(onCrash).finally(() => this.#tasks.delete(id));
    this.#tasks.set(id, { controller, done });
  }

  /** Aborts task `id`; false when no such task runs. */
  cancel(id: string, reason?: unknown): boolean {
    const task = this.#tasks.get(id);
    if (task === undefined) return false;
    task.controller.abort(reason);
    return true;
  }

  cancelAll(reason?: unknown): void {
    for (const task of this.#tasks.values()) task.controller.abort(reason);
  }

  /** Resolves when every task running now has settled. */
  async settled(): Promise<void> {
    await Promise.all([...this.#tasks.values()].map((t) => t.done));
  }
}
