/**
 * Container lifecycle events in CRI terms (GetContainerEvents), from Docker's events
 * for our containers. A pause container's events are its sandbox's, under the
 * sandbox id.
 */
import type { DockerContainerEvent } from './docker-events.js';
import { LABEL_KIND, LABEL_SANDBOX_ID } from './labels.js';

export type PodEventType = 'created' | 'started' | 'stopped' | 'deleted';

export interface PodEvent {
  type: PodEventType;
  /** Container id, or the sandbox id for a sandbox's own events. */
  id: string;
  sandboxId: string;
  /** Unix nanoseconds, decimal. */
  timeNano: string;
}

const TYPE_OF: Partial<Record<DockerContainerEvent['action'], PodEventType>> = {
  create: 'created',
  start: 'started',
  die: 'stopped',
  destroy: 'deleted',
};

export function toPodEvent(e: DockerContainerEvent): PodEvent | undefined {
  const type = TYPE_OF[e.action];
  const sandboxId = e.labels[LABEL_SANDBOX_ID];
  if (!type || !sandboxId) return undefined;
  const isSandbox = e.labels[LABEL_KIND] === 'sandbox';
  return { type, id: isSandbox ? sandboxId : e.id, sandboxId, timeNano: e.timeNano };
}
