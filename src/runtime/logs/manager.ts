/**
 * The log writers of all our containers: started by StartContainer, resumed when the
 * shim starts, reopened by ReopenContainerLog, stopped when the shim stops.
 *
 * Across a reopen the file no longer holds the lines written before it (the kubelet
 * renamed it away), so the writer's window is saved to `<stateDir>/logs/<id>.json` at
 * each reopen; a resume combines that checkpoint with what the new file holds.
 * Checkpoints of containers that are gone are deleted at the next resume.
 *
 * A writer that is done (its container stopped, or its follow gave up) stays in the map
 * until RemoveContainer: its window is what was written, so a writer started again for
 * the container (a reopen, a resume) goes on from there instead of from the file.
 */
import { access, mkdir, readdir, readFile, rm, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { FailedPreconditionError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import { writeFileAtomic } from '../atomic-file.js';
import type { ContainerRecord } from '../types.js';
import type { LogStream } from './cri-format.js';
import { readFileTail } from './file-tail.js';
import { ResumeWindow, type WindowState } from './resume-window.js';
import { ContainerLogWriter } from './writer.js';

/**
 * Docker's own copy, which we read from. json-file whatever the daemon's default is
 * (we need its timestamps and `since`); bounded, since the kubelet rotates the real one.
 */
export const DOCKER_LOG_CONFIG = { Type: 'json-file', Config: { 'max-size': '50m', 'max-file': '2' } };

export interface LogManagerOptions {
  docker: Docker;
  logger: Logger;
  stateDir: string;
  /** Wait before following again after a log stream broke while its container runs. */
  retryMs?: number;
}

/** What StartContainer holds between opening the file and Docker's start. */
export interface PreparedLog {
  /** Start copying (after the container started). */
  follow(): void;
  /** The start failed: close the file again. */
  abandon(): void;
}

/** A ResumeWindow's state, as JSON (the `open` series since partial lines are tracked). */
interface Checkpoint {
  stamps: string[];
  open?: { stream: LogStream; ts: string; count: number }[];
}

export class LogManager {
  private readonly writers = new Map<string, ContainerLogWriter>();
  private readonly dir: string;
  private closed = false;

  constructor(private readonly opts: LogManagerOptions) {
    this.dir = join(opts.stateDir, 'logs');
  }

  private checkpointPath(id: string): string {
    return join(this.dir, `${id}.json`);
  }

  private async readCheckpoint(id: string): Promise<WindowState | undefined> {
    try {
      const cp = JSON.parse(await readFile(this.checkpointPath(id), 'utf8')) as Checkpoint;
      return {
        stamps: cp.stamps.map((s) => BigInt(s)),
        open: (cp.open ?? []).map((o) => ({ stream: o.stream, ts: BigInt(o.ts), count: o.count })),
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        this.opts.logger.warn({ id, err: (err as Error).message }, 'ignoring unreadable log checkpoint');
      }
      return undefined;
    }
  }

  private async writeCheckpoint(id: string, state: WindowState): Promise<void> {
    const cp: Checkpoint = {
      stamps: state.stamps.map(String),
      open: state.open.map((o) => ({ stream: o.stream, ts: String(o.ts), count: o.count })),
    };
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    await writeFileAtomic(this.checkpointPath(id), JSON.stringify(cp));
  }

  /**
   * The window of what is already written: the checkpoint of the last reopen (the state
   * when the current file began), then the file's entries. When the file's tail alone
   * shows that everything before it is older than a resume needs, it alone is the window.
   */
  private async windowFor(record: ContainerRecord): Promise<ResumeWindow> {
    const cp = await this.readCheckpoint(record.id);
    // A line still open in the checkpoint: read the file back to its start at least.
    const open = cp?.open.map((o) => o.ts) ?? [];
    const since = open.length ? open.reduce((a, b) => (b < a ? b : a)) : undefined;
    const streams: LogStream[] | undefined = record.spec.tty ? ['stdout'] : undefined;
    const tail = await readFileTail(record.logPath, { since, streams });
    if (tail.truncated) {
      this.opts.logger.info({ id: record.id, bytes: tail.truncated }, 'cut an unfinished line off the container log before resuming');
    }
    const window = new ResumeWindow(tail.fromStart ? cp : undefined);
    for (const e of tail.entries) window.add(e);
    if (!tail.complete) {
      // Its start is too far back to count what a resume there would repeat: resume from
      // the newest entries instead, at the cost of the rest of that line.
      for (const o of window.forgetOpenSeries()) {
        this.opts.logger.warn({ id: record.id, stream: o.stream }, 'the unfinished line at the end of the container log started too far back; its rest is not written');
      }
    }
    return window;
  }

  /**
   * Opens the container's CRI log file (creating missing directories), resuming after
   * what it holds. Undefined when the container has no log path. Idempotent: a running
   * writer is returned as it is.
   */
  async prepare(record: ContainerRecord): Promise<PreparedLog | undefined> {
    if (!record.logPath || this.closed) return undefined;
    const existing = this.writers.get(record.id);
    if (existing && !existing.done) return { follow: () => existing.follow(), abandon: () => undefined };
    let writer: ContainerLogWriter;
    try {
      // A writer that ended knows what it wrote better than the file (which may be a new one).
      const window = existing ? new ResumeWindow(existing.window.snapshot()) : await this.windowFor(record);
      writer = new ContainerLogWriter({
        docker: this.opts.docker,
        logger: this.opts.logger,
        containerId: record.id,
        path: record.logPath,
        tty: record.spec.tty,
        window,
        retryMs: this.opts.retryMs,
      });
    } catch (err) {
      throw new FailedPreconditionError(`cannot open log file ${record.logPath}: ${(err as Error).message}`, { cause: err });
    }
    // Two concurrent prepares: the first one wins, the other closes its file.
    const raced = this.writers.get(record.id);
    if (raced && !raced.done) {
      writer.close();
      return { follow: () => raced.follow(), abandon: () => undefined };
    }
    this.writers.set(record.id, writer);
    return {
      follow: () => writer.follow(),
      abandon: () => {
        if (!writer.following) writer.close();
      },
    };
  }

  /**
   * After a shim restart: catch up and follow the log of every container that ran.
   * An exited container whose file is gone is left alone (the kubelet removed or
   * rotated it; there is nothing left to follow).
   */
  async resume(records: ContainerRecord[], stateOf: (id: string) => 'created' | 'running' | 'exited' | 'unknown' | undefined): Promise<void> {
    await this.pruneCheckpoints(new Set(records.map((r) => r.id)));
    for (const record of records) {
      const state = stateOf(record.id);
      if (!record.logPath || (state !== 'running' && state !== 'exited')) continue;
      if (state === 'exited' && !(await exists(record.logPath))) continue;
      try {
        (await this.prepare(record))?.follow();
      } catch (err) {
        this.opts.logger.warn({ id: record.id, err: (err as Error).message }, 'cannot resume container log');
      }
    }
  }

  /** ReopenContainerLog, for a container the caller found running. */
  async reopen(record: ContainerRecord): Promise<void> {
    if (!record.logPath) return;
    const writer = this.writers.get(record.id);
    if (!writer || writer.done) {
      // Nobody writes (the follow ended though the container runs): start again in the
      // new file, from what the ended writer wrote (prepare takes its window), and keep
      // that as the checkpoint the new file starts from.
      if (writer) await this.writeCheckpoint(record.id, writer.window.snapshot());
      (await this.prepare(record))?.follow();
      return;
    }
    // Take the window and switch files in one synchronous step: every entry is then
    // either counted in the checkpoint or in the new file, never in neither or both.
    const state = writer.window.snapshot();
    try {
      writer.reopen();
    } catch (err) {
      throw new FailedPreconditionError(`cannot reopen log file ${record.logPath}: ${(err as Error).message}`, { cause: err });
    }
    await this.writeCheckpoint(record.id, state);
  }

  /** RemoveContainer: stop its writer and drop its checkpoint (the log file is the kubelet's). */
  async forget(id: string): Promise<void> {
    this.writers.get(id)?.close();
    this.writers.delete(id);
    await rm(this.checkpointPath(id), { force: true });
  }

  /** Stops every writer at once (shim shutdown); Docker keeps the lines for the next start. */
  close(): void {
    this.closed = true;
    for (const w of this.writers.values()) w.close();
    this.writers.clear();
  }

  /**
   * Resolves once the writer of a container that has exited has copied all of its
   * output, or after `timeoutMs`: the CRI reports a container exited only with its log
   * complete (containerd waits for the container's IO before it records the exit), and
   * readers such as critest read the file as soon as they see the exit.
   */
  async settled(id: string, timeoutMs: number): Promise<void> {
    const writer = this.writers.get(id);
    if (!writer?.following) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([writer.wait(), new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
    clearTimeout(timer);
  }

  /** Waits for every writer's copy loop to end (tests). */
  async idle(): Promise<void> {
    await Promise.all([...this.writers.values()].map((w) => w.wait()));
  }

  private async pruneCheckpoints(keep: Set<string>): Promise<void> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch {
      return;
    }
    for (const name of names) {
      if (name.endsWith('.json') && !keep.has(name.slice(0, -5))) await unlink(join(this.dir, name)).catch(() => undefined);
    }
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
