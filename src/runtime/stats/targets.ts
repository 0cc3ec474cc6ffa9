/**
 * What stats need to know about a Docker container that our records do not hold:
 * its name and image (metric labels), init pid, cgroup and writable-layer directory.
 * One `docker inspect` per container, cached for its life: a container's cgroup path
 * is fixed by its id, so only a (re)start, which gives it a pid, needs a new look.
 */
import { join, posix } from 'node:path';
import type Docker from 'dockerode';
import { dockerStatus } from '../docker-errors.js';
import { readOptional } from './cgroup-files.js';
import { parseProcCgroup, refForPath, refFromProcCgroup, type CgroupLayout, type CgroupRef } from './cgroups.js';

export interface DockerTarget {
  dockerId: string;
  /** Docker's container name, without the leading slash (cAdvisor's `name` label). */
  name: string;
  image: string;
  pid: number;
  cgroupParent: string;
  /** overlay2's upper dir; null for other storage drivers. */
  upperDir: string | null;
  /** Null until the container has run. */
  cgroup: CgroupRef | null;
}

export class TargetCache {
  private readonly entries = new Map<string, DockerTarget>();
  private readonly inFlight = new Map<string, Promise<DockerTarget | null>>();

  constructor(
    private readonly docker: Docker,
    private readonly layout: () => Promise<CgroupLayout | null>,
    private readonly procRoot: string,
  ) {}

  /**
   * The container's facts, or null if Docker no longer has it. `running` is what the
   * caller's Docker list said: a running container we last saw without a pid is
   * looked at again.
   */
  async get(dockerId: string, running: boolean): Promise<DockerTarget | null> {
    const cached = this.entries.get(dockerId);
    if (cached && !(running && (cached.pid === 0 || !cached.cgroup))) return cached;
    let flight = this.inFlight.get(dockerId);
    if (!flight) {
      flight = this.load(dockerId).finally(() => this.inFlight.delete(dockerId));
      this.inFlight.set(dockerId, flight);
    }
    return flight;
  }

  /** Drops what we know (the container stopped, or its pid is no longer its own). */
  forget(dockerId: string): void {
    this.entries.delete(dockerId);
  }

  retain(live: Set<string>): void {
    for (const id of this.entries.keys()) if (!live.has(id)) this.entries.delete(id);
  }

  /** Is `pid` still this container's process? Pids are reused once a container dies. */
  async pidIsOf(target: DockerTarget): Promise<boolean> {
    if (target.pid <= 0) return false;
    const text = await readOptional(join(this.procRoot, String(target.pid), 'cgroup'));
    return text !== undefined && text.includes(target.dockerId);
  }

  private async load(dockerId: string): Promise<DockerTarget | null> {
    let info: Docker.ContainerInspectInfo;
    try {
      info = await this.docker.getContainer(dockerId).inspect();
    } catch (err) {
      if (dockerStatus(err) === 404) {
        this.entries.delete(dockerId);
        return null;
      }
      throw err;
    }
    const pid = info.State.Running ? info.State.Pid : 0;
    const target: DockerTarget = {
      dockerId: info.Id,
      name: info.Name.replace(/^\//, ''),
      image: info.Config.Image,
      pid,
      cgroupParent: info.HostConfig.CgroupParent ?? '',
      upperDir: info.GraphDriver?.Name === 'overlay2' ? ((info.GraphDriver.Data as { UpperDir?: string } | null)?.UpperDir ?? null) : null,
      cgroup: pid > 0 ? await this.cgroupOf(info.Id, pid, info.HostConfig.CgroupParent ?? '') : null,
    };
    this.entries.set(dockerId, target);
    return target;
  }

  private async cgroupOf(dockerId: string, pid: number, parent: string): Promise<CgroupRef | null> {
    const layout = await this.layout();
    if (!layout) return null;
    const text = await readOptional(join(this.procRoot, String(pid), 'cgroup'));
    const ref = text?.includes(dockerId) ? refFromProcCgroup(layout, parseProcCgroup(text)) : null;
    // No procfs view of the pid (another pid namespace): Docker's cgroupfs naming.
    return ref ?? refForPath(layout, posix.join('/', parent || 'docker', dockerId));
  }
}
