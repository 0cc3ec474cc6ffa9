/**
 * Version, Status and RuntimeConfig: what crictl `version` and `info` print and what
 * the kubelet polls to decide whether the node is Ready.
 */
import type Docker from 'dockerode';
import type { ShimConfig } from '../config.js';
import { dockerHealth } from '../runtime/docker.js';
import { packageVersion } from '../paths.js';
import { UnavailableError } from '../errors.js';
import type { NodeNetworkConfig } from '../runtime/node-network-config.js';
import { eventLoopDelay } from '../event-loop-delay.js';
import type { UnaryHandler } from './instrument.js';

export const RUNTIME_NAME = 'cri-shim';
/** The CRI API version we speak: the kubelet checks it is "v1". */
export const RUNTIME_API_VERSION = 'v1';

interface Readiness {
  ready: boolean;
  reason?: string;
  message?: string;
}

/**
 * What Status needs from the CNI engine: whether a usable network config is loaded,
 * and whether its plugins say they are ready (the CNI 1.1 STATUS verb).
 */
export interface NetworkReadiness {
  status(): Promise<Readiness & { network?: unknown }>;
  pluginStatus(): Promise<Readiness>;
}

/** Config first (cheap, in memory); STATUS only runs plugins when the config is usable. */
async function networkReadiness(network: NetworkReadiness): Promise<Readiness & { network?: unknown }> {
  const config = await network.status();
  if (!config.ready) return config;
  const plugins = await network.pluginStatus();
  return plugins.ready ? config : { ...config, ready: false, reason: plugins.reason, message: plugins.message };
}

export interface RuntimeInfoDeps {
  config: ShimConfig;
  docker: Docker;
  network: NetworkReadiness;
  /** The pod CIDR the kubelet gave through UpdateRuntimeConfig, shown in verbose Status. */
  nodeNetwork?: NodeNetworkConfig;
}

/**
 * What the default handler ("": Docker's default runtime) can do, as critest and the
 * kubelet read it. Docker 20.10 (API 1.41) has no recursive read-only bind mounts
 * (API 1.44+), no user-namespaced pods (so none on the host network either) and no
 * SupplementalGroupsPolicy: claiming any of them would make the kubelet ask for what
 * Docker silently would not do (critest then skips the 12 specs that need them).
 */
export const HANDLER_FEATURES = { recursive_read_only_mounts: false, user_namespaces: false } as const;
export const RUNTIME_FEATURES = { supplemental_groups_policy: false, user_namespaces_host_network: false } as const;

interface Condition {
  type: string;
  status: boolean;
  reason: string;
  message: string;
}

export function runtimeInfoHandlers(deps: RuntimeInfoDeps): Record<string, UnaryHandler> {
  const version = packageVersion();
  return {
    Version: async () => ({
      // The version of the kubelet-runtime API itself, fixed by the CRI.
      version: '0.1.0',
      runtime_name: RUNTIME_NAME,
      runtime_version: version,
      runtime_api_version: RUNTIME_API_VERSION,
    }),

    Status: async (req: { verbose?: boolean }) => {
      const docker = await dockerHealth(deps.docker);
      const net = await networkReadiness(deps.network);
      const conditions: Condition[] = [
        {
          type: 'RuntimeReady',
          status: docker.reachable,
          reason: docker.reachable ? '' : 'DockerUnreachable',
          message: docker.reachable ? '' : `dockerd at ${deps.config.dockerEndpoint} does not answer: ${docker.error}`,
        },
        {
          type: 'NetworkReady',
          status: net.ready,
          reason: net.ready ? '' : (net.reason ?? 'NetworkPluginNotReady'),
          message: net.ready ? '' : (net.message ?? 'no valid CNI network config loaded'),
        },
      ];
      // crictl info parses every value as JSON, so each entry is a JSON document.
      const info: Record<string, string> = req.verbose
        ? {
            config: JSON.stringify(deps.config),
            docker: JSON.stringify(docker),
            cni: JSON.stringify(net),
            socket: JSON.stringify(deps.config.listen),
            networkConfig: JSON.stringify({
              podCidrs: deps.nodeNetwork?.podCidrs() ?? [],
              updatedAt: deps.nodeNetwork?.updatedAt() ?? '',
            }),
            // Recent 5 s windows of event-loop delay and the process's memory: what a
            // stalled or bloated shim looks like from outside (bench/load.mjs reads them).
            eventLoopDelay: JSON.stringify(eventLoopDelay.snapshot()),
            memory: JSON.stringify(process.memoryUsage()),
          }
        : {};
      return {
        status: { conditions },
        info,
        runtime_handlers: [{ name: '', features: { ...HANDLER_FEATURES } }],
        features: { ...RUNTIME_FEATURES },
      };
    },

    RuntimeConfig: async () => {
      const docker = await dockerHealth(deps.docker);
      if (!docker.reachable) throw new UnavailableError(`dockerd does not answer: ${docker.error}`);
      return { linux: { cgroup_driver: docker.cgroupDriver === 'systemd' ? 'SYSTEMD' : 'CGROUPFS' } };
    },
  };
}
