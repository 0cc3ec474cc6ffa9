/**
 * An undo stack for multi-step operations (RunPodSandbox): each step that changed the
 * node pushes how to revert it; on failure they run in reverse. Each undo step gets
 * its own time limit, independent of the caller's deadline, because a cancelled
 * kubelet call must not leave an IP or a container behind.
 */
import type { Logger } from '../logger.js';

interface Step {
  what: string;
  revert: () => Promise<unknown>;
  /** When this step fails, the older steps must not run (they would destroy what a retry needs). */
  stopOnFailure: boolean;
}

export class UndoStack {
  private readonly steps: Step[] = [];

  /** A CNI DEL runs a whole plugin chain, each plugin with its own limit: allow for that. */
  constructor(
    private readonly logger: Logger,
    private readonly stepTimeoutMs = 5 * 60_000,
  ) {}

  push(what: string, revert: () => Promise<unknown>, opts: { stopOnFailure?: boolean } = {}): void {
    this.steps.push({ what, revert, stopOnFailure: opts.stopOnFailure ?? false });
  }

  /**
   * Runs every step, newest first; a failing step is logged and the rest still run,
   * unless the step says that what remains must stay for a retry.
   */
  async run(): Promise<void> {
    while (this.steps.length) {
      const step = this.steps.pop()!;
      try {
        await withTimeout(step.revert(), this.stepTimeoutMs, step.what);
        this.logger.info({ undo: step.what }, 'rolled back');
      } catch (err) {
        this.logger.error({ undo: step.what, err: (err as Error).message }, 'rollback step failed');
        if (step.stopOnFailure) {
          this.logger.error({ kept: this.steps.map((s) => s.what) }, 'left in place for a later Stop/Remove to retry');
          this.steps.length = 0;
        }
      }
    }
  }

  clear(): void {
    this.steps.length = 0;
  }
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what}: no result within ${ms} ms`)), ms);
    timer.unref();
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}
