/**
 * The composition root: builds the Docker client, the CNI engine, the pod runtime and
 * the gRPC server from a ShimConfig, and tears them down in reverse.
 */
import type { ShimConfig } from './config.js';
import { unixPath } from './config.js';
import type { Logger } from './logger.js';
import { createCniEngine } from './cni/index.js';
import { createDockerClient } from './runtime/docker.js';
import { CniPodNetwork } from './runtime/cni-pod-network.js';
import { DockerPodRuntime } from './runtime/pods.js';
import { CriServer } from './cri/server.js';
import { runtimeInfoHandlers } from './cri/runtime-info.js';
import { imageServiceHandlers } from './cri/image-service.js';
import { sandboxHandlers } from './cri/sandbox-handlers.js';
import { containerHandlers } from './cri/container-handlers.js';
import { execHandlers } from './cri/exec-handlers.js';
import { streamingHandlers } from './cri/streaming-handlers.js';
import { StreamingServer } from './streaming/index.js';
import { eventsHandlers } from './cri/events-handlers.js';
import { statsHandlers } from './cri/stats-handlers.js';
import { StatsService } from './runtime/stats/service.js';
import { eventLoopDelay } from './event-loop-delay.js';

export interface RunningShim {
  socketPath: string;
  stop(graceMs?: number): Promise<void>;
}

export interface ShimOverrides {
  /** Reload the CNI conf dir on change (default true; tests may turn it off). */
  watchCni?: boolean;
}

export async function startShim(config: ShimConfig, logger: Logger, overrides: ShimOverrides = {}): Promise<RunningShim> {
  const docker = createDockerClient(config.dockerEndpoint);
  const cni = createCniEngine({
    confDir: config.cniConfDir,
    binDirs: config.cniBinDirs,
    cacheDir: config.cniCacheDir,
    pluginTimeoutMs: config.cniPluginTimeoutMs,
    logger: logger.child({ component: 'cni' }),
    watch: overrides.watchCni ?? true,
  });
  await cni.loadNetworks();
  const pods = new DockerPodRuntime({
    docker,
    network: new CniPodNetwork(cni),
    stateDir: config.stateDir,
    pauseImage: config.pauseImage,
    logger: logger.child({ component: 'pods' }),
  });
  await pods.load();
  const streaming = new StreamingServer({ address: config.streamingAddress, docker, pods, logger });
  const socketPath = unixPath(config.listen);
  const server = new CriServer({
    socketPath,
    logger,
    runtimeHandlers: {
      ...runtimeInfoHandlers({ config, docker, network: cni }),
      ...sandboxHandlers(pods),
      ...containerHandlers(pods),
      ...execHandlers(pods),
      ...streamingHandlers(pods, streaming),
      ...eventsHandlers(pods),
      ...statsHandlers(new StatsService({ pods, docker, logger: logger.child({ component: 'stats' }) })),
    },
    imageHandlers: imageServiceHandlers({ config, docker, logger }),
  });
  eventLoopDelay.start();
  try {
    await streaming.start();
    await server.start();
  } catch (err) {
    await streaming.stop();
    pods.close();
    cni.close();
    throw err;
  }
  return {
    socketPath,
    stop: async (graceMs = 5000) => {
      await server.stop(graceMs);
      await streaming.stop();
      pods.close();
      cni.close();
    },
  };
}
