/**
 * The dockerd client. dockerd 20.10 speaks Docker API 1.41: we pin that version so
 * that no request uses a newer field the daemon would silently ignore.
 */
// First: it keeps ssh2 out of memory before dockerode (through docker-modem) loads.
import './docker-no-ssh.js';
import Docker from 'dockerode';
import { unixPath } from '../config.js';

export const DOCKER_API_VERSION = 'v1.41';

export function createDockerClient(endpoint: string): Docker {
  return new Docker({ socketPath: unixPath(endpoint), version: DOCKER_API_VERSION });
}

export interface DockerHealth {
  reachable: boolean;
  version?: string;
  apiVersion?: string;
  cgroupDriver?: string;
  cgroupVersion?: string;
  error?: string;
}

/** Asks dockerd who it is; never throws, so Status can always answer. */
export async function dockerHealth(docker: Docker, timeoutMs = 5000): Promise<DockerHealth> {
  const timeout = new Promise<never>((_, reject) =>
    setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs).unref(),
  );
  try {
    const [version, info] = await Promise.race([Promise.all([docker.version(), docker.info()]), timeout]);
    return {
      reachable: true,
      version: version.Version,
      apiVersion: version.ApiVersion,
      cgroupDriver: info.CgroupDriver,
      cgroupVersion: info.CgroupVersion,
    };
  } catch (err) {
    return { reachable: false, error: (err as Error).message };
  }
}
