/**
 * The pod's /etc/resolv.conf and /etc/hosts. Docker creates them for the pause
 * container and every container that joins its network namespace bind-mounts the
 * same files, so we rewrite the pause container's copies once per pod.
 */
import { writeFile } from 'node:fs/promises';
import { basename, isAbsolute, normalize } from 'node:path';
import { InternalError } from '../errors.js';
import type { DnsConfig } from './types.js';

/** The last guard before a file: a value with a line break would add lines of its own. */
function joinLines(lines: string[]): string {
  const bad = lines.find((l) => /[\u0000-\u001f\u007f]/.test(l.replace(/\t/g, ' ')));
  if (bad !== undefined) throw new InternalError(`refusing to write a pod file line with control characters: ${JSON.stringify(bad.slice(0, 80))}`);
  return lines.join('\n') + '\n';
}

export function renderResolvConf(dns: DnsConfig): string {
  const lines: string[] = [];
  if (dns.searches.length) lines.push(`search ${dns.searches.join(' ')}`);
  for (const s of dns.servers) lines.push(`nameserver ${s}`);
  if (dns.options.length) lines.push(`options ${dns.options.join(' ')}`);
  return joinLines(lines);
}

export function renderHosts(hostname: string, ips: string[]): string {
  const lines = [
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    'fe00::0\tip6-localnet',
    'ff00::0\tip6-mcastprefix',
    'ff02::1\tip6-allnodes',
    'ff02::2\tip6-allrouters',
  ];
  for (const ip of ips) lines.push(`${ip}\t${hostname}`);
  return joinLines(lines);
}

/** The files of a container's Docker directory that we rewrite; nothing else is ever written. */
const POD_FILES = new Set(['hosts', 'resolv.conf', 'hostname']);

/** `path` comes from Docker's inspect; still, write only a pod file at a plain absolute path. */
function checkPodFilePath(path: string): void {
  if (!isAbsolute(path) || normalize(path) !== path || !POD_FILES.has(basename(path))) {
    throw new InternalError(`refusing to write pod file ${JSON.stringify(path)}: not a hosts/resolv.conf/hostname file at a plain absolute path`);
  }
}

export async function writePodFile(path: string, content: string): Promise<void> {
  if (!path) return;
  checkPodFilePath(path);
  await writeFile(path, content, { mode: 0o644 });
}
