/**
 * Exec, Attach and PortForward: validate the request as the kubelet's streaming
 * library does (tty excludes stderr; at least one stdio stream), check that the target
 * runs, and return the single-use URL of our streaming server. The streams themselves
 * never pass through gRPC.
 */
import { FailedPreconditionError } from '../errors.js';
import type { PodRuntime } from '../runtime/pods.js';
import type { StdioOptions, StreamRequest } from '../streaming/index.js';
import type { UnaryHandler } from './instrument.js';
import { invalid, requireId } from './pod-convert.js';
import type {
  AttachRequest__Output,
  AttachResponse,
  ExecRequest__Output,
  ExecResponse,
  PortForwardRequest__Output,
  PortForwardResponse,
} from './proto.js';

/** What the handlers need from the streaming server. */
export interface StreamUrls {
  register(request: StreamRequest): string;
}

function stdioOf(req: ExecRequest__Output | AttachRequest__Output): StdioOptions {
  // Multiplexing stdout and stderr onto one terminal is impossible.
  if (req.tty && req.stderr) throw invalid('tty', 'and stderr cannot both be true');
  if (!req.stdin && !req.stdout && !req.stderr) throw invalid('stdin', 'or stdout or stderr must be set');
  return { stdin: req.stdin, stdout: req.stdout, stderr: req.stderr, tty: req.tty };
}

/** The Docker id of a running container (resolving a unique prefix); NOT_FOUND / FAILED_PRECONDITION else. */
async function runningContainer(pods: PodRuntime, id: string): Promise<string> {
  const view = await pods.containerStatus(id);
  if (view.live.state !== 'running') throw new FailedPreconditionError(`container ${id} is not running (${view.live.state})`);
  return view.record.id;
}

export function streamingHandlers(pods: PodRuntime, urls: StreamUrls): Record<string, UnaryHandler> {
  return {
    Exec: async (req: ExecRequest__Output): Promise<ExecResponse> => {
      const id = requireId(req.container_id, 'container_id');
      if (!req.cmd.length) throw invalid('cmd', 'must not be empty');
      const stdio = stdioOf(req);
      const containerId = await runningContainer(pods, id);
      return { url: urls.register({ kind: 'exec', containerId, cmd: req.cmd, ...stdio }) };
    },

    Attach: async (req: AttachRequest__Output): Promise<AttachResponse> => {
      const id = requireId(req.container_id, 'container_id');
      const stdio = stdioOf(req);
      const containerId = await runningContainer(pods, id);
      return { url: urls.register({ kind: 'attach', containerId, ...stdio }) };
    },

    PortForward: async (req: PortForwardRequest__Output): Promise<PortForwardResponse> => {
      const sandboxId = requireId(req.pod_sandbox_id, 'pod_sandbox_id');
      req.port.forEach((p, i) => {
        if (!Number.isInteger(p) || p < 1 || p > 65535) throw invalid(`port[${i}]`, `must be 1..65535, got ${p}`);
      });
      const view = await pods.sandboxStatus(sandboxId);
      if (view.state !== 'ready') throw new FailedPreconditionError(`pod sandbox ${sandboxId} is not ready`);
      return { url: urls.register({ kind: 'portforward', sandboxId: view.record.id, ports: req.port }) };
    },
  };
}
