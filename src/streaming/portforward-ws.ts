/**
 * Port forward over WebSocket, channel form (`v4.channel.k8s.io`): the ports come from
 * the PortForward request; port i gets data channel 2i and error channel 2i+1, and the
 * server starts each with the port as 2 little-endian bytes. One connection per port;
 * the WebSocket closes when all of them are done.
 */
import type { WebSocket } from 'ws';
import type { Logger } from '../logger.js';
import type { PodDial } from './netns-dial.js';
import { forwardConnection } from './port-forward.js';
import { ChannelMux } from './ws-channels.js';

export interface WsPortForwardOptions {
  sandboxId: string;
  ports: number[];
  dial: (port: number) => PodDial;
  logger: Logger;
}

export function servePortForwardChannels(ws: WebSocket, options: WsPortForwardOptions): void {
  const mux = new ChannelMux(ws, { channels: options.ports.length * 2, closeSignal: false });
  const stop = new AbortController();
  ws.on('close', () => stop.abort());

  const runs = options.ports.map(async (port, i) => {
    const data = i * 2;
    const error = data + 1;
    const prefix = Buffer.alloc(2);
    prefix.writeUInt16LE(port);
    mux.send(data, prefix);
    mux.send(error, prefix);
    mux.reader(error).resume();
    await forwardConnection(
      {
        fromClient: mux.reader(data),
        toClient: mux.writer(data),
        reportError: (message) => new Promise<void>((resolve) => mux.send(error, Buffer.from(message), () => resolve())),
      },
      { port, sandboxId: options.sandboxId, dial: options.dial, logger: options.logger },
      stop.signal,
    );
  });
  void Promise.allSettled(runs).then(() => {
    if (ws.readyState !== ws.OPEN) return;
    mux.drain();
    ws.close(1000);
  });
}
