/**
 * Docker labels on every container we create. They let the shim tell its own
 * containers from anyone else's on the same dockerd (the kubelet would try to manage
 * or kill what we list), and rebuild its view if the state dir is lost.
 */
/**
 * Marks a container as ours; its value names the shim instance (its state dir), so
 * that several shims on one dockerd (test suites, a second shim on a node) never
 * list, adopt or report each other's containers.
 */
export const LABEL_MANAGED = 'io.cri-shim.managed';
export const LABEL_KIND = 'io.cri-shim.kind';
export const LABEL_SANDBOX_ID = 'io.cri-shim.sandbox-id';
/** Where the CRI logs go (pod log_directory / container log path): needed to adopt a container. */
export const LABEL_LOG_PATH = 'io.cri-shim.log-path';
/** Prefix of every label that is ours, not the kubelet's. */
export const OWN_LABEL_PREFIX = 'io.cri-shim.';
/** The kubelet's own keys; operators filter `docker ps` by them. */
export const LABEL_POD_NAME = 'io.kubernetes.pod.name';
export const LABEL_POD_NAMESPACE = 'io.kubernetes.pod.namespace';
export const LABEL_POD_UID = 'io.kubernetes.pod.uid';
export const LABEL_CONTAINER_NAME = 'io.kubernetes.container.name';
/** CRI annotations travel as labels with this prefix (cri-dockerd does the same). */
export const ANNOTATION_PREFIX = 'annotation.';

export type ContainerKind = 'sandbox' | 'container';

export interface OwnLabels {
  instance: string;
  kind: ContainerKind;
  sandboxId: string;
  podName: string;
  podNamespace: string;
  podUid: string;
  containerName?: string;
  /** The pod's log_directory for a sandbox, the absolute log file for a container. */
  logPath?: string;
}

/** Labels for a new Docker container: the CRI labels and annotations plus ours. */
export function dockerLabels(own: OwnLabels, labels: Record<string, string>, annotations: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = { ...labels };
  for (const [k, v] of Object.entries(annotations)) out[ANNOTATION_PREFIX + k] = v;
  out[LABEL_MANAGED] = own.instance;
  out[LABEL_KIND] = own.kind;
  out[LABEL_SANDBOX_ID] = own.sandboxId;
  out[LABEL_POD_NAME] = own.podName;
  out[LABEL_POD_NAMESPACE] = own.podNamespace;
  out[LABEL_POD_UID] = own.podUid;
  if (own.containerName !== undefined) out[LABEL_CONTAINER_NAME] = own.containerName;
  if (own.logPath) out[LABEL_LOG_PATH] = own.logPath;
  return out;
}

/** The CRI labels and annotations back from a container's Docker labels. */
export function criLabelsOf(docker: Record<string, string>): { labels: Record<string, string>; annotations: Record<string, string> } {
  const labels: Record<string, string> = {};
  const annotations: Record<string, string> = {};
  for (const [k, v] of Object.entries(docker)) {
    if (k.startsWith(OWN_LABEL_PREFIX)) continue;
    if (k.startsWith(ANNOTATION_PREFIX)) annotations[k.slice(ANNOTATION_PREFIX.length)] = v;
    else labels[k] = v;
  }
  return { labels, annotations };
}

/** The Docker list filter that selects only what this shim created. */
export function managedFilter(instance: string, kind?: ContainerKind): { label: string[] } {
  const label = [`${LABEL_MANAGED}=${instance}`];
  if (kind) label.push(`${LABEL_KIND}=${kind}`);
  return { label };
}

/** Does `labels` satisfy every key=value of `selector` (the CRI label selector)? */
export function matchesSelector(labels: Record<string, string>, selector: Record<string, string> | undefined): boolean {
  if (!selector) return true;
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}
