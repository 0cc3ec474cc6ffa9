/**
 * The shim's Prometheus metrics (prom-client), one registry per shim: the families
 * and the observers the layers call (gRPC wrapper, CNI plugin executions, Docker
 * calls). Pod and container counts are read at scrape time from the pod runtime's
 * in-memory view, so a scrape costs no Docker call.
 */
import { collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { CniInvocation } from '../cni/index.js';
import type { Logger } from '../logger.js';
import type { ContainerStateName, SandboxState } from '../runtime/types.js';

const METRIC_PREFIX = 'cri_shim_';

/** What the pod gauges are computed from: the runtime's queries that answer from memory. */
export interface PodCounts {
  sandboxStates(): Promise<SandboxState[]>;
  containerStates(): Promise<ContainerStateName[]>;
}

const SANDBOX_STATES: SandboxState[] = ['ready', 'notready'];
const CONTAINER_STATES: ContainerStateName[] = ['created', 'running', 'exited', 'unknown'];

/** From 1 ms (a relist answered from memory) to a minute (a slow pull's Docker call, a stuck plugin). */
const CALL_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
/** Pod start is Docker's container start plus the CNI chain: a few hundred ms on a quiet node. */
const POD_START_BUCKETS = [0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 2, 5, 10, 30, 60];

export class ShimMetrics {
  readonly registry = new Registry();
  private readonly rpc: Histogram<'service' | 'method' | 'code'>;
  private readonly podStart: Histogram;
  private readonly cni: Histogram<'plugin' | 'verb' | 'result'>;
  private readonly docker: Histogram<'operation' | 'result'>;

  constructor(private readonly logger: Logger) {
    const registers = [this.registry];
    this.rpc = new Histogram({
      name: `${METRIC_PREFIX}grpc_request_duration_seconds`,
      help: 'CRI gRPC calls by service, method and gRPC status code, from arrival to answer (server streams: until they end).',
      labelNames: ['service', 'method', 'code'],
      buckets: CALL_BUCKETS,
      registers,
    });
    this.podStart = new Histogram({
      name: `${METRIC_PREFIX}pod_start_duration_seconds`,
      help: 'Successful RunPodSandbox calls end to end (pause container, CNI ADD, state written).',
      buckets: POD_START_BUCKETS,
      registers,
    });
    this.cni = new Histogram({
      name: `${METRIC_PREFIX}cni_plugin_duration_seconds`,
      help: 'CNI plugin executions by plugin type, verb (ADD, DEL, CHECK, …) and result (ok, error, timeout).',
      labelNames: ['plugin', 'verb', 'result'],
      buckets: CALL_BUCKETS,
      registers,
    });
    this.docker = new Histogram({
      name: `${METRIC_PREFIX}docker_request_duration_seconds`,
      help: 'Docker Engine API calls by operation (method and path, ids elided) and result, until dockerd answers.',
      labelNames: ['operation', 'result'],
      buckets: CALL_BUCKETS,
      registers,
    });
    // Process CPU, memory, fds, heap, GC and event-loop delay (nodejs_eventloop_lag_*), under
    // their conventional unprefixed names so stock Node.js dashboards and alerts work as-is.
    collectDefaultMetrics({ register: this.registry });
  }

  /** Adds the pod and container gauges, computed from `pods` at each scrape. */
  countPods(pods: PodCounts): void {
    const registers = [this.registry];
    new Gauge({
      name: `${METRIC_PREFIX}pod_sandboxes`,
      help: 'Pod sandboxes of this shim by state (ready: pause container running and network set up).',
      labelNames: ['state'],
      registers,
      async collect() {
        this.reset();
        const counts = countBy(SANDBOX_STATES, await pods.sandboxStates());
        for (const [state, n] of counts) this.set({ state }, n);
      },
    });
    new Gauge({
      name: `${METRIC_PREFIX}containers`,
      help: 'Containers of this shim (pause containers not included) by state.',
      labelNames: ['state'],
      registers,
      async collect() {
        this.reset();
        const counts = countBy(CONTAINER_STATES, await pods.containerStates());
        for (const [state, n] of counts) this.set({ state }, n);
      },
    });
  }

  /** For the gRPC wrapper (RpcObserver): `rpc` is `Service/Method`. */
  readonly observeRpc = (rpc: string, code: string, seconds: number): void => {
    this.safely(() => {
      const slash = rpc.indexOf('/');
      this.rpc.observe({ service: rpc.slice(0, slash), method: rpc.slice(slash + 1), code }, seconds);
      if (rpc === 'RuntimeService/RunPodSandbox' && code === 'OK') this.podStart.observe(seconds);
    });
  };

  /** For the CNI engine (CniInvokeObserver). */
  readonly observeCni = (inv: CniInvocation): void => {
    this.safely(() => this.cni.observe({ plugin: inv.plugin, verb: inv.command, result: inv.result }, inv.seconds));
  };

  /** For the Docker client (DockerCallObserver). */
  readonly observeDocker = (operation: string, result: 'ok' | 'error', seconds: number): void => {
    this.safely(() => this.docker.observe({ operation, result }, seconds));
  };

  /** The exposition text and its content type. */
  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  /** A metric must never fail the call it measures. */
  private safely(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, 'cannot record a metric');
    }
  }
}

/** Every known state with its count (0 included, so the series exist from the start). */
function countBy<S extends string>(known: readonly S[], values: readonly S[]): Map<S, number> {
  const counts = new Map<S, number>(known.map((s) => [s, 0]));
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return counts;
}
