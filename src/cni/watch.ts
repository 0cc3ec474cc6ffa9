/**
 * Watching the conf dir and the bin dirs. Installers write configs and binaries in
 * several steps (create, write, chmod, rename), so events are debounced into one
 * reload. A directory that does not exist yet (CNI is often installed after the
 * runtime starts) or that is removed and recreated is polled until it is back.
 */
import { watch, type FSWatcher } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { Logger } from '../logger.js';

export interface DirWatchOptions {
  debounceMs: number;
  /** How often a missing directory is looked for. */
  retryMs: number;
  logger: Logger;
}

export interface DirWatch {
  close(): void;
}

export function watchDirs(dirs: readonly string[], onChange: () => void, opts: DirWatchOptions): DirWatch {
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  const changed = (): void => {
    if (closed) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      if (!closed) onChange();
    }, opts.debounceMs);
    timer.unref();
  };
  const watchers = [...new Set(dirs)].map((dir) => new OneDir(dir, changed, opts));
  return {
    close(): void {
      closed = true;
      if (timer) clearTimeout(timer);
      for (const w of watchers) w.close();
    },
  };
}

class OneDir {
  private watcher: FSWatcher | undefined;
  private retry: NodeJS.Timeout | undefined;
  private inode: number | undefined;
  private closed = false;

  constructor(
    private readonly dir: string,
    private readonly changed: () => void,
    private readonly opts: DirWatchOptions,
  ) {
    // Announce even the first attach: a file written between the engine's initial scan
    // and the watch starting would otherwise go unseen until the next change.
    void this.attach(true);
  }

  close(): void {
    this.closed = true;
    this.watcher?.close();
    this.watcher = undefined;
    if (this.retry) clearTimeout(this.retry);
  }

  private async attach(announce: boolean): Promise<void> {
    if (this.closed) return;
    const st = await stat(this.dir).catch(() => undefined);
    if (this.closed) return;
    if (!st?.isDirectory()) return this.scheduleRetry();
    try {
      // persistent: false — watching must never be what keeps the shim's event loop alive.
      this.watcher = watch(this.dir, { persistent: false }, () => void this.onEvent());
      this.watcher.on('error', (err) => {
        this.opts.logger.debug({ dir: this.dir, err: err.message }, 'CNI dir watch failed; polling for it');
        this.detach();
      });
      this.inode = st.ino;
    } catch {
      return this.scheduleRetry();
    }
    if (announce) this.changed();
  }

  /** Any event may be the directory itself going away (inotify then stops reporting). */
  private async onEvent(): Promise<void> {
    this.changed();
    const st = await stat(this.dir).catch(() => undefined);
    if (!this.closed && (!st?.isDirectory() || st.ino !== this.inode)) this.detach();
  }

  private detach(): void {
    this.watcher?.close();
    this.watcher = undefined;
    this.changed();
    this.scheduleRetry();
  }

  private scheduleRetry(): void {
    if (this.closed || this.retry) return;
    this.retry = setTimeout(() => {
      this.retry = undefined;
      void this.attach(true);
    }, this.opts.retryMs);
    this.retry.unref();
  }
}
