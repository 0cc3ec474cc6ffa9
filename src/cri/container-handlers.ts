/**
 * CreateContainer, StartContainer, StopContainer, RemoveContainer, ContainerStatus and
 * ListContainers: CRI in, domain call, CRI out. Stop/Remove of unknown ids succeed and
 * Status of one is NOT_FOUND: the PodRuntime decides both.
 */
import type { PodRuntime } from '../runtime/pods.js';
import type { UnaryHandler } from './instrument.js';
import { containerFilterFromCri, containerInfo, containerSpecFromCri, containerStatusToCri, containerToCri } from './container-convert.js';
import { int64, requireId } from './pod-convert.js';
import type {
  ContainerStatusRequest__Output,
  ContainerStatusResponse,
  CreateContainerRequest__Output,
  CreateContainerResponse,
  ListContainersRequest__Output,
  ListContainersResponse,
  RemoveContainerRequest__Output,
  RemoveContainerResponse,
  StartContainerRequest__Output,
  StartContainerResponse,
  StopContainerRequest__Output,
  StopContainerResponse,
} from './proto.js';

export function containerHandlers(pods: PodRuntime): Record<string, UnaryHandler> {
  return {
    CreateContainer: async (req: CreateContainerRequest__Output): Promise<CreateContainerResponse> => {
      const sandboxId = requireId(req.pod_sandbox_id, 'pod_sandbox_id');
      const record = await pods.createContainer(sandboxId, containerSpecFromCri(req.config));
      return { container_id: record.id };
    },

    StartContainer: async (req: StartContainerRequest__Output): Promise<StartContainerResponse> => {
      await pods.startContainer(requireId(req.container_id, 'container_id'));
      return {};
    },

    StopContainer: async (req: StopContainerRequest__Output): Promise<StopContainerResponse> => {
      const id = requireId(req.container_id, 'container_id');
      // A negative grace period kills at once, as in containerd; never refuse a stop.
      await pods.stopContainer(id, Math.max(0, int64(req.timeout, 'timeout')));
      return {};
    },

    RemoveContainer: async (req: RemoveContainerRequest__Output): Promise<RemoveContainerResponse> => {
      await pods.removeContainer(requireId(req.container_id, 'container_id'));
      return {};
    },

    ContainerStatus: async (req: ContainerStatusRequest__Output): Promise<ContainerStatusResponse> => {
      const view = await pods.containerStatus(requireId(req.container_id, 'container_id'));
      return { status: containerStatusToCri(view), info: req.verbose ? containerInfo(view) : {} };
    },

    ListContainers: async (req: ListContainersRequest__Output): Promise<ListContainersResponse> => {
      const views = await pods.listContainers(containerFilterFromCri(req.filter));
      return { containers: views.map(containerToCri) };
    },
  };
}
