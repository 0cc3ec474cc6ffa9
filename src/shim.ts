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
import { NetworkGc } from './runtime/network-gc.js';
import { resolve } from 'node:path';
import { Images } from './runtime/images/images.js';
import { ImageEnsurer } from './runtime/images/ensure-image.js';
// Types only: prom-client (~1.5 MB of heap) loads below, and only with --metrics-address.
import type { PodCounts } from './metrics/shim-metrics.js';
import { observeDockerCalls } from './metrics/docker-calls.js';
import { NodeNetworkConfig } from './runtime/node-network-config.js';
import { runtimeConfigHandlers } from './cri/runtime-config-handlers.js';
import { listStreamHandlers } from './cri/list-stream-handlers.js';
import { sandboxResourcesHandlers } from './cri/sandbox-resources-handlers.js';
import { eventLoopDelay } from './event-loop-delay.js';

export interface RunningShim {
  socketPath: string;
  /** The metrics endpoint's bound `HOST:PORT` (the real port when 0 was asked); unset when metrics are off. */
  metricsAddress?: string;
  stop(graceMs?: number): Promise<void>;
}

export interface ShimOverrides {
  /** Reload the CNI conf dir on change (default true; tests may turn it off). */
  watchCni?: boolean;
}

export async function startShim(config: ShimConfig, logger: Logger, overrides: ShimOverrides = {}): Promise<RunningShim> {
  const docker = createDockerClient(config.dockerEndpoint);
  // Off by default: without --metrics-address no observer is installed anywhere.
  const metricsModule = config.metricsAddress ? await import('./metrics/shim-metrics.js') : undefined;
  const metrics = metricsModule ? new metricsModule.ShimMetrics(logger.child({ component: 'metrics' })) : undefined;
  if (metrics) observeDockerCalls(docker, metrics.observeDocker);
  // Our identity on the node: the managed label of our containers and the owner mark of
  // our CNI cache entries. One value, or network GC would collect live pods' networks.
  const instance = resolve(config.stateDir);
  const cni = createCniEngine({
    confDir: config.cniConfDir,
    binDirs: config.cniBinDirs,
    cacheDir: config.cniCacheDir,
    pluginTimeoutMs: config.cniPluginTimeoutMs,
    owner: instance,
    logger: logger.child({ component: 'cni' }),
    watch: overrides.watchCni ?? true,
    invokeObserver: metrics?.observeCni,
  });
  await cni.loadNetworks();
  // One image domain for PullImage and for the pause image RunPodSandbox pulls: same mirrors, same single flight.
  const images = new Images({ docker, config });
  const pauseImage = new ImageEnsurer({
    present: async (image) => (await images.status(image)) !== undefined,
    pull: (image, log) => images.pull(image, { logger: log }),
  });
  const pods = new DockerPodRuntime({
    docker,
    network: new CniPodNetwork(cni),
    stateDir: config.stateDir,
    pauseImage: config.pauseImage,
    ensureImage: pauseImage.ensure,
    logger: logger.child({ component: 'pods' }),
  });
  await pods.load();
  const networkGc = new NetworkGc({ docker, cni, instance, logger: logger.child({ component: 'network-gc' }) });
  metrics?.countPods(podCounts(pods));
  const nodeNetwork = new NodeNetworkConfig(config.stateDir, logger);
  await nodeNetwork.load();
  const streaming = new StreamingServer({ address: config.streamingAddress, docker, pods, logger });
  const socketPath = unixPath(config.listen);
  const server = new CriServer({
    socketPath,
    logger,
    runtimeHandlers: {
      ...runtimeInfoHandlers({ config, docker, network: cni, nodeNetwork }),
      ...runtimeConfigHandlers(nodeNetwork),
      ...sandboxHandlers(pods),
      ...listStreamHandlers(pods),
      ...sandboxResourcesHandlers(pods),
      ...containerHandlers(pods),
      ...execHandlers(pods),
      ...streamingHandlers(pods, streaming),
      ...eventsHandlers(pods),
      ...statsHandlers(new StatsService({ pods, docker, logger: logger.child({ component: 'stats' }) })),
    },
    imageHandlers: imageServiceHandlers({ config, docker, logger, images }),
    observeRpc: metrics?.observeRpc,
  });
  const metricsServer = metrics
    ? new (await import('./metrics/server.js')).MetricsServer(config.metricsAddress!, metrics, logger.child({ component: 'metrics' }))
    : undefined;
  eventLoopDelay.start();
  try {
    await streaming.start();
    await metricsServer?.start();
    await server.start();
    networkGc.start();
  } catch (err) {
    await networkGc.stop();
    await metricsServer?.stop();
    await streaming.stop();
    pods.close();
    cni.close();
    throw err;
  }
  return {
    socketPath,
    metricsAddress: metricsServer?.boundAddress,
    stop: async (graceMs = 5000) => {
      await server.stop(graceMs);
      await networkGc.stop();
      await metricsServer?.stop();
      await streaming.stop();
      pods.close();
      cni.close();
    },
  };
}

/** The pod gauges' source: the runtime's in-memory queries (no Docker call at scrape time). */
function podCounts(pods: DockerPodRuntime): PodCounts {
  return {
    sandboxStates: async () => (await pods.listSandboxes({})).map((v) => v.state),
    containerStates: async () => (await pods.listContainers({})).map((v) => v.live.state),
  };
}
