/**
 * Releasing what the host-local IPAM plugin reserved for an attachment, without the
 * plugin: the last resort when its DEL can never run (binary gone, refused, hanging).
 *
 * host-local keeps one file per reserved address, `<dataDir>/<network>/<ip>`, whose
 * content is the container id, then (since plugins 0.8.6) a line break and the
 * interface name; `dataDir` defaults to /var/lib/cni/networks. A reservation is freed
 * by removing its file. Only files named as an IP address and holding exactly this
 * attachment are touched, so other containers' reservations, host-local's `lock` and
 * `last_reserved_ip.*` stay.
 */
import { isIP } from 'node:net';
import { readdir, readFile, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { PluginConf } from './config.js';

const HOST_LOCAL_DEFAULT_DATA_DIR = '/var/lib/cni/networks';

export interface Reservation {
  ip: string;
  file: string;
}

/** The host-local data dirs the plugins of a list use for `network`, checked to be plain absolute paths. */
function hostLocalDirs(plugins: readonly PluginConf[], network: string): string[] {
  const dirs = new Set<string>();
  for (const p of plugins) {
    const ipam = p.ipam as { type?: unknown; dataDir?: unknown } | undefined;
    if (typeof ipam !== 'object' || ipam === null || ipam.type !== 'host-local') continue;
    const dataDir = ipam.dataDir === undefined || ipam.dataDir === '' ? HOST_LOCAL_DEFAULT_DATA_DIR : ipam.dataDir;
    if (typeof dataDir !== 'string' || !path.isAbsolute(dataDir) || /[\0-\x1f\x7f]/.test(dataDir)) continue;
    if (network.includes('/') || network === '.' || network === '..') continue;
    dirs.add(path.join(path.resolve(dataDir), network));
  }
  return [...dirs];
}

/** The reservation files in `dir` that belong to this container interface. */
async function findReservations(dir: string, containerId: string, ifName: string): Promise<Reservation[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const out: Reservation[] = [];
  for (const name of names) {
    if (isIP(name) === 0) continue;
    const file = path.join(dir, name);
    const text = await readFile(file, 'utf8').catch(() => undefined);
    if (text !== undefined && holds(text, containerId, ifName)) out.push({ ip: name, file });
  }
  return out;
}

function holds(text: string, containerId: string, ifName: string): boolean {
  const [id, ifname, ...rest] = text.split(/\r?\n/).map((l) => l.trim());
  if (id !== containerId || rest.some((l) => l !== '')) return false;
  // Files from host-local before 0.8.6 hold the id alone.
  return ifname === undefined || ifname === '' || ifname === ifName;
}

/** The addresses host-local holds for this container interface, in any host-local dir of the list. */
export async function reservedIps(plugins: readonly PluginConf[], network: string, containerId: string, ifName: string): Promise<string[]> {
  const ips: string[] = [];
  for (const dir of hostLocalDirs(plugins, network)) {
    for (const r of await findReservations(dir, containerId, ifName)) ips.push(r.ip);
  }
  return ips;
}

/** Removes this attachment's reservations from every host-local dir of the list; returns the IPs freed. */
export async function releaseHostLocal(
  plugins: readonly PluginConf[],
  network: string,
  containerId: string,
  ifName: string,
): Promise<string[]> {
  const freed: string[] = [];
  for (const dir of hostLocalDirs(plugins, network)) {
    for (const r of await findReservations(dir, containerId, ifName)) {
      try {
        await unlink(r.file);
        freed.push(r.ip);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
  }
  return freed;
}
