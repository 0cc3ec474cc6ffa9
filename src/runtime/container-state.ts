/** Docker's view of a container → the CRI's four states, reason and times. */
import type Docker from 'dockerode';
import { rfc3339ToNs } from './time.js';
import type { ContainerLiveState, ContainerStateName } from './types.js';

export function stateName(dockerStatus: string): ContainerStateName {
  switch (dockerStatus) {
    case 'created':
      return 'created';
    case 'running':
    case 'paused':
    case 'restarting':
      return 'running';
    case 'exited':
    case 'dead':
      return 'exited';
    default:
      return 'unknown';
  }
}

/** The kubelet shows `reason`; OOMKilled must win over the exit code's meaning. */
export function liveState(state: Docker.ContainerInspectInfo['State']): ContainerLiveState {
  const name = stateName(state.Status);
  let reason = '';
  if (name === 'exited') reason = state.OOMKilled ? 'OOMKilled' : state.ExitCode === 0 ? 'Completed' : 'Error';
  return {
    state: name,
    startedAt: rfc3339ToNs(state.StartedAt),
    finishedAt: name === 'exited' ? rfc3339ToNs(state.FinishedAt) : '0',
    exitCode: state.ExitCode,
    reason,
    message: state.Error ?? '',
    pid: state.Pid,
  };
}

/**
 * An exited container for which Docker sent an `oom` event ended by the OOM killer,
 * whatever its inspect says: dockerd 20.10 sets State.OOMKilled only when containerd's
 * OOM event reaches it before the exit event, and under load it often does not (critest's
 * OOM spec then saw "Error"). containerd's CRI likewise keeps OOMKilled once it saw one.
 */
export function afterOomEvent(state: ContainerLiveState): ContainerLiveState {
  return state.state === 'exited' ? { ...state, reason: 'OOMKilled' } : state;
}

export const UNKNOWN_STATE: ContainerLiveState = {
  state: 'unknown',
  startedAt: '0',
  finishedAt: '0',
  exitCode: 0,
  reason: 'Unknown',
  message: 'the Docker container is gone',
  pid: 0,
};
