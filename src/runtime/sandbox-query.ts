/**
 * PodSandboxStatus and ListPodSandbox: the record from our store, plus whether the
 * pause container still runs (a sandbox whose pause died is NOTREADY). Both answer
 * from memory (the live view), without a Docker call.
 */
import { matchesSelector } from './labels.js';
import type { JsonStore } from './json-store.js';
import type { LiveView } from './live-view.js';
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

export function sandboxView(live: LiveView, record: SandboxRecord): SandboxView {
  const pause = live.get(record.pauseContainerId);
  const running = pause?.state === 'running';
  return { record, state: record.state === 'ready' && running ? 'ready' : 'notready', pausePid: running ? pause.pid : 0 };
}

export function listSandboxes(live: LiveView, store: JsonStore<SandboxRecord>, filter: SandboxFilter): SandboxView[] {
  let records = store.list();
  if (filter.id) {
    // An ambiguous prefix lists nothing rather than failing the whole list (as containerd).
    const matches = records.filter((r) => r.id.startsWith(filter.id!));
    const exact = matches.find((r) => r.id === filter.id);
    records = exact ? [exact] : matches.length === 1 ? matches : [];
  }
  const views = records
    .filter((r) => matchesSelector(r.spec.labels, filter.labelSelector))
    .map((record) => sandboxView(live, record));
  return filter.state ? views.filter((v) => v.state === filter.state) : views;
}
