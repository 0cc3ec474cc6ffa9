/** What queries about containers return: the record we keep plus Docker's live state. */
import type { ContainerLiveState, ContainerRecord, ContainerStateName } from './types.js';

export interface ContainerView {
  record: ContainerRecord;
  live: ContainerLiveState;
}

export interface ContainerFilter {
  id?: string;
  state?: ContainerStateName;
  sandboxId?: string;
  labelSelector?: Record<string, string>;
}

export type { SandboxView, SandboxFilter } from './sandbox-query.js';
