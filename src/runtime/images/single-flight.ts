/**
 * Concurrent callers with the same key share one run of the work. The kubelet
 * may ask for the same image for several pods at once (serialized pulls off,
 * or a retry while the first pull is still going); dockerd would pull each time.
 *
 * Each caller may give up on its own (its AbortSignal): it stops waiting, but the
 * shared work is aborted only when every caller has given up, so one impatient
 * caller cannot fail the others.
 */
export class SingleFlight<V> {
  private readonly inFlight = new Map<string, { promise: Promise<V>; waiters: number; abort: AbortController }>();

  /** How many distinct keys are running now (for tests and metrics). */
  get size(): number {
    return this.inFlight.size;
  }

  run(key: string, work: (signal: AbortSignal) => Promise<V>, signal?: AbortSignal): Promise<V> {
    signal?.throwIfAborted();
    let shared = this.inFlight.get(key);
    // A run whose callers all gave up is winding down: a new caller starts afresh.
    if (!shared || shared.abort.signal.aborted) {
      const abort = new AbortController();
      const entry = { promise: undefined as unknown as Promise<V>, waiters: 0, abort };
      entry.promise = Promise.resolve()
        .then(() => work(abort.signal))
        .finally(() => {
          if (this.inFlight.get(key) === entry) this.inFlight.delete(key);
        });
      this.inFlight.set(key, entry);
      shared = entry;
    }
    const run = shared;
    run.waiters++;
    if (!signal) return run.promise.finally(() => run.waiters--);
    return new Promise<V>((resolve, reject) => {
      const leave = () => {
        signal.removeEventListener('abort', onAbort);
        run.waiters--;
      };
      const onAbort = () => {
        leave();
        if (run.waiters === 0) run.abort.abort(signal.reason);
        reject(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      run.promise.then(
        (v) => {
          if (signal.aborted) return;
          leave();
          resolve(v);
        },
        (err: unknown) => {
          if (signal.aborted) return;
          leave();
          reject(err);
        },
      );
    });
  }
}
