/**
 * RunPodSandbox, StopPodSandbox, RemovePodSandbox, PodSandboxStatus and
 * ListPodSandbox: CRI in, domain call, CRI out. Idempotence and NOT_FOUND come from
 * the PodRuntime; errors go up to instrument.ts, which maps them to gRPC codes.
 */
import type { PodRuntime } from '../runtime/pods.js';
import { nowNs } from '../runtime/time.js';
import { containerStatusToCri } from './container-convert.js';
import type { UnaryHandler } from './instrument.js';
import { podSandboxInfo, podSandboxStatusToCri, podSandboxToCri, requireId, sandboxFilterFromCri, sandboxSpecFromCri } from './pod-convert.js';
import type {
  ListPodSandboxRequest__Output,
  ListPodSandboxResponse,
  PodSandboxStatusRequest__Output,
  PodSandboxStatusResponse,
  RemovePodSandboxRequest__Output,
  RemovePodSandboxResponse,
  RunPodSandboxRequest__Output,
  RunPodSandboxResponse,
  StopPodSandboxRequest__Output,
  StopPodSandboxResponse,
} from './proto.js';

export function sandboxHandlers(pods: PodRuntime): Record<string, UnaryHandler> {
  return {
    RunPodSandbox: async (req: RunPodSandboxRequest__Output): Promise<RunPodSandboxResponse> => {
      const record = await pods.runSandbox(sandboxSpecFromCri(req.config, req.runtime_handler));
      return { pod_sandbox_id: record.id };
    },

    // Both succeed for ids we do not know: the kubelet retries them blindly.
    StopPodSandbox: async (req: StopPodSandboxRequest__Output): Promise<StopPodSandboxResponse> => {
      await pods.stopSandbox(requireId(req.pod_sandbox_id, 'pod_sandbox_id'));
      return {};
    },

    RemovePodSandbox: async (req: RemovePodSandboxRequest__Output): Promise<RemovePodSandboxResponse> => {
      await pods.removeSandbox(requireId(req.pod_sandbox_id, 'pod_sandbox_id'));
      return {};
    },

    /**
     * With the statuses of all the pod's containers and the time they were read, which
     * the kubelet's evented PLEG takes instead of asking ContainerStatus one by one: it
     * uses them whenever `timestamp` is set, so the two always go together (containerd
     * 2.0 once sent the timestamp alone and the kubelet saw pods without containers).
     * The time is taken before reading, so an event the kubelet got meanwhile is newer.
     */
    PodSandboxStatus: async (req: PodSandboxStatusRequest__Output): Promise<PodSandboxStatusResponse> => {
      const id = requireId(req.pod_sandbox_id, 'pod_sandbox_id');
      const timestamp = nowNs();
      const view = await pods.sandboxStatus(id);
      const containers = await pods.listContainers({ sandboxId: view.record.id });
      return {
        status: podSandboxStatusToCri(view),
        info: req.verbose ? podSandboxInfo(view) : {},
        containers_statuses: containers.map(containerStatusToCri),
        timestamp,
      };
    },

    ListPodSandbox: async (req: ListPodSandboxRequest__Output): Promise<ListPodSandboxResponse> => {
      const views = await pods.listSandboxes(sandboxFilterFromCri(req.filter));
      return { items: views.map(podSandboxToCri) };
    },
  };
}
