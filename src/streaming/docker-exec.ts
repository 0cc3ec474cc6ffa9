/**
 * Runs a command in a container through Docker's exec API with the stdio hijacked:
 * one raw TCP-like stream to dockerd carries stdin up and (multiplexed unless TTY)
 * stdout/stderr down. Half-closing it closes the command's stdin.
 */
import type { Duplex } from 'node:stream';
import type Docker from 'dockerode';
import { demuxDockerStream } from './demux.js';
import type { AttachedProcess } from './process.js';
import type { StdioOptions } from './requests.js';

/** How long to wait for dockerd to mark an exec finished once its output has ended. */
const EXIT_WAIT_MS = 10_000;

export async function startExec(docker: Docker, containerId: string, cmd: string[], stdio: StdioOptions): Promise<AttachedProcess> {
  const exec = await docker.getContainer(containerId).exec({
    Cmd: cmd,
    AttachStdin: stdio.stdin,
    AttachStdout: stdio.stdout,
    AttachStderr: stdio.stderr,
    Tty: stdio.tty,
  });
  // dockerd decides multiplexing from the start body's Tty, so it must match the create.
  const socket = (await exec.start({ hijack: true, stdin: stdio.stdin, Tty: stdio.tty, Detach: false })) as Duplex;
  socket.on('error', () => undefined);
  const ended = new Promise<void>((resolve) => {
    socket.once('end', resolve);
    socket.once('close', resolve);
  });
  const outputs = stdio.tty ? { stdout: socket, stderr: null } : demuxDockerStream(socket);
  let detached = false;
  return {
    stdin: stdio.stdin ? socket : null,
    stdout: stdio.stdout ? outputs.stdout : null,
    stderr: stdio.stderr ? outputs.stderr : null,
    resize: async ({ width, height }) => {
      await exec.resize({ h: height, w: width });
    },
    wait: async () => {
      await ended;
      return exitCode(exec, () => detached);
    },
    detach: () => {
      detached = true;
      socket.destroy();
    },
  };
}

/** The output ends a moment before dockerd records the exit: poll briefly. */
async function exitCode(exec: Docker.Exec, detached: () => boolean): Promise<number> {
  const until = Date.now() + EXIT_WAIT_MS;
  for (;;) {
    const info = await exec.inspect();
    if (!info.Running && info.ExitCode !== null) return info.ExitCode;
    // Nobody waits for the code of a session whose client left: stop asking dockerd.
    if (detached()) throw new Error(`exec ${exec.id.slice(0, 12)}: client gone`);
    if (Date.now() > until) throw new Error(`exec ${exec.id.slice(0, 12)} still running after its output ended`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
