/**
 * Runs short-lived programs (CNI plugins, `du`) from a long-lived helper process
 * instead of from the shim itself.
 *
 * Why: Node's `spawn` forks the calling process and waits, on the event loop, until the
 * child has exec'd; the fork copies the page tables of the whole shim, so each spawn
 * blocks every RPC for several ms, more as the heap grows (the CPU profile of the
 * node-load bench showed spawn as the largest single cost on the main thread, and the
 * relist and ExecSync tails followed it). The helper is a small C program started once
 * (native/runner.c, ~1 MB RSS; a Node helper cost ~55 MB): a request to it is a binary
 * frame written to a pipe (frames.ts), and it starts programs with posix_spawn, whose
 * vfork copies no page tables.
 *
 * Semantics are those of runLocal (same environment, stdin, caps, timeout, process
 * group); when the helper dies, the requests it held fail as a spawn error and the next
 * request starts a new one. Without a built helper binary (dist/ not built by
 * `npm run build`) programs are run in-process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeAnswer, encodeRequest, FrameReader, hasNul, MAX_FRAME_BYTES } from './frames.js';
import { runLocal, type ProcessOutcome, type ProcessRequest } from './run-local.js';

export const HELPER_BINARY = 'cri-shim-runner';

/** dist/process-runner/cri-shim-runner (hack/build-runner.sh), also when this module runs from src/ under the test runner. */
export function defaultHelperPath(): string | null {
  const here = fileURLToPath(import.meta.url);
  const beside = join(dirname(here), HELPER_BINARY);
  if (here.endsWith('.js')) return existsSync(beside) ? beside : null;
  const built = join(dirname(here), '..', '..', 'dist', 'process-runner', HELPER_BINARY);
  return existsSync(built) ? built : null;
}

interface Pending {
  file: string;
  resolve: (outcome: ProcessOutcome) => void;
}

interface Helper {
  child: ChildProcess;
  pending: Map<number, Pending>;
}

function failed(message: string): ProcessOutcome {
  return { stdout: '', stderr: '', exitCode: null, signal: null, timedOut: false, spawnError: { message } };
}

export class ProcessRunner {
  private helper: Helper | undefined;
  private nextId = 1;

  constructor(private readonly helperPath: string | null = defaultHelperPath()) {}

  run(request: ProcessRequest): Promise<ProcessOutcome> {
    // NUL in a file, argument or variable: Node refuses it before any fork, with its own error.
    if (!this.helperPath || hasNul(request)) return runLocal(request);
    const id = this.nextId;
    this.nextId = (this.nextId % 0xffffffff) + 1;
    const frame = encodeRequest(id, request);
    if (!frame) return Promise.resolve(failed(`process runner: request for ${request.file} exceeds ${MAX_FRAME_BYTES} bytes`));
    const helper = this.ensureHelper(this.helperPath);
    return new Promise((resolve) => {
      helper.pending.set(id, { file: request.file, resolve });
      this.setRef(helper);
      helper.child.stdin!.write(frame);
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
    const child = spawn(path, [], { stdio: ['pipe', 'pipe', 'inherit'] });
    const helper: Helper = { child, pending: new Map() };
    this.helper = helper;
    const reader = new FrameReader();
    child.stdout!.on('data', (chunk: Buffer) => {
      try {
        for (const body of reader.push(chunk)) {
          const { id, outcome } = decodeAnswer(body, (n) => helper.pending.get(n)?.file);
          const pending = helper.pending.get(id);
          if (!pending) continue;
          helper.pending.delete(id);
          this.setRef(helper);
          pending.resolve(outcome);
        }
      } catch (err) {
        // A helper that speaks garbage is replaced: its exit fails what it held.
        child.stdout!.removeAllListeners('data');
        child.kill('SIGKILL');
        fail(`process runner helper: ${(err as Error).message}`);
      }
    });
    // A write to a helper that just died must not throw out of run(): its exit fails the request.
    child.stdin!.on('error', () => undefined);
    const fail = (why: string) => {
      if (this.helper === helper) this.helper = undefined;
      for (const pending of helper.pending.values()) pending.resolve(failed(why));
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
