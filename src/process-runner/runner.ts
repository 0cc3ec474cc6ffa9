/**
 * Runs short-lived programs (CNI plugins, `du`) from a long-lived helper process
 * instead of from the shim itself.
 *
 * Why: Node's `spawn` forks the calling process and waits, on the event loop, until the
 * child has exec'd; the fork copies the page tables of the whole shim, so each spawn
 * blocks every RPC for several ms, more as the heap grows (the CPU profile of the
 * node-load bench showed spawn as the largest single cost on the main thread, and the
 * relist and ExecSync tails followed it). The helper is a small Node process started
 * once: a request to it is a line written to a pipe, and the fork cost lands on its
 * event loop, which runs nothing else.
 *
 * Semantics are those of runLocal (same environment, stdin, caps, timeout, process
 * group); when the helper dies, the requests it held fail as a spawn error and the next
 * request starts a new one. Without a compiled helper (running from TypeScript sources
 * with no dist/) programs are run in-process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { runLocal, type ProcessOutcome, type ProcessRequest } from './run-local.js';

/** The helper holds a few requests' buffers at most: a small young generation keeps it small. */
const HELPER_NODE_FLAGS = ['--max-semi-space-size=1'];

/** dist/process-runner/helper.js, also when this module runs from src/ under the test runner. */
export function defaultHelperPath(): string | null {
  const here = fileURLToPath(import.meta.url);
  const beside = join(dirname(here), 'helper.js');
  if (here.endsWith('.js')) return existsSync(beside) ? beside : null;
  const built = join(dirname(here), '..', '..', 'dist', 'process-runner', 'helper.js');
  return existsSync(built) ? built : null;
}

interface Helper {
  child: ChildProcess;
  pending: Map<number, (outcome: ProcessOutcome) => void>;
}

export class ProcessRunner {
  private helper: Helper | undefined;
  private nextId = 1;

  constructor(private readonly helperPath: string | null = defaultHelperPath()) {}

  run(request: ProcessRequest): Promise<ProcessOutcome> {
    if (!this.helperPath) return runLocal(request);
    const helper = this.ensureHelper(this.helperPath);
    const id = this.nextId++;
    return new Promise((resolve) => {
      helper.pending.set(id, resolve);
      this.setRef(helper);
      helper.child.stdin!.write(`${JSON.stringify({ id, request })}\n`);
    });
  }

  /** The helper's pid, for measurements (undefined until the first request). */
  get helperPid(): number | undefined {
    return this.helper?.child.pid;
  }

  /** Ends the helper (it finishes what it runs first). */
  close(): void {
    this.helper?.child.stdin?.end();
    this.helper = undefined;
  }

  private ensureHelper(path: string): Helper {
    if (this.helper) return this.helper;
    const child = spawn(process.execPath, [...HELPER_NODE_FLAGS, path], { stdio: ['pipe', 'pipe', 'inherit'] });
    const helper: Helper = { child, pending: new Map() };
    this.helper = helper;
    createInterface({ input: child.stdout!, crlfDelay: Infinity }).on('line', (line) => {
      let msg: { id: number; outcome: ProcessOutcome };
      try {
        msg = JSON.parse(line) as { id: number; outcome: ProcessOutcome };
      } catch {
        return;
      }
      const resolve = helper.pending.get(msg.id);
      if (!resolve) return;
      helper.pending.delete(msg.id);
      this.setRef(helper);
      resolve(msg.outcome);
    });
    // A write to a helper that just died must not throw out of run(): its exit fails the request.
    child.stdin!.on('error', () => undefined);
    const fail = (why: string) => {
      if (this.helper === helper) this.helper = undefined;
      for (const resolve of helper.pending.values()) {
        resolve({ stdout: '', stderr: '', exitCode: null, signal: null, timedOut: false, spawnError: { message: why } });
      }
      helper.pending.clear();
    };
    child.on('error', (err) => fail(`process runner helper: ${err.message}`));
    child.on('exit', (code, signal) => fail(`process runner helper exited (${signal ?? `status ${code}`}) while running it`));
    return helper;
  }

  /** An idle helper must not keep the shim (or a test process) alive. */
  private setRef(helper: Helper): void {
    const busy = helper.pending.size > 0;
    const handles = [helper.child, helper.child.stdin, helper.child.stdout] as Array<{ ref?(): void; unref?(): void } | null>;
    for (const h of handles) busy ? h?.ref?.() : h?.unref?.();
  }
}

/** The process-wide runner: one helper per shim. */
export const processRunner = new ProcessRunner();
