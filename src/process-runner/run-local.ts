/**
 * Running one program to completion in *this* process: environment, stdin, capped
 * stdout/stderr, a timeout that kills its whole process group, and the "text file busy"
 * retry libcni does for binaries being replaced while we exec them. The process runner's
 * helper calls this for every request (see runner.ts for why it is a separate process),
 * and the runner calls it directly when no helper can be had.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';

export interface ProcessRequest {
  file: string;
  args: string[];
  /** The complete environment; absent: the running process's own. */
  env?: Record<string, string | undefined>;
  stdin?: string;
  /** 0: no limit. */
  timeoutMs: number;
  maxStdoutBytes: number;
  maxStderrBytes: number;
  /** Leads its own process group, so a timeout kills what it started too (CNI's IPAM delegate). */
  detached: boolean;
  /** ETXTBSY retries (0: none) and the base of their linear backoff. */
  busyRetries: number;
  busyDelayMs: number;
  /** After the program exits, how long a grandchild holding stdout open may delay the answer. */
  drainGraceMs: number;
}

export interface ProcessOutcome {
  stdout: string;
  stderr: string;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  /** The program could not be started (or the runner failed): its message and errno code. */
  spawnError?: { message: string; code?: string };
}

export async function runLocal(req: ProcessRequest): Promise<ProcessOutcome> {
  for (let attempt = 0; ; attempt++) {
    let child: ChildProcess;
    try {
      child = spawn(req.file, req.args, {
        ...(req.env ? { env: req.env } : {}),
        stdio: ['pipe', 'pipe', 'pipe'],
        detached: req.detached,
      });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ETXTBSY' && attempt < req.busyRetries) {
        await sleep(req.busyDelayMs * (attempt + 1));
        continue;
      }
      return { stdout: '', stderr: '', exitCode: null, signal: null, timedOut: false, spawnError: { message: (err as Error).message, ...(code ? { code } : {}) } };
    }
    // In the same tick as the spawn: a start failure (ENOENT, EACCES) is emitted on the
    // next tick, and an 'error' with no listener would end the whole process.
    return collect(child, req);
  }
}

function collect(child: ChildProcess, req: ProcessRequest): Promise<ProcessOutcome> {
  return new Promise((resolve) => {
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let stdoutBytes = 0;
    let stderrBytes = 0;
    let timedOut = false;
    let spawnError: ProcessOutcome['spawnError'];
    let settled = false;

    child.stdout?.on('data', (chunk: Buffer) => {
      stdoutBytes += chunk.length;
      if (stdoutBytes <= req.maxStdoutBytes) stdout.push(chunk);
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      stderrBytes += chunk.length;
      if (stderrBytes <= req.maxStderrBytes) stderr.push(chunk);
    });
    // A program may exit without reading stdin (CNI VERSION, early errors): EPIPE is not our failure.
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(req.stdin ?? '');

    const timer =
      req.timeoutMs > 0
        ? setTimeout(() => {
            timedOut = true;
            killGroup(child, req.detached);
          }, req.timeoutMs)
        : undefined;

    const finish = (exitCode: number | null, signal: NodeJS.Signals | null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.stdout?.destroy();
      child.stderr?.destroy();
      resolve({
        stdout: Buffer.concat(stdout).toString('utf8'),
        stderr: Buffer.concat(stderr).toString('utf8'),
        exitCode,
        signal,
        timedOut,
        ...(spawnError ? { spawnError } : {}),
      });
    };

    child.on('error', (err: NodeJS.ErrnoException) => {
      spawnError = { message: err.message, ...(err.code ? { code: err.code } : {}) };
      finish(null, null);
    });
    child.on('close', (code, signal) => finish(code, signal));
    // 'close' waits for stdio to close; a daemonised grandchild holding stdout must not hang us.
    child.on('exit', (code, signal) => {
      setTimeout(() => finish(code, signal), req.drainGraceMs).unref();
    });
  });
}

function killGroup(child: ChildProcess, group: boolean): void {
  if (child.pid === undefined) return;
  try {
    if (group) process.kill(-child.pid, 'SIGKILL');
    else child.kill('SIGKILL');
  } catch {
    child.kill('SIGKILL');
  }
}
