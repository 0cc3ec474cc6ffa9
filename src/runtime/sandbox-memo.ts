/**
 * What a sandbox must still know when the state dir is lost, kept where it survives:
 *
 * - the spec, as a compact JSON label on the pause container (labels are set at create
 *   and live as long as the container), so a rebuilt record says what was asked for
 *   (PID mode, DNS, port mappings, sysctls, hostname, handler) and not a guess;
 * - "RunPodSandbox finished", as a marker file beside the pause container's hosts file
 *   (Docker's per-container dir, removed with the container): a pod whose marker is
 *   missing was cut before it was ready and comes back NOTREADY.
 */
import { access, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ANNOTATION_PREFIX, LABEL_CONTAINER_NAME, LABEL_POD_NAME, LABEL_POD_NAMESPACE, LABEL_POD_UID, OWN_LABEL_PREFIX } from './labels.js';
import type { SandboxSpec } from './types.js';

export const LABEL_SANDBOX_SPEC = 'io.cri-shim.sandbox-spec';
const READY_MARKER = 'cri-shim-sandbox-ready';

/** Keys we write ourselves: a CRI label with one of them is overwritten in Docker's labels. */
const RESERVED = new Set([LABEL_POD_NAME, LABEL_POD_NAMESPACE, LABEL_POD_UID, LABEL_CONTAINER_NAME]);

interface Memo {
  v: 1;
  createdAt: string;
  spec: Omit<SandboxSpec, 'labels' | 'annotations'>;
  /** Every CRI label key: Docker's labels mix them with ours and with the annotations. */
  labelKeys: string[];
  /** CRI labels whose Docker label holds something else (one of ours, or an annotation). */
  shadowed: Record<string, string>;
  /** Annotation keys that are really CRI labels named `annotation.<key>`. */
  notAnnotations: string[];
}

function isShadowed(key: string, spec: SandboxSpec): boolean {
  if (RESERVED.has(key) || key.startsWith(OWN_LABEL_PREFIX)) return true;
  return key.startsWith(ANNOTATION_PREFIX) && key.slice(ANNOTATION_PREFIX.length) in spec.annotations;
}

/** The label value for a new pause container. */
export function encodeSandboxMemo(spec: SandboxSpec, createdAt: string): string {
  const { labels, annotations, ...rest } = spec;
  const shadowed: Record<string, string> = {};
  for (const [k, v] of Object.entries(labels)) if (isShadowed(k, spec)) shadowed[k] = v;
  const notAnnotations = Object.keys(labels)
    .filter((k) => k.startsWith(ANNOTATION_PREFIX) && !(k.slice(ANNOTATION_PREFIX.length) in annotations))
    .map((k) => k.slice(ANNOTATION_PREFIX.length));
  const memo: Memo = { v: 1, createdAt, spec: rest, labelKeys: Object.keys(labels), shadowed, notAnnotations };
  return JSON.stringify(memo);
}

/** The spec and creation time back from a pause container's Docker labels; undefined for containers made before the memo existed. */
export function decodeSandboxMemo(docker: Record<string, string>): { spec: SandboxSpec; createdAt: string } | undefined {
  const raw = docker[LABEL_SANDBOX_SPEC];
  if (!raw) return undefined;
  let memo: Memo;
  try {
    memo = JSON.parse(raw) as Memo;
  } catch {
    return undefined;
  }
  if (memo?.v !== 1 || !Array.isArray(memo.labelKeys)) return undefined;
  const labels: Record<string, string> = {};
  for (const k of memo.labelKeys) labels[k] = memo.shadowed[k] ?? docker[k] ?? '';
  const skip = new Set(memo.notAnnotations);
  const annotations: Record<string, string> = {};
  for (const [k, v] of Object.entries(docker)) {
    if (!k.startsWith(ANNOTATION_PREFIX)) continue;
    const key = k.slice(ANNOTATION_PREFIX.length);
    if (!skip.has(key)) annotations[key] = v;
  }
  return { spec: { ...memo.spec, labels, annotations }, createdAt: memo.createdAt };
}

function markerPath(hostsPath: string): string {
  return join(dirname(hostsPath), READY_MARKER);
}

/** Written as RunPodSandbox's last step before the state file says ready. */
export async function markSandboxReady(hostsPath: string): Promise<void> {
  if (hostsPath) await writeFile(markerPath(hostsPath), '', { mode: 0o600 });
}

export async function sandboxWasReady(hostsPath: string): Promise<boolean> {
  if (!hostsPath) return false;
  return access(markerPath(hostsPath)).then(
    () => true,
    () => false,
  );
}
