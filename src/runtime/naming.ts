/**
 * Docker container names follow the kubelet's scheme, as dockershim and cri-dockerd
 * did: `k8s_<container>_<pod>_<namespace>_<uid>_<attempt>` (the sandbox uses `POD` as
 * its container name). The name is unique per attempt, so a CreateContainer that the
 * kubelet retries after a timed-out first try finds the first one by name instead of
 * making a twin.
 */
const PREFIX = 'k8s';
const SANDBOX_CONTAINER_NAME = 'POD';

export interface PodIdentity {
  name: string;
  namespace: string;
  uid: string;
}

/** Docker allows [a-zA-Z0-9][a-zA-Z0-9_.-]*: anything else becomes '-'. */
function clean(part: string): string {
  return part.replace(/[^a-zA-Z0-9_.-]/g, '-');
}

export function sandboxContainerName(pod: PodIdentity, attempt: number): string {
  return [PREFIX, SANDBOX_CONTAINER_NAME, pod.name, pod.namespace, pod.uid, String(attempt)].map(clean).join('_');
}

export function workloadContainerName(container: string, pod: PodIdentity, attempt: number): string {
  return [PREFIX, container, pod.name, pod.namespace, pod.uid, String(attempt)].map(clean).join('_');
}
