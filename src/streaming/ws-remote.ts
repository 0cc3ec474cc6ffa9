/**
 * The WebSocket side of exec/attach (`v5.channel.k8s.io`, `v4.channel.k8s.io`,
 * `channel.k8s.io`): channels 0 stdin, 1 stdout, 2 stderr, 3 error, 4 resize. As the
 * kubelet, an empty message on the lowest writable channel tells the client the
 * session is up; the outcome goes on channel 3 and then the WebSocket is closed.
 */
import type { WebSocket } from 'ws';
import type { RemoteStreams } from './remote-command.js';
import { remoteCommandVersion } from './protocols.js';
import type { StdioOptions } from './requests.js';
import { errorStreamPayload, type Outcome } from './status.js';
import { ChannelMux } from './ws-channels.js';

const STDIN = 0;
const STDOUT = 1;
const STDERR = 2;
const ERROR = 3;
const RESIZE = 4;

export function wsRemoteStreams(ws: WebSocket, protocol: string, stdio: StdioOptions): RemoteStreams {
  const version = remoteCommandVersion(protocol);
  const mux = new ChannelMux(ws, { channels: 5, closeSignal: version >= 5 });
  const controller = new AbortController();
  ws.on('close', () => controller.abort());

  const first = stdio.stdout ? STDOUT : stdio.stderr ? STDERR : ERROR;
  mux.send(first, Buffer.alloc(0));

  // Channels the request did not ask for are drained, so they cannot stall the socket.
  for (const [ch, wanted] of [[STDIN, stdio.stdin], [STDOUT, false], [STDERR, false], [ERROR, false], [RESIZE, stdio.tty]] as const) {
    if (!wanted) mux.reader(ch).resume();
  }
  return {
    stdin: stdio.stdin ? mux.reader(STDIN) : null,
    stdout: stdio.stdout ? mux.writer(STDOUT) : null,
    stderr: stdio.stderr ? mux.writer(STDERR) : null,
    resize: stdio.tty ? mux.reader(RESIZE) : null,
    signal: controller.signal,
    finish: async (outcome: Outcome) => {
      const payload = errorStreamPayload(outcome, version);
      if (payload) await new Promise<void>((resolve) => mux.send(ERROR, payload, () => resolve()));
      mux.drain();
      ws.close(1000);
    },
  };
}
