/**
 * The composition root: builds the Docker client, the CNI engine and the gRPC server
 * from a ShimConfig, and tears them down in reverse.
 */
import type { ShimConfig } from './config.js';
import { unixPath } from './config.js';
import type { Logger } from './logger.js';
import { createDockerClient } from './runtime/docker.js';
import { CriServer } from './cri/server.js';
import { runtimeInfoHandlers, type NetworkReadiness } from './cri/runtime-info.js';
import { imageServiceHandlers } from './cri/image-service.js';

export interface RunningShim {
  socketPath: string;
  stop(graceMs?: number): Promise<void>;
}

export interface ShimOverrides {
  /** Lets tests substitute the network readiness source. */
  network?: NetworkReadiness;
}

export async function startShim(config: ShimConfig, logger: Logger, overrides: ShimOverrides = {}): Promise<RunningShim> {
  const docker = createDockerClient(config.dockerEndpoint);
  const network: NetworkReadiness = overrides.network ?? {
    status: () => ({ ready: false, reason: 'NetworkPluginNotReady', message: 'CNI engine not wired yet' }),
  };
  const socketPath = unixPath(config.listen);
  const server = new CriServer({
    socketPath,
    logger,
    runtimeHandlers: { ...runtimeInfoHandlers({ config, docker, network }) },
    imageHandlers: imageServiceHandlers({ config, docker, logger }),
  });
  await server.start();
  return {
    socketPath,
    stop: async (graceMs = 5000) => {
      await server.stop(graceMs);
    },
  };
}
