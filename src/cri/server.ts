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

/** The kubelet's own limit, both ways: big ListContainers answers exceed grpc's 4 MiB default. */
export const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

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

  constructor(private readonly opts: CriServerOptions) {
    this.grpc = new Server({
      'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
      'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
    });
    const pkg = loadCriPackage();
    const v1 = pkg.runtime.v1;
    const runtimeDef = v1.RuntimeService.service as ServiceDefinition;
    const imageDef = v1.ImageService.service as ServiceDefinition;
    this.grpc.addService(runtimeDef, implementService('RuntimeService', runtimeDef, opts.runtimeHandlers, opts.logger, opts.observeRpc));
    this.grpc.addService(imageDef, implementService('ImageService', imageDef, opts.imageHandlers, opts.logger, opts.observeRpc));
    this.injector = this.grpc.createConnectionInjector(ServerCredentials.createInsecure());
  }

  async start(): Promise<void> {
    this.listener = await listenUnix(this.opts.socketPath, (socket) => {
      socket.on('error', (err) => this.opts.logger.debug({ err: err.message }, 'client connection error'));
      this.injector.injectConnection(rewriteAuthority(socket));
    });
    this.opts.logger.info({ socket: this.opts.socketPath }, 'listening');
  }

  /** Stops accepting, lets calls in flight finish for `graceMs`, then cuts the rest. */
  async stop(graceMs = 5000): Promise<void> {
    if (this.listener) {
      const listener = this.listener;
      this.listener = null;
      await closeUnix(listener, this.opts.socketPath);
    }
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
