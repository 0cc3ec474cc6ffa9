/**
 * One forwarded connection, whatever the transport: the client's data stream is joined
 * to a fresh connection to the pod's port; a failure is reported in words on the error
 * stream (the client prints it) — as the kubelet's portforward handlers do.
 */
import type { Readable, Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type { Logger } from '../logger.js';
import type { PodDial } from './netns-dial.js';

export interface ForwardEnds {
  /** What the client sends to the pod; its end half-closes the pod connection. */
  fromClient: Readable;
  /** What the pod sends back; ended when the pod closes its side. */
  toClient: Writable;
  /** Writes an error message for the client (error stream/channel). */
  reportError(message: string): Promise<void>;
}

export interface ForwardOptions {
  port: number;
  sandboxId: string;
  dial: (port: number) => PodDial;
  logger: Logger;
  /** After the pod closed its side, how long the client may take to close its own. */
  lingerMs?: number;
}

/** Runs one forward to the end; `stop` (e.g. the client went away) ends it early. */
export async function forwardConnection(ends: ForwardEnds, options: ForwardOptions, stop: AbortSignal): Promise<void> {
  const { port, sandboxId, logger } = options;
  const pod = options.dial(port);
  let killedByUs = false;
  const kill = () => {
    killedByUs = true;
    pod.kill();
  };
  if (stop.aborted) kill();
  stop.addEventListener('abort', kill, { once: true });
  pod.stream.on('error', (err) => logger.debug({ port, err: err.message }, 'pod connection stream error'));

  ends.fromClient.pipe(pod.stream);
  // A reset (client-go resets both streams when its local connection goes) is no EOF:
  // nothing will end the pod connection, so let it go.
  const onClientClose = () => {
    if (!ends.fromClient.readableEnded) kill();
  };
  ends.fromClient.once('close', onClientClose);
  pod.stream.pipe(ends.toClient);
  pod.stream.once('end', () => {
    // The pod is done sending; give the client a moment to close its side too, as
    // containerd does, rather than keep socat waiting for an EOF that may never come.
    const linger = setTimeout(kill, options.lingerMs ?? 1000);
    linger.unref();
    void pod.done.finally(() => clearTimeout(linger));
  });

  const failure = await pod.done;
  stop.removeEventListener('abort', kill);
  ends.fromClient.off('close', onClientClose);
  ends.fromClient.unpipe(pod.stream);
  // Whatever the client still sends has nowhere to go: drop it. Left unread, it would
  // fill the reader and pause the transport under every other forward of the session.
  ends.fromClient.resume();
  // socat is gone; what it wrote before may still be in our socket: let it through.
  await withTimeout(finished(pod.stream, { writable: false }), 1000);
  pod.stream.destroy();
  if (!ends.toClient.writableEnded) ends.toClient.end();
  await withTimeout(finished(ends.toClient, { readable: false }), 5000);
  if (failure && !killedByUs) {
    const message = `error forwarding port ${port} to pod ${sandboxId}, uid : failed to connect to localhost:${port} inside the pod's network namespace: ${failure}`;
    logger.info({ port, err: failure }, 'port forward failed');
    await ends.reportError(message);
  }
}

/** Waits for `p` at most `ms`, never rejecting: a stream that errors or stalls must not stall us. */
function withTimeout(p: Promise<unknown>, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    p.then(
      () => resolve(),
      () => resolve(),
    ).finally(() => clearTimeout(timer));
  });
}
