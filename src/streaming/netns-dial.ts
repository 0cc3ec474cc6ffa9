/**
 * A TCP connection to 127.0.0.1:<port> made inside a pod's network namespace, so that
 * a port bound only to the pod's loopback is reachable. Node has no setns(2): as
 * cri-dockerd, we run `nsenter --net=<ns> socat … TCP4:127.0.0.1:<port>`. socat talks
 * to us over fd 3, which libuv makes one end of a socketpair: unlike stdin/stdout
 * (which socat never closes before it exits), with `shut-down` a socket carries each
 * direction's EOF on its own, so a half-close passes through in both directions.
 * socat reports a failed connect on stderr and exits non-zero.
 */
import { spawn } from 'node:child_process';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';

export interface PodDial {
  /** Bytes to and from the pod's port. Ending it half-closes the TCP connection. */
  stream: Duplex;
  /** Settles when socat has exited: null when all went well, else what went wrong. The stream may still hold the last bytes it sent. */
  done: Promise<string | null>;
  kill(): void;
}

export interface DialOptions {
  /**
   * socat's -t: after one direction reached EOF, how long the other may still carry
   * data. Long, because a client that half-closes still waits for the reply.
   */
  halfCloseSeconds?: number;
  nsenter?: string;
  socat?: string;
}

export function dialInNetns(netnsPath: string, port: number, options: DialOptions = {}): PodDial {
  const child = spawn(
    options.nsenter ?? 'nsenter',
    [`--net=${netnsPath}`, '--', options.socat ?? 'socat', '-t', String(options.halfCloseSeconds ?? 3600), 'FD:3,shut-down', `TCP4:127.0.0.1:${port}`],
    { stdio: ['ignore', 'ignore', 'pipe', 'pipe'] },
  );
  const stream = child.stdio[3] as Socket;
  // The pod closing its side must not close ours: the client may still be sending.
  stream.allowHalfOpen = true;
  // ECONNRESET/EPIPE when socat is gone early: the reason is reported through `done`.
  stream.on('error', () => undefined);
  let stderr = '';
  const stderrStream = child.stderr!;
  stderrStream.setEncoding('utf8');
  stderrStream.on('data', (s: string) => {
    if (stderr.length < 4096) stderr += s;
  });
  const stderrEnded = new Promise<void>((resolve) => {
    stderrStream.once('end', resolve);
    stderrStream.once('close', resolve);
  });
  // 'exit', not 'close': 'close' waits for fd 3, which stays open as long as our side of
  // the socketpair is (half-open while the client still sends).
  const done = new Promise<string | null>((resolve) => {
    child.on('error', (err) => resolve(`cannot run nsenter/socat: ${err.message}`));
    child.on('exit', (code, signal) => {
      void stderrEnded.then(() => {
        if (code === 0) return resolve(null);
        const why = stderr.trim().split('\n').at(-1)?.replace(/^.*? E /, '') ?? '';
        resolve(why || `socat exited with ${code ?? signal}`);
      });
    });
  });
  return {
    stream,
    done,
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}
