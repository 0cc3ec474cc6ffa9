/**
 * An ImageService on a socket of its own: our handlers behind the real CriServer
 * (instrumentation, status codes, wire format) and a real gRPC client, without
 * the rest of the shim. Every log line is kept, from trace up and with no
 * redaction at all, so a test that finds no credential in them shows that no
 * code path logs one (redaction in src/logger.ts is a second line of defence).
 * The Docker pull is wrapped to count how often dockerd is asked.
 */
import { credentials, type Client } from '@grpc/grpc-js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { mergeConfig, type ShimConfig } from '../../../src/config.js';
import { imageServiceHandlers } from '../../../src/cri/image-service.js';
import { loadCriPackage } from '../../../src/cri/proto.js';
import { CriServer } from '../../../src/cri/server.js';
import { createDockerClient } from '../../../src/runtime/docker.js';
import { dockerPull } from '../../../src/runtime/images/docker-pull.js';
import { Images } from '../../../src/runtime/images/images.js';
import { formatReference } from '../../../src/runtime/images/reference.js';

export interface ImageServer {
  config: ShimConfig;
  socketPath: string;
  image: Client;
  /** Raw log lines (JSON). */
  logs: string[];
  /** Names dockerd was asked to pull, one entry per Docker pull. */
  dockerPulls: string[];
  call<T = any>(method: string, request: object, timeoutMs?: number): Promise<T>;
  close(): Promise<void>;
}

export async function startImageServer(overrides: Partial<ShimConfig> = {}): Promise<ImageServer> {
  const dir = mkdtempSync(join(tmpdir(), 'cri-shim-images-'));
  const socketPath = join(dir, 'cri.sock');
  const config = mergeConfig({ listen: `unix://${socketPath}`, ...overrides });
  const logs: string[] = [];
  const logger = pino({ level: 'trace' }, { write: (s: string) => void logs.push(s) });
  const docker = createDockerClient(config.dockerEndpoint);
  const real = dockerPull(docker);
  const dockerPulls: string[] = [];
  const images = new Images({
    docker,
    config,
    pull: (req) => {
      dockerPulls.push(formatReference(req.ref));
      return real(req);
    },
  });
  const server = new CriServer({
    socketPath,
    logger,
    runtimeHandlers: {},
    imageHandlers: imageServiceHandlers({ config, docker, logger, images }),
  });
  await server.start();
  const pkg = loadCriPackage();
  const image = new pkg.runtime.v1.ImageService(`unix://${socketPath}`, credentials.createInsecure()) as unknown as Client;
  const call = <T>(method: string, request: object, timeoutMs = 60_000): Promise<T> =>
    new Promise((resolve, reject) => {
      (image as any)[method](request, { deadline: Date.now() + timeoutMs }, (err: Error | null, res: T) =>
        err ? reject(err) : resolve(res),
      );
    });
  return {
    config,
    socketPath,
    image,
    logs,
    dockerPulls,
    call,
    close: async () => {
      image.close();
      await server.stop(1000);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
