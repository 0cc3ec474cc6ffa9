/**
 * UpdatePodSandboxResources: the kubelet tells the runtime the pod-level resources
 * (and overhead) it has just set on the pod's cgroup. Values are checked as for
 * UpdateContainerResources, then recorded (see DockerPodRuntime.updateSandboxResources)
 * and shown in PodSandboxStatus' verbose info.
 */
import type { SandboxResourcesRecorder } from '../runtime/pods.js';
import { resourcesUpdateFromCri } from './exec-handlers.js';
import type { UnaryHandler } from './instrument.js';
import { requireId } from './pod-convert.js';
import type { UpdatePodSandboxResourcesRequest__Output, UpdatePodSandboxResourcesResponse } from './proto.js';

export function sandboxResourcesHandlers(pods: SandboxResourcesRecorder): Record<string, UnaryHandler> {
  return {
    UpdatePodSandboxResources: async (req: UpdatePodSandboxResourcesRequest__Output): Promise<UpdatePodSandboxResourcesResponse> => {
      const id = requireId(req.pod_sandbox_id, 'pod_sandbox_id');
      const overhead = req.overhead ? resourcesUpdateFromCri(req.overhead, 'overhead') : null;
      const resources = req.resources ? resourcesUpdateFromCri(req.resources, 'resources') : null;
      await pods.updateSandboxResources(id, { overhead, resources });
      return {};
    },
  };
}
