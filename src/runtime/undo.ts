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
}

export class UndoStack {
  private readonly steps: Step[] = [];

  constructor(
    private readonly logger: Logger,
    private readonly stepTimeoutMs = 60_000,
  ) {}

  push(what: string, revert: () => Promise<unknown>): void {
    this.steps.push({ what, revert });
  }

  /** Runs every step, newest first; a failing step is logged and the rest still run. */
  async run(): Promise<void> {
    while (this.steps.length) {
      const step = this.steps.pop()!;
      try {
        await withTimeout(step.revert(), this.stepTimeoutMs, step.what);
        this.logger.info({ undo: step.what }, 'rolled back');
      } catch (err) {
        this.logger.error({ undo: step.what, err: (err as Error).message }, 'rollback step failed');
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
