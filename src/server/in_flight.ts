/**
 * REST requests in flight, so a graceful shutdown can wait for them (bounded)
 * before the services they use are closed. Requests still running when the
 * grace period ends are cancelled through `signal`.
 */
export class InFlight {
  #count = 0;
  #idle: (() => void) | undefined;
  readonly #stop = new AbortController();

  /** Aborted when shutdown stops waiting: long requests end themselves. */
  get signal(): AbortSignal {
    return this.#stop.signal;
  }

  /** Counts one request; call the result (once or more) when it is over. */
  enter(): () => void {
    this.#count++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      if (--this.#count === 0) this.#idle?.();
    };
  }

  /** Waits up to `graceMs` for every request, cancels the rest, waits up to 1 s more. */
  async drain(graceMs: number): Promise<void> {
    if (!await this.#settled(graceMs)) {
      this.#stop.abort(new DOMException("Server shutting down", "AbortError"));
      await this.#settled(1000);
    }
  }

  #settled(ms: number): Promise<boolean> {
    if (this.#count === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), ms);
      this.#idle = () => {
        clearTimeout(timer);
        resolve(true);
      };
    });
  }
}
