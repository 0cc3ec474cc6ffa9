/**
 * Exec and attach over any transport: joins the client's streams (SPDY or WebSocket,
 * see RemoteStreams) to a process's stdio, forwards resizes, and reports how it ended.
 * Ends quietly when the client goes away: the process's streams are let go at once.
 */
import type { Readable, Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { errorMessage } from '../errors.js';
import type { Logger } from '../logger.js';
import type { AttachedProcess } from './process.js';
import { readTerminalSizes } from './resize.js';
import type { Outcome } from './status.js';

/** The client's side of a remote command, once its streams are all there. */
export interface RemoteStreams {
  stdin: Readable | null;
  stdout: Writable | null;
  stderr: Writable | null;
  /** JSON terminal sizes (TTY only). */
  resize: Readable | null;
  /** Aborted when the client disconnects or the session idles out. */
  signal: AbortSignal;
  /** Writes the outcome as the negotiated protocol wants it, then closes the session. */
  finish(outcome: Outcome): Promise<void>;
}

export type ProcessStarter = () => Promise<AttachedProcess>;

export async function runRemoteCommand(
  remote: RemoteStreams,
  start: ProcessStarter,
  describe: (code: number) => Outcome,
  logger: Logger,
): Promise<void> {
  let proc: AttachedProcess;
  try {
    proc = await start();
  } catch (err) {
    logger.info({ err: errorMessage(err) }, 'could not start the remote command');
    await remote.finish({ kind: 'error', message: `error executing command in container: ${errorMessage(err)}` });
    return;
  }
  const { signal } = remote;
  const gone = new Promise<'gone'>((resolve) => {
    if (signal.aborted) resolve('gone');
    signal.addEventListener('abort', () => resolve('gone'), { once: true });
  });

  joinInput(remote.stdin, proc.stdin);
  const outputs = [joinOutput(proc.stdout, remote.stdout), joinOutput(proc.stderr, remote.stderr)];
  if (remote.resize) {
    readTerminalSizes(
      remote.resize,
      (size) => proc.resize(size).catch((err) => logger.debug({ err: errorMessage(err), size }, 'resize failed')),
      (err) => logger.info({ err: err.message }, 'bad resize stream; ignoring further resizes'),
    );
  }

  const ran = (async (): Promise<Outcome> => {
    const code = await proc.wait();
    await Promise.all(outputs);
    return code === null || code === 0 ? { kind: 'success' } : describe(code);
  })().catch((err): Outcome => ({ kind: 'error', message: `error executing command in container: ${errorMessage(err)}` }));

  const outcome = await Promise.race([ran, gone]);
  // Input the process will never read is discarded, so it cannot hold the transport paused.
  remote.stdin?.unpipe();
  remote.stdin?.resume();
  proc.detach();
  if (outcome === 'gone') {
    logger.info('client went away; let go of the process streams');
    return;
  }
  await remote.finish(outcome);
}

/** Client stdin → process stdin; the client's half-close closes the process's stdin. */
function joinInput(from: Readable | null, to: Writable | null): void {
  if (!from) return;
  if (!to) {
    from.resume();
    return;
  }
  from.pipe(to);
}

/** Process output → client stream, ending it (SPDY: FIN) when the output ends. */
async function joinOutput(from: Readable | null, to: Writable | null): Promise<void> {
  if (!from) return;
  if (!to) {
    from.resume();
    return;
  }
  from.pipe(to);
  // Both may be Duplexes (the TTY socket, a SPDY stream): wait for the one side that matters.
  await finished(from, { writable: false }).catch(() => undefined);
  if (!to.writableEnded) to.end();
  await finished(to, { readable: false }).catch(() => undefined);
}
