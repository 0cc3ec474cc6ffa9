/**
 * The built shim (`node dist/cli.js`, build first with `npx tsc -p tsconfig.json`) run
 * as a child process on dirs of the caller's, so tests can kill it, signal it and
 * restart it on the same state, as a node would.
 */
import { credentials, type Client } from '@grpc/grpc-js';
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { loadCriPackage } from '../../src/cri/proto.js';
import { shimConfigFor, waitFor, type PodNetEnv } from './pod-net.js';

export const CLI = join(import.meta.dirname, '..', '..', 'dist', 'cli.js');

export interface ChildShimDirs {
  socket: string;
  stateDir: string;
  cniConfDir: string;
  cniCacheDir: string;
  cniBinDirs: string[];
}

export interface ChildShim {
  proc: ChildProcess;
  runtime: any;
  /** Everything the child wrote on stderr so far. */
  stderr(): string;
  /** Resolves with the exit code, or the signal name, once the child is gone. */
  exited: Promise<number | string>;
  call<T = any>(method: string, request: object, timeoutMs?: number): Promise<T>;
  /** Closes the client; kills the child (SIGKILL) if it still runs. */
  close(): Promise<void>;
}

/** Dirs for a child shim on a suite's pod network, its socket in the network's temp dir. */
export function childShimDirs(env: PodNetEnv): ChildShimDirs {
  return { socket: join(env.dir, 'cri.sock'), ...shimConfigFor(env) };
}

export async function startChildShim(dirs: ChildShimDirs, env: Record<string, string> = {}): Promise<ChildShim> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: build with npx tsc -p tsconfig.json first`);
  const args = [
    CLI,
    '--listen', `unix://${dirs.socket}`,
    '--state-dir', dirs.stateDir,
    '--cni-conf-dir', dirs.cniConfDir,
    '--cni-cache-dir', dirs.cniCacheDir,
    ...dirs.cniBinDirs.flatMap((d) => ['--cni-bin-dir', d]),
    '--log-level', process.env.CRI_SHIM_TEST_LOG ?? 'warn',
  ];
  // CRI_SHIM_CHILD_LOG=<file> keeps the children's pino lines (with CRI_SHIM_TEST_LOG=debug) for debugging.
  const logFile = process.env.CRI_SHIM_CHILD_LOG;
  const out = logFile ? openSync(logFile, 'a') : 'ignore';
  const proc = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ['ignore', out, 'pipe'] });
  if (typeof out === 'number') closeSync(out);
  let err = '';
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | string>((resolve) => proc.on('exit', (code, signal) => resolve(signal ?? code ?? -1)));
  let gone = false;
  void exited.then(() => (gone = true));
  const pkg = loadCriPackage();
  const runtime: Client & any = new pkg.runtime.v1.RuntimeService(`unix://${dirs.socket}`, credentials.createInsecure());
  const call = <T>(method: string, request: object, timeoutMs = 60_000): Promise<T> =>
    new Promise((resolve, reject) => {
      runtime[method](request, { deadline: Date.now() + timeoutMs }, (e: Error | null, res: T) => (e ? reject(e) : resolve(res)));
    });
  await waitFor('the child shim to answer', async () => {
    if (gone) throw new Error(`child shim exited at start: ${err}`);
    await call('Version', {}, 1000);
    return true;
  }, 20_000).catch((e: Error) => {
    proc.kill('SIGKILL');
    runtime.close();
    throw e;
  });
  return {
    proc,
    runtime,
    stderr: () => err,
    exited,
    call,
    close: async () => {
      runtime.close();
      if (!gone) {
        proc.kill('SIGKILL');
        await exited;
      }
    },
  };
}
