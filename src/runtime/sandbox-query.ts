/**
 * PodSandboxStatus and ListPodSandbox: the record from our store, plus whether the
 * pause container still runs (a sandbox whose pause died is NOTREADY).
 */
import type Docker from 'dockerode';
import { dockerStatus } from './docker-errors.js';
import { managedFilter, matchesSelector } from './labels.js';
import type { JsonStore } from './json-store.js';
import type { SandboxRecord, SandboxState } from './types.js';

export interface SandboxView {
  record: SandboxRecord;
  state: SandboxState;
  pausePid: number;
}

export interface SandboxFilter {
  id?: string;
  state?: SandboxState;
  labelSelector?: Record<string, string>;
}

export async function sandboxView(docker: Docker, record: SandboxRecord): Promise<SandboxView> {
  let running = false;
  let pid = 0;
  try {
    const info = await docker.getContainer(record.pauseContainerId).inspect();
    running = info.State.Running;
    pid = info.State.Pid;
  } catch (err) {
    if (dockerStatus(err) !== 404) throw err;
  }
  return { record, state: record.state === 'ready' && running ? 'ready' : 'notready', pausePid: pid };
}

export async function listSandboxes(docker: Docker, store: JsonStore<SandboxRecord>, filter: SandboxFilter): Promise<SandboxView[]> {
  let records = store.list();
  if (filter.id) {
    const one = store.resolve(filter.id);
    records = one ? [one] : [];
  }
  records = records.filter((r) => matchesSelector(r.spec.labels, filter.labelSelector));
  if (!records.length) return [];
  // One Docker call for all pause containers, not one per sandbox.
  const running = new Set(
    (await docker.listContainers({ all: false, filters: managedFilter('sandbox') })).map((c) => c.Id),
  );
  const views = records.map((record) => ({
    record,
    state: (record.state === 'ready' && running.has(record.pauseContainerId) ? 'ready' : 'notready') as SandboxState,
    pausePid: 0,
  }));
  return filter.state ? views.filter((v) => v.state === filter.state) : views;
}
