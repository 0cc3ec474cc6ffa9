/**
 * The pod's /etc/resolv.conf and /etc/hosts. Docker creates them for the pause
 * container and every container that joins its network namespace bind-mounts the
 * same files, so we rewrite the pause container's copies once per pod.
 */
import { writeFile } from 'node:fs/promises';
import type { DnsConfig } from './types.js';

export function renderResolvConf(dns: DnsConfig): string {
  const lines: string[] = [];
  if (dns.searches.length) lines.push(`search ${dns.searches.join(' ')}`);
  for (const s of dns.servers) lines.push(`nameserver ${s}`);
  if (dns.options.length) lines.push(`options ${dns.options.join(' ')}`);
  return lines.join('\n') + '\n';
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
  return lines.join('\n') + '\n';
}

export async function writePodFile(path: string, content: string): Promise<void> {
  if (path) await writeFile(path, content, { mode: 0o644 });
}
