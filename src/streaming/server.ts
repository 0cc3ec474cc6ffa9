/**
 * The streaming server: an HTTP server on --streaming-address that serves the URLs the
 * Exec, Attach and PortForward RPCs hand out. Each URL carries a single-use token for
 * the request stored by register(); the connection to it is upgraded to SPDY/3.1 or
 * WebSocket and served by sessions.ts. Idle connections are closed after idleTimeoutMs.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { networkInterfaces } from 'node:os';
import type { Duplex } from 'node:stream';
import type Docker from 'dockerode';
import type { WebSocketServer } from 'ws';
import { errorMessage, FailedPreconditionError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { PodRuntime } from '../runtime/pods.js';
import { notFound, rejectUpgrade, spdySwitchingProtocols, type HttpError } from './http-replies.js';
import { dialInNetns, type PodDial } from './netns-dial.js';
import { RequestCache, type StreamRequest } from './requests.js';
import type { SessionDeps } from './sessions.js';
import { splitHostPort } from '../host-port.js';
import { planUpgrade, type UpgradePlan } from './upgrade.js';

type SessionParts = typeof import('./session-parts.js');

export interface StreamingServerOptions {
  /** host:port; port 0 picks a free one. */
  address: string;
  docker: Docker;
  pods: Pick<PodRuntime, 'sandboxStatus'>;
  logger: Logger;
  /** Close a connection after this long without traffic (the kubelet's default: 4 h). */
  idleTimeoutMs?: number;
  /** How long a client may take to open its streams after the upgrade (default 30 s). */
  streamCreationTimeoutMs?: number;
  /** How long a URL stays valid (default 1 min). */
  tokenTtlMs?: number;
  /** URLs handed out but not yet used, at most (default 1000). */
  maxPendingTokens?: number;
  dial?: (netnsPath: string, port: number) => PodDial;
}

const PATH = /^\/(exec|attach|portforward)\/([A-Za-z0-9_-]+)$/;

export class StreamingServer {
  private readonly http: Server = createServer();
  /** The subprotocol we negotiated for each pending WebSocket upgrade. */
  private readonly wsProtocols = new WeakMap<IncomingMessage, string>();
  /** Loaded at the first upgrade (session-parts.ts says why), with the WebSocket server. */
  private parts: Promise<SessionParts> | undefined;
  private wss: WebSocketServer | undefined;
  private readonly cache: RequestCache;
  private readonly sockets = new Set<Duplex>();
  private readonly logger: Logger;
  private readonly deps: SessionDeps;
  private base = '';

  constructor(private readonly options: StreamingServerOptions) {
    this.logger = options.logger.child({ component: 'streaming' });
    this.cache = new RequestCache({ ttlMs: options.tokenTtlMs, maxPending: options.maxPendingTokens });
    this.deps = {
      docker: options.docker,
      logger: this.logger,
      streamCreationTimeoutMs: options.streamCreationTimeoutMs ?? 30_000,
      dial: options.dial ?? ((ns, port) => dialInNetns(ns, port)),
    };
    this.http.on('request', (req, res) => this.onPlainRequest(req, res));
    this.http.on('upgrade', (req, socket, head) => {
      void this.onUpgrade(req, socket, head).catch((err) => {
        this.logger.error({ err: errorMessage(err) }, 'upgrade failed');
        socket.destroy();
      });
    });
  }

  /** `http://host:port`, known once started. */
  get baseUrl(): string {
    return this.base;
  }

  async start(): Promise<void> {
    const { host, port } = splitAddress(this.options.address);
    await new Promise<void>((resolve, reject) => {
      this.http.once('error', reject);
      this.http.listen(port, host, () => {
        this.http.off('error', reject);
        resolve();
      });
    });
    const bound = this.http.address() as AddressInfo;
    this.base = `http://${urlHost(advertisedHost(bound.address))}:${bound.port}`;
    this.logger.info({ url: this.base }, 'streaming server listening');
  }

  /** Stops accepting, and ends every session (their processes' streams are let go). */
  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    for (const ws of this.wss?.clients ?? []) ws.terminate();
    this.wss?.close();
    this.http.closeAllConnections();
    if (this.http.listening) await new Promise<void>((resolve) => this.http.close(() => resolve()));
  }

  /** Stores the request; the URL the client must connect to within the token's lifetime. */
  register(request: StreamRequest): string {
    if (!this.base) throw new FailedPreconditionError('the streaming server is not running');
    return `${this.base}/${request.kind}/${this.cache.insert(request)}`;
  }

  /** Token lookup as the kubelet: unknown, used, expired or of another kind → 404. */
  private consume(req: IncomingMessage): StreamRequest | HttpError {
    const path = (req.url ?? '').split('?')[0]!;
    const m = PATH.exec(path);
    if (!m) return notFound();
    if (req.method !== 'GET' && req.method !== 'POST') return { status: 405, message: 'method not allowed' };
    const request = this.cache.consume(m[2]!);
    if (!request || request.kind !== m[1]) return notFound();
    return request;
  }

  private onPlainRequest(req: IncomingMessage, res: ServerResponse): void {
    const found = this.consume(req);
    const error = 'status' in found ? found : planUpgrade(found.kind, req.method ?? '', req.headers);
    const reply: HttpError = 'status' in error ? error : { status: 400, message: 'unable to upgrade: missing upgrade headers in request' };
    res.writeHead(reply.status, [['Content-Type', 'text/plain; charset=utf-8'], ['X-Content-Type-Options', 'nosniff'], ...(reply.headers ?? [])]);
    res.end(`${reply.message}\n`);
  }

  private async onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    socket.on('error', (err) => this.logger.debug({ err: err.message }, 'streaming socket error'));
    const found = this.consume(req);
    if ('status' in found) return rejectUpgrade(socket, found);
    const plan = planUpgrade(found.kind, req.method ?? '', req.headers);
    if ('status' in plan) return rejectUpgrade(socket, plan);
    const parts = await this.sessionParts();

    let netnsPath: string | null = null;
    if (found.kind === 'portforward') {
      try {
        netnsPath = await this.netnsOf(found.sandboxId);
      } catch (err) {
        return rejectUpgrade(socket, { status: 500, message: `cannot forward ports of pod ${found.sandboxId}: ${errorMessage(err)}` });
      }
    }
    // The client may have gone while we looked the pod up: its 'close' has fired already.
    if (socket.destroyed) return;
    this.track(socket);
    if (plan.transport === 'websocket') this.acceptWebSocket(parts, req, socket, head, plan, found, netnsPath);
    else this.acceptSpdy(parts, socket, head, plan, found, netnsPath);
  }

  private sessionParts(): Promise<SessionParts> {
    this.parts ??= import('./session-parts.js').then((parts) => {
      const wss = new parts.WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: 16 * 1024 * 1024 });
      wss.on('headers', (headers, req) => {
        const protocol = this.wsProtocols.get(req);
        if (protocol) headers.push(`Sec-WebSocket-Protocol: ${protocol}`);
      });
      this.wss = wss;
      return parts;
    });
    return this.parts;
  }

  private acceptSpdy(parts: SessionParts, socket: Duplex, head: Buffer, plan: UpgradePlan, request: StreamRequest, netnsPath: string | null): void {
    socket.write(spdySwitchingProtocols(plan.protocol));
    if (head.length) socket.unshift(head);
    const conn = new parts.SpdyConnection(socket, { role: 'server', logger: this.logger });
    socket.on('timeout', () => {
      this.logger.info('streaming connection idle; closing');
      conn.close();
    });
    parts.serveSpdySession(conn, request, plan.protocol, netnsPath, this.deps);
  }

  private acceptWebSocket(
    parts: SessionParts,
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    plan: UpgradePlan,
    request: StreamRequest,
    netnsPath: string | null,
  ): void {
    // ws rejects offers that are not RFC 6455 tokens, and kubectl's
    // `SPDY/3.1+portforward.k8s.io` has a '/': we negotiated already, so hide the offers
    // from ws and answer our choice through its 'headers' hook.
    this.wsProtocols.set(req, plan.protocol);
    delete req.headers['sec-websocket-protocol'];
    this.wss!.handleUpgrade(req, socket, head, (ws) => {
      // ws turns the socket timeout off when it takes the socket: set ours again.
      this.setIdleTimeout(socket);
      socket.on('timeout', () => {
        this.logger.info('streaming websocket idle; closing');
        ws.terminate();
      });
      parts.serveWebSocketSession(ws, request, plan.protocol, netnsPath, this.deps);
    });
  }

  private track(socket: Duplex): void {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    (socket as Duplex & { setNoDelay?: (on: boolean) => void }).setNoDelay?.(true);
    this.setIdleTimeout(socket);
  }

  /** Node's socket timeout counts reads and writes alike: exactly "no traffic for so long". */
  private setIdleTimeout(socket: Duplex): void {
    (socket as Duplex & { setTimeout?: (ms: number) => void }).setTimeout?.(this.options.idleTimeoutMs ?? 4 * 3600_000);
  }

  /**
   * The pod's network namespace. Docker's netns file stops being a namespace when the
   * pod stops, so a long session can never dial into whatever later reuses a pid; a
   * host-network pod has none and uses its pause process's (the host's) namespace.
   */
  private async netnsOf(sandboxId: string): Promise<string> {
    const view = await this.options.pods.sandboxStatus(sandboxId);
    if (view.state !== 'ready' || !view.pausePid) throw new FailedPreconditionError(`pod sandbox ${sandboxId} is not ready`);
    return view.record.netnsPath || `/proc/${view.pausePid}/ns/net`;
  }
}

function splitAddress(address: string): { host: string; port: number } {
  const { host, port } = splitHostPort(address);
  return { host: host || '0.0.0.0', port };
}

/** A wildcard bind is advertised as the node's first external address (as containerd). */
function advertisedHost(bound: string): string {
  if (bound !== '0.0.0.0' && bound !== '::') return bound;
  const all = Object.values(networkInterfaces()).flat();
  const pick = all.find((i) => i && !i.internal && i.family === 'IPv4') ?? all.find((i) => i && !i.internal);
  return pick?.address ?? '127.0.0.1';
}

function urlHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}
