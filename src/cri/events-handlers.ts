/**
 * GetContainerEvents: a server stream of CREATED/STARTED/STOPPED/DELETED events for
 * containers and sandboxes, each with the pod's status, for the kubelet's evented
 * PLEG. Any number of subscribers; the stream ends when the client cancels.
 */
import { NotFoundError } from '../errors.js';
import type { PodEvent, PodEventType } from '../runtime/pod-events.js';
import type { PodRuntime } from '../runtime/pods.js';
import { containerStatusToCri } from './container-convert.js';
import type { StreamHandler } from './instrument.js';
import { podSandboxStatusToCri } from './pod-convert.js';
import type { ContainerEventResponse, ContainerEventType } from './proto.js';

const EVENT_TYPE: Record<PodEventType, ContainerEventType> = {
  created: 'CONTAINER_CREATED_EVENT',
  started: 'CONTAINER_STARTED_EVENT',
  stopped: 'CONTAINER_STOPPED_EVENT',
  deleted: 'CONTAINER_DELETED_EVENT',
};

async function toResponse(pods: PodRuntime, event: PodEvent): Promise<ContainerEventResponse> {
  let podStatus = null;
  try {
    podStatus = podSandboxStatusToCri(await pods.sandboxStatus(event.sandboxId));
  } catch (err) {
    // A removed sandbox has no status left to send.
    if (!(err instanceof NotFoundError)) throw err;
  }
  const containers = await pods.listContainers({ sandboxId: event.sandboxId });
  return {
    container_id: event.id,
    container_event_type: EVENT_TYPE[event.type],
    created_at: event.timeNano,
    pod_sandbox_status: podStatus,
    containers_statuses: containers.map(containerStatusToCri),
  };
}

export function eventsHandlers(pods: PodRuntime): Record<string, StreamHandler> {
  return {
    GetContainerEvents: (_req, stream, ctx) =>
      new Promise<void>((resolve) => {
        // Events are converted one after another so the client sees them in order.
        let chain = Promise.resolve();
        const unsubscribe = pods.subscribe((event) => {
          chain = chain
            .then(async () => {
              if (!ctx.signal.aborted) stream.write(await toResponse(pods, event));
            })
            .catch((err: unknown) => ctx.logger.warn({ err: (err as Error).message }, 'cannot send container event'));
        });
        ctx.signal.addEventListener('abort', () => {
          unsubscribe();
          resolve();
        });
      }),
  };
}
