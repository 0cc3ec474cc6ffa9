/**
 * Serving one upgraded connection for the request its token named: exec or attach
 * (remote command) or port forward, over SPDY or WebSocket.
 */
import { createWebSocketStream, type WebSocket } from 'ws';
import type Docker from 'dockerode';
import { errorMessage } from '../errors.js';
import type { Logger } from '../logger.js';
import { startAttach } from './docker-attach.js';
import { startExec } from './docker-exec.js';
import type { PodDial } from './netns-dial.js';
import { servePortForwardSpdy } from './portforward-spdy.js';
import { servePortForwardChannels } from './portforward-ws.js';
import { remoteCommandVersion, WS_SPDY_TUNNEL_PROTOCOL } from './protocols.js';
import { runRemoteCommand, type ProcessStarter, type RemoteStreams } from './remote-command.js';
import type { StreamRequest } from './requests.js';
import { SpdyConnection } from './spdy/connection.js';
import { acceptRemoteStreams } from './spdy-remote.js';
import type { Outcome } from './status.js';
import { wsRemoteStreams } from './ws-remote.js';

export interface SessionDeps {
  docker: Docker;
  logger: Logger;
  streamCreationTimeoutMs: number;
  /** Connects to a port inside a network namespace (nsenter + socat unless a test says otherwise). */
  dial: (netnsPath: string, port: number) => PodDial;
}

type RemoteCommandRequest = Extract<StreamRequest, { kind: 'exec' | 'attach' }>;
type PortForwardRequest = Extract<StreamRequest, { kind: 'portforward' }>;

/** `netnsPath` is set for port forward (resolved before the upgrade was accepted). */
export function serveSpdySession(conn: SpdyConnection, request: StreamRequest, protocol: string, netnsPath: string | null, deps: SessionDeps): void {
  const logger = deps.logger.child({ kind: request.kind, transport: 'spdy', protocol });
  if (request.kind === 'portforward') {
    servePortForward(conn, request, netnsPath!, deps, logger);
    return;
  }
  // Listen for the client's streams synchronously: frames may already be queued.
  const accepted = acceptRemoteStreams(conn, request, remoteCommandVersion(protocol), deps.streamCreationTimeoutMs);
  void accepted.then(
    (remote) => runSafely(remote, request, deps, logger),
    (err) => {
      logger.info({ err: errorMessage(err) }, 'remote command streams never came; closing');
      conn.close();
    },
  );
}

export function serveWebSocketSession(ws: WebSocket, request: StreamRequest, protocol: string, netnsPath: string | null, deps: SessionDeps): void {
  const logger = deps.logger.child({ kind: request.kind, transport: 'websocket', protocol });
  ws.on('error', (err) => logger.debug({ err: err.message }, 'websocket error'));
  if (request.kind !== 'portforward') {
    runSafely(wsRemoteStreams(ws, protocol, request), request, deps, logger);
    return;
  }
  if (protocol === WS_SPDY_TUNNEL_PROTOCOL) {
    // kubectl ≥ 1.30 tunnels a whole SPDY connection through binary messages.
    const conn = new SpdyConnection(createWebSocketStream(ws), { role: 'server', logger });
    servePortForward(conn, request, netnsPath!, deps, logger);
    return;
  }
  servePortForwardChannels(ws, {
    sandboxId: request.sandboxId,
    ports: request.ports,
    dial: (port) => deps.dial(netnsPath!, port),
    logger,
  });
}

function servePortForward(conn: SpdyConnection, request: PortForwardRequest, netnsPath: string, deps: SessionDeps, logger: Logger): void {
  servePortForwardSpdy(conn, {
    sandboxId: request.sandboxId,
    dial: (port) => deps.dial(netnsPath, port),
    streamCreationTimeoutMs: deps.streamCreationTimeoutMs,
    logger,
  });
}

function runSafely(remote: RemoteStreams, request: RemoteCommandRequest, deps: SessionDeps, logger: Logger): void {
  const start: ProcessStarter =
    request.kind === 'exec'
      ? () => startExec(deps.docker, request.containerId, request.cmd, request)
      : () => startAttach(deps.docker, request.containerId, request);
  const describe = (code: number): Outcome => ({ kind: 'exit', code, command: request.kind === 'exec' ? request.cmd : [] });
  runRemoteCommand(remote, start, describe, logger).catch((err) => {
    logger.error({ err: errorMessage(err) }, 'remote command session failed');
  });
}
