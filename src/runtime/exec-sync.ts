/**
 * ExecSync: run a command in a running container, collect its output, return its exit
 * code — and when the timeout passes, really stop it.
 *
 * Docker has no way to kill an exec (cri-dockerd leaves the process running after the
 * timeout: its issue #150 and the probes that pile up behind it). The exec's inspect
 * gives its host pid, and the shim runs as root in the host's pid namespace, so we
 * signal it ourselves: first its descendants, leaves first (so that each parent — still
 * alive — reaps its child, and no zombie is left for a container init that may never
 * reap), then the process itself, whose parent (containerd-shim) reaps it.
 */
import { readdirSync, readFileSync } from 'node:fs';
import type { Readable } from 'node:stream';
import type Docker from 'dockerode';
import { DeadlineExceededError, FailedPreconditionError, NotFoundError } from '../errors.js';
import type { Logger } from '../logger.js';
import { dockerMessage, dockerStatus } from './docker-errors.js';
import { demuxFrames } from './docker-demux.js';

/** 16 MiB per stream, as containerd caps ExecSync output (and the kubelet's message limit). */
export const EXEC_SYNC_OUTPUT_LIMIT = 16 * 1024 * 1024;

export interface ExecSyncOptions {
  /** 0: no timeout. */
  timeoutMs: number;
  /** The caller went away (gRPC cancel or deadline): stop the command as on a timeout. */
  signal?: AbortSignal;
  /**
   * Aborted when the container is seen to exit (its die or destroy event). Its processes
   * are gone with it, but dockerd does not always end an exec's stream then (seen: an
   * exec started while its container was being stopped held it until the timeout, and
   * with no timeout it would forever): the command fails soon after instead.
   */
  containerExited?: AbortSignal;
  maxOutputBytes?: number;
}

/** After the container exits, how long the exec's stream may still deliver what it holds. */
const EXITED_GRACE_MS = 1000;

export interface ExecSyncResult {
  stdout: Buffer;
  stderr: Buffer;
  exitCode: number;
}

/** Keeps the first `limit` bytes and counts, but drops, the rest: the command is never blocked on a full pipe. */
class CappedBuffer {
  private readonly parts: Buffer[] = [];
  private kept = 0;
  dropped = 0;
  constructor(private readonly limit: number) {}
  push(b: Buffer): void {
    const room = this.limit - this.kept;
    if (room <= 0) {
      this.dropped += b.length;
      return;
    }
    const keep = b.length <= room ? b : b.subarray(0, room);
    this.parts.push(keep);
    this.kept += keep.length;
    this.dropped += b.length - keep.length;
  }
  value(): Buffer {
    return Buffer.concat(this.parts, this.kept);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function execSync(
  docker: Docker,
  logger: Logger,
  containerId: string,
  cmd: string[],
  opts: ExecSyncOptions,
): Promise<ExecSyncResult> {
  const container = docker.getContainer(containerId);
  let exec: Docker.Exec;
  let stream: Readable;
  try {
    exec = await container.exec({ Cmd: cmd, AttachStdin: false, AttachStdout: true, AttachStderr: true, Tty: false });
    stream = (await exec.start({ Detach: false, Tty: false })) as unknown as Readable;
  } catch (err) {
    const status = dockerStatus(err);
    if (status === 404) throw new NotFoundError(`container ${containerId}: ${dockerMessage(err)}`);
    if (status === 409) throw new FailedPreconditionError(`container ${containerId}: ${dockerMessage(err)}`);
    throw err;
  }

  const limit = opts.maxOutputBytes ?? EXEC_SYNC_OUTPUT_LIMIT;
  const stdout = new CappedBuffer(limit);
  const stderr = new CappedBuffer(limit);
  let stopped: 'timeout' | 'cancelled' | undefined;
  let killing: Promise<void> = Promise.resolve();
  let giveUp: NodeJS.Timeout | undefined;
  const stop = (why: 'timeout' | 'cancelled') => {
    if (stopped) return;
    stopped = why;
    killing = killExec(exec, containerId, logger)
      .catch((err: unknown) => logger.warn({ id: containerId, cmd, err: (err as Error).message }, 'cannot kill timed-out exec'))
      .then(() => {
        // Its pipes close when the process dies; a descendant we could not find may
        // hold them open: then stop reading after a while rather than hang.
        giveUp = setTimeout(() => stream.destroy(), 5000).unref();
      });
  };
  // setTimeout fires at once past 2^31-1 ms (~24.8 days): treat such a limit as none.
  const timer = opts.timeoutMs > 0 && opts.timeoutMs < 2 ** 31 ? setTimeout(() => stop('timeout'), opts.timeoutMs) : undefined;
  const onAbort = () => stop('cancelled');
  if (opts.signal?.aborted) onAbort();
  else opts.signal?.addEventListener('abort', onAbort, { once: true });
  let containerGone = false;
  let exitedTimer: NodeJS.Timeout | undefined;
  const onExited = () => {
    exitedTimer = setTimeout(() => {
      containerGone = true;
      stream.destroy();
    }, EXITED_GRACE_MS);
  };
  if (opts.containerExited?.aborted) onExited();
  else opts.containerExited?.addEventListener('abort', onExited, { once: true });

  try {
    for await (const frames of demuxFrames(stream)) {
      for (const f of frames) (f.stream === 'stderr' ? stderr : stdout).push(f.payload);
    }
  } catch (err) {
    if (!stopped && !containerGone) throw err;
  } finally {
    clearTimeout(timer);
    clearTimeout(exitedTimer);
    opts.signal?.removeEventListener('abort', onAbort);
    opts.containerExited?.removeEventListener('abort', onExited);
  }
  await killing;
  clearTimeout(giveUp);
  if (containerGone && !stopped) {
    throw new FailedPreconditionError(`container ${containerId} exited while ${JSON.stringify(cmd)} ran: the command did not finish`);
  }
  if (stopped) {
    const secs = opts.timeoutMs / 1000;
    throw new DeadlineExceededError(
      stopped === 'timeout' ? `command ${JSON.stringify(cmd)} timed out after ${secs}s and was killed` : `command ${JSON.stringify(cmd)} was cancelled and killed`,
    );
  }
  if (stdout.dropped || stderr.dropped) {
    logger.info({ id: containerId, cmd, droppedStdout: stdout.dropped, droppedStderr: stderr.dropped }, 'ExecSync output truncated');
  }
  return { stdout: stdout.value(), stderr: stderr.value(), exitCode: await exitCodeOf(exec) };
}

/** The stream ends a moment before dockerd records the exit: wait for it briefly. */
async function exitCodeOf(exec: Docker.Exec): Promise<number> {
  for (let i = 0; ; i++) {
    const info = await exec.inspect();
    if (!info.Running && info.ExitCode !== null) return info.ExitCode;
    if (i >= 100) throw new Error(`exec ${exec.id} did not report its exit code`);
    // Usually recorded within a few ms: look again soon first (a probe's latency is this wait).
    await sleep(i < 3 ? 5 : 20);
  }
}

/** Kills the exec's process and everything it started. */
async function killExec(exec: Docker.Exec, containerId: string, logger: Logger): Promise<void> {
  // Pid is 0 until the process has started (or when it could not start at all).
  for (let i = 0; i < 100; i++) {
    const info = await exec.inspect();
    if (!info.Running && info.Pid === 0 && i > 10) return;
    if (info.Pid > 0) {
      if (!info.Running) return;
      await killProcessTree(info.Pid, containerId);
      logger.info({ id: containerId, exec: exec.id, pid: info.Pid }, 'killed timed-out exec');
      return;
    }
    await sleep(20);
  }
}

interface ProcInfo {
  ppid: number;
}

function readProcs(): Map<number, ProcInfo> {
  const out = new Map<number, ProcInfo>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'latin1');
      // `pid (comm) state ppid …`: comm may hold spaces and parentheses.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(Number(name), { ppid: Number(fields[1]) });
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

/** A pid we may signal: still one of this container's processes (not a recycled pid). */
function inContainer(pid: number, containerId: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/cgroup`, 'utf8').includes(containerId);
  } catch {
    return false;
  }
}

function kill(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

/** The descendants of `root`, as a child → parent walk over /proc. */
export function descendantsOf(root: number, procs: Map<number, ProcInfo> = readProcs()): { pids: number[]; leaves: number[] } {
  const children = new Map<number, number[]>();
  for (const [pid, p] of procs) {
    const list = children.get(p.ppid);
    if (list) list.push(pid);
    else children.set(p.ppid, [pid]);
  }
  const pids: number[] = [];
  const queue = [...(children.get(root) ?? [])];
  while (queue.length) {
    const pid = queue.shift()!;
    pids.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return { pids, leaves: pids.filter((p) => !children.get(p)?.length) };
}

/**
 * Leaves first, round after round (a shell may start its next command meanwhile),
 * then the root. A process whose parent does not reap it within the rounds is killed
 * with the rest.
 */
export async function killProcessTree(root: number, containerId: string): Promise<void> {
  if (!inContainer(root, containerId)) return;
  for (let round = 0; round < 20; round++) {
    const { pids, leaves } = descendantsOf(root);
    const live = pids.filter((p) => inContainer(p, containerId));
    if (!live.length) break;
    const targets = round < 10 ? leaves.filter((p) => live.includes(p)) : live;
    for (const pid of targets) kill(pid);
    await sleep(20);
  }
  if (inContainer(root, containerId)) kill(root);
}
