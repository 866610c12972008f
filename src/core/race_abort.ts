/**
 * Settles with `promise`, or rejects with the signal's reason as soon as
 * `signal` aborts: for work that ignores its signal (a tool, an SDK call),
 * so the caller stops waiting even if the work runs on.
 */
export function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}
