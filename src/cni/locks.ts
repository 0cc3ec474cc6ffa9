/**
 * Serialization the spec asks of runtimes: no parallel operations on one container
 * (we key by container + interface, the attachment), GC not concurrent with ADD/DEL
 * on the same network, everything else in parallel.
 *
 * Lock order is always attachment, then network; GC takes only its network lock,
 * so no cycle can form.
 */

type Release = () => void;

export { KeyedMutex } from '../keyed-mutex.js';

interface Waiter {
  exclusive: boolean;
  grant: () => void;
}

/**
 * Readers-writer lock. Waiting writers block new readers, so a periodic GC is not
 * starved by a steady stream of ADD/DEL.
 */
export class RwLock {
  private readers = 0;
  private writer = false;
  private readonly queue: Waiter[] = [];

  shared(): Promise<Release> {
    return this.enqueue(false);
  }

  exclusive(): Promise<Release> {
    return this.enqueue(true);
  }

  get idle(): boolean {
    return this.readers === 0 && !this.writer && this.queue.length === 0;
  }

  private enqueue(exclusive: boolean): Promise<Release> {
    return new Promise((resolve) => {
      this.queue.push({ exclusive, grant: () => resolve(this.releaser(exclusive)) });
      this.pump();
    });
  }

  private releaser(exclusive: boolean): Release {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      if (exclusive) this.writer = false;
      else this.readers--;
      this.pump();
    };
  }

  private pump(): void {
    while (this.queue.length > 0 && !this.writer) {
      const next = this.queue[0] as Waiter;
      if (next.exclusive) {
        if (this.readers > 0) return;
        this.queue.shift();
        this.writer = true;
        next.grant();
        return;
      }
      this.queue.shift();
      this.readers++;
      next.grant();
    }
  }
}

/** One RwLock per network name, dropped when idle. */
export class NetworkLocks {
  private readonly locks = new Map<string, RwLock>();

  async shared<T>(network: string, fn: () => Promise<T>): Promise<T> {
    return this.with(network, false, fn);
  }

  async exclusive<T>(network: string, fn: () => Promise<T>): Promise<T> {
    return this.with(network, true, fn);
  }

  private async with<T>(network: string, exclusive: boolean, fn: () => Promise<T>): Promise<T> {
    let lock = this.locks.get(network);
    if (!lock) {
      lock = new RwLock();
      this.locks.set(network, lock);
    }
    const release = await (exclusive ? lock.exclusive() : lock.shared());
    try {
      return await fn();
    } finally {
      release();
      if (lock.idle && this.locks.get(network) === lock) this.locks.delete(network);
    }
  }
}
