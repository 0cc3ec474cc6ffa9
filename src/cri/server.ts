/**
 * The gRPC server: RuntimeService and ImageService on one Unix socket.
 */
import { Server, ServerCredentials, type ServiceDefinition } from '@grpc/grpc-js';
import type net from 'node:net';
import type { Logger } from '../logger.js';
import { implementService, type Handlers, type RpcObserver } from './instrument.js';
import { rewriteAuthority } from './h2-authority.js';
import { closeUnix, listenUnix } from './socket.js';
import { loadCriPackage } from './proto.js';
import { CallDrain } from './drain.js';
import { withListEncoding } from './list-item-encoding.js';

/** The kubelet's own limit, both ways: big ListContainers answers exceed grpc's 4 MiB default. */
export const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;
const REPLY_FLUSH_MS = 200;

export interface CriServerOptions {
  socketPath: string;
  runtimeHandlers: Handlers;
  imageHandlers: Handlers;
  logger: Logger;
  /** Told about every finished call (metrics). */
  observeRpc?: RpcObserver;
}

export class CriServer {
  private readonly grpc: Server;
  private readonly injector: ReturnType<Server['createConnectionInjector']>;
  private listener: net.Server | null = null;
  private readonly calls = new CallDrain();

  constructor(private readonly opts: CriServerOptions) {
    this.grpc = new Server({
      'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
      'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
    });
    const pkg = loadCriPackage();
    const v1 = pkg.runtime.v1;
    // Relist answers reuse the encoded bytes of unchanged items (list-item-encoding.ts).
    const messages = v1 as unknown as Record<string, { serialize: (value: object) => Buffer }>;
    const runtimeDef = withListEncoding(v1.RuntimeService.service as ServiceDefinition, (type) => messages[type]!.serialize);
    const imageDef = v1.ImageService.service as ServiceDefinition;
    const runtime = this.calls.wrap(runtimeDef, opts.runtimeHandlers);
    const image = this.calls.wrap(imageDef, opts.imageHandlers);
    this.grpc.addService(runtimeDef, implementService('RuntimeService', runtimeDef, runtime, opts.logger, opts.observeRpc));
    this.grpc.addService(imageDef, implementService('ImageService', imageDef, image, opts.logger, opts.observeRpc));
    this.injector = this.grpc.createConnectionInjector(ServerCredentials.createInsecure());
  }

  async start(): Promise<void> {
    this.listener = await listenUnix(this.opts.socketPath, (socket) => {
      socket.on('error', (err) => this.opts.logger.debug({ err: err.message }, 'client connection error'));
      this.injector.injectConnection(rewriteAuthority(socket));
    });
    this.opts.logger.info({ socket: this.opts.socketPath }, 'listening');
  }

  /**
   * Stops accepting, lets unary calls in flight finish (or roll back) for up to
   * `graceMs`, then closes the connections, cutting open streams after a second more.
   */
  async stop(graceMs = 5000): Promise<void> {
    const draining = this.calls.drain(graceMs);
    if (this.listener) {
      const listener = this.listener;
      this.listener = null;
      await closeUnix(listener, this.opts.socketPath);
    }
    const waitedFor = this.calls.pending;
    const cut = await draining;
    if (waitedFor > 0) {
      this.opts.logger.info({ waitedFor, cut }, cut ? 'calls still running after the grace period are cut' : 'calls in flight finished');
      // Their replies go through grpc-js, our :authority rewriter and the socket; the
      // shutdown below destroys sessions, so give those writes a moment to leave.
      await new Promise((resolve) => setTimeout(resolve, REPLY_FLUSH_MS));
    }
    graceMs = Math.min(graceMs, 1000);
    this.injector.drain(graceMs);
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.grpc.forceShutdown();
        resolve();
      }, graceMs);
      timer.unref();
      this.grpc.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    this.injector.destroy();
  }
}
