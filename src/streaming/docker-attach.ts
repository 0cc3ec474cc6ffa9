/**
 * Attaches to a running container's own stdio through Docker's attach API (hijacked,
 * like exec). Whether the stream is multiplexed depends on the TTY the container was
 * created with, not on the request. Attach has no exit code of its own.
 */
import type { Duplex } from 'node:stream';
import type Docker from 'dockerode';
import { demuxDockerStream } from './demux.js';
import type { AttachedProcess } from './process.js';
import type { StdioOptions } from './requests.js';

export async function startAttach(docker: Docker, containerId: string, stdio: StdioOptions): Promise<AttachedProcess> {
  const container = docker.getContainer(containerId);
  const info = await container.inspect();
  const tty = info.Config.Tty;
  const socket = (await container.attach({
    stream: true,
    hijack: true,
    stdin: stdio.stdin,
    stdout: stdio.stdout,
    stderr: stdio.stderr,
  })) as Duplex;
  socket.on('error', () => undefined);
  const ended = new Promise<void>((resolve) => {
    socket.once('end', resolve);
    socket.once('close', resolve);
  });
  const outputs = tty ? { stdout: socket, stderr: null } : demuxDockerStream(socket);
  return {
    stdin: stdio.stdin ? socket : null,
    stdout: stdio.stdout ? outputs.stdout : null,
    stderr: stdio.stderr ? outputs.stderr : null,
    resize: async ({ width, height }) => {
      await container.resize({ h: height, w: width });
    },
    wait: async () => {
      await ended;
      return null;
    },
    detach: () => socket.destroy(),
  };
}
