/**
 * StreamPodSandboxes and StreamContainers: ListPodSandbox and ListContainers as server
 * streams (the kubelet's CRIListStreaming), with the same filters and the same items,
 * cut by size (stream-chunks.ts) so a list past the message limit still arrives.
 */
import type { PodRuntime } from '../runtime/pods.js';
import { containerFilterFromCri, containerToCri } from './container-convert.js';
import type { CallContext, StreamHandler } from './instrument.js';
import { podSandboxToCri, sandboxFilterFromCri } from './pod-convert.js';
import type {
  StreamContainersRequest__Output,
  StreamContainersResponse,
  StreamPodSandboxesRequest__Output,
  StreamPodSandboxesResponse,
} from './proto.js';
import { chunksBySize } from './stream-chunks.js';

/** Writes `items` in chunks until done or until the client goes away. */
export function writeChunks<T, M>(items: T[], wrap: (chunk: T[]) => M, stream: { write(m: M): boolean }, ctx: CallContext): void {
  for (const chunk of chunksBySize(items)) {
    if (ctx.signal.aborted) return;
    stream.write(wrap(chunk));
  }
}

export function listStreamHandlers(pods: PodRuntime): Record<string, StreamHandler> {
  return {
    StreamPodSandboxes: (async (req: StreamPodSandboxesRequest__Output, stream: { write(m: StreamPodSandboxesResponse): boolean }, ctx) => {
      const views = await pods.listSandboxes(sandboxFilterFromCri(req.filter));
      writeChunks(views.map(podSandboxToCri), (pod_sandboxes) => ({ pod_sandboxes }), stream, ctx);
    }) satisfies StreamHandler,

    StreamContainers: (async (req: StreamContainersRequest__Output, stream: { write(m: StreamContainersResponse): boolean }, ctx) => {
      const views = await pods.listContainers(containerFilterFromCri(req.filter));
      writeChunks(views.map(containerToCri), (containers) => ({ containers }), stream, ctx);
    }) satisfies StreamHandler,
  };
}
