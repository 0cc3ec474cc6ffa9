/**
 * A pod's interface counters from /proc/<pid>/net/dev of its pause process: procfs
 * answers for the network namespace of the process it describes, so no setns is
 * needed (Node has none). Columns: 8 receive counters, then 8 transmit counters.
 */
import { join } from 'node:path';
import { readOptional } from './cgroup-files.js';
import type { InterfaceCounters, NetworkStats } from './types.js';

export function parseNetDev(text: string): InterfaceCounters[] {
  const out: InterfaceCounters[] = [];
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon < 0 || line.includes('|')) continue;
    const name = line.slice(0, colon).trim();
    const f = line
      .slice(colon + 1)
      .trim()
      .split(/\s+/);
    if (!name || f.length < 16 || !f.every((x) => /^\d+$/.test(x))) continue;
    const n = f.map((x) => BigInt(x));
    out.push({
      name,
      rxBytes: n[0]!,
      rxPackets: n[1]!,
      rxErrors: n[2]!,
      rxDropped: n[3]!,
      txBytes: n[8]!,
      txPackets: n[9]!,
      txErrors: n[10]!,
      txDropped: n[11]!,
    });
  }
  return out;
}

/** Splits the namespace's interfaces into the CNI one and the others; loopback is not the pod's traffic. */
export function networkStats(all: InterfaceCounters[], defaultIfName: string, timestampNs: bigint): NetworkStats {
  const nonLoopback = all.filter((i) => i.name !== 'lo');
  return {
    timestampNs,
    defaultInterface: nonLoopback.find((i) => i.name === defaultIfName) ?? null,
    interfaces: nonLoopback.filter((i) => i.name !== defaultIfName),
  };
}

/** undefined when the process is gone. */
export async function readNetDev(procRoot: string, pid: number): Promise<InterfaceCounters[] | undefined> {
  const text = await readOptional(join(procRoot, String(pid), 'net', 'dev'));
  return text === undefined ? undefined : parseNetDev(text);
}
