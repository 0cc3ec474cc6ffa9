/**
 * Docker container names follow the kubelet's scheme, as dockershim and cri-dockerd
 * did: `k8s_<container>_<pod>_<namespace>_<uid>_<attempt>` (the sandbox uses `POD` as
 * its container name). The name is unique per attempt, so a CreateContainer that the
 * kubelet retries after a timed-out first try finds the first one by name instead of
 * making a twin.
 *
 * The mapping must be injective: two different pods must never get one name (the second
 * would be refused as ALREADY_EXISTS, or take the first one's place). Docker allows only
 * [a-zA-Z0-9_.-] and `_` separates the parts, so a part with any other character (or a
 * `_`) cannot be written as it is. Such names keep a readable form (those characters
 * become `-`) and get a seventh part, `h` + a hash of the exact parts: plain names have
 * six parts and cannot meet them, and two escaped names differ in their hash. Names of
 * real kubelet pods (DNS labels, UUIDs) are never escaped and stay exactly as before.
 */
import { createHash } from 'node:crypto';

const PREFIX = 'k8s';
const SANDBOX_CONTAINER_NAME = 'POD';
/** What a part may hold to be written as it is. */
const PLAIN_PART = /^[a-zA-Z0-9.-]*$/;
/** Marks the hash part; an attempt part is all digits, so the two are never confused. */
const HASH_MARK = 'h';
/** 80 bits of SHA-256: no accidental collision among any number of pods a node will see. */
const HASH_HEX_CHARS = 20;

export interface PodIdentity {
  name: string;
  namespace: string;
  uid: string;
}

function readable(part: string): string {
  return part.replace(/[^a-zA-Z0-9.-]/g, '-');
}

function dockerName(container: string, pod: PodIdentity, attempt: number): string {
  const parts = [container, pod.name, pod.namespace, pod.uid];
  const name = [PREFIX, ...parts.map(readable), String(attempt)].join('_');
  if (parts.every((p) => PLAIN_PART.test(p))) return name;
  const hash = createHash('sha256').update(JSON.stringify([...parts, attempt])).digest('hex').slice(0, HASH_HEX_CHARS);
  return `${name}_${HASH_MARK}${hash}`;
}

export function sandboxContainerName(pod: PodIdentity, attempt: number): string {
  return dockerName(SANDBOX_CONTAINER_NAME, pod, attempt);
}

export function workloadContainerName(container: string, pod: PodIdentity, attempt: number): string {
  return dockerName(container, pod, attempt);
}

/**
 * The attempt back from a Docker name (with or without its leading `/`), for records
 * rebuilt from Docker: the last part, or the one before the hash of an escaped name.
 * Names of older versions that kept `_` inside a part still end in the attempt.
 */
export function attemptFromDockerName(name: string): number {
  const parts = name.split('_');
  const last = parts.at(-1) ?? '';
  const hashed = last.length === HASH_MARK.length + HASH_HEX_CHARS && last.startsWith(HASH_MARK);
  const n = Number(hashed ? parts.at(-2) : last);
  return Number.isInteger(n) && n >= 0 ? n : 0;
}
