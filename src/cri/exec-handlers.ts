/**
 * ExecSync, UpdateContainerResources and ReopenContainerLog: CRI in, domain call, CRI
 * out. Validation happens here and every error names its request field.
 */
import type { PodRuntime } from '../runtime/pods.js';
import type { ResourcesUpdate } from '../runtime/update-resources.js';
import type { CallContext, UnaryHandler } from './instrument.js';
import { int64, invalid, requireId } from './pod-convert.js';
import { MAX_MESSAGE_BYTES } from './server.js';
import type {
  ExecSyncRequest__Output,
  ExecSyncResponse,
  LinuxContainerResources__Output,
  ReopenContainerLogRequest__Output,
  ReopenContainerLogResponse,
  UpdateContainerResourcesRequest__Output,
  UpdateContainerResourcesResponse,
} from './proto.js';

/** LinuxContainerResources → the fields to change (0 / "" = keep). Hugepages and `unified` (cgroup v2) are not ours to set through Docker 20.10. */
export function resourcesUpdateFromCri(r: LinuxContainerResources__Output | null, field = 'linux'): ResourcesUpdate {
  const num = (name: keyof LinuxContainerResources__Output & string, min: number): number => {
    const n = int64((r?.[name] as string | undefined) ?? '0', `${field}.${name}`);
    if (n < min) throw invalid(`${field}.${name}`, `must be at least ${min}, got ${n}`);
    return n;
  };
  const cpuPeriod = num('cpu_period', 0);
  // The kernel's CFS bounds, which Docker checks too: say so in our words.
  if (cpuPeriod && (cpuPeriod < 1000 || cpuPeriod > 1_000_000)) throw invalid(`${field}.cpu_period`, `must be 1000..1000000 µs, got ${cpuPeriod}`);
  const cpuQuota = num('cpu_quota', -1);
  if (cpuQuota > 0 && cpuQuota < 1000) throw invalid(`${field}.cpu_quota`, `must be -1 or at least 1000 µs, got ${cpuQuota}`);
  const memoryLimitBytes = num('memory_limit_in_bytes', 0);
  // The kernel refuses less, and a container could not even start its process.
  if (memoryLimitBytes && memoryLimitBytes < 6 * 1024 * 1024) throw invalid(`${field}.memory_limit_in_bytes`, `must be at least 6 MiB, got ${memoryLimitBytes}`);
  // -1: unlimited swap (the kubelet's UnlimitedSwap, 1.28-1.29), as Docker's MemorySwap -1.
  const memorySwapLimitBytes = num('memory_swap_limit_in_bytes', -1);
  if (memorySwapLimitBytes > 0 && memorySwapLimitBytes < memoryLimitBytes) {
    throw invalid(`${field}.memory_swap_limit_in_bytes`, `must not be below memory_limit_in_bytes (${memoryLimitBytes}), got ${memorySwapLimitBytes}`);
  }
  return {
    cpuPeriod,
    cpuQuota,
    cpuShares: num('cpu_shares', 0),
    memoryLimitBytes,
    memorySwapLimitBytes,
    cpusetCpus: r?.cpuset_cpus ?? '',
    cpusetMems: r?.cpuset_mems ?? '',
  };
}

/**
 * Each stream is capped at 16 MiB by the runtime, but the whole answer must also fit the
 * 16 MiB gRPC message limit (ours and the kubelet's), or the caller gets
 * RESOURCE_EXHAUSTED instead of an exit code: stdout keeps its bytes first, stderr what
 * room is left, with a little room for the framing.
 */
export function fitExecOutput(stdout: Buffer, stderr: Buffer, limit = MAX_MESSAGE_BYTES - 64 * 1024): { stdout: Buffer; stderr: Buffer } {
  const out = stdout.length > limit ? stdout.subarray(0, limit) : stdout;
  const room = limit - out.length;
  return { stdout: out, stderr: stderr.length > room ? stderr.subarray(0, room) : stderr };
}

export function execHandlers(pods: PodRuntime): Record<string, UnaryHandler> {
  return {
    ExecSync: async (req: ExecSyncRequest__Output, ctx: CallContext): Promise<ExecSyncResponse> => {
      const id = requireId(req.container_id, 'container_id');
      if (!req.cmd.length) throw invalid('cmd', 'must not be empty');
      const timeout = int64(req.timeout, 'timeout');
      if (timeout < 0) throw invalid('timeout', `must not be negative, got ${timeout}`);
      const res = await pods.execSync(id, [...req.cmd], timeout, ctx.signal);
      return { ...fitExecOutput(res.stdout, res.stderr), exit_code: res.exitCode };
    },

    UpdateContainerResources: async (req: UpdateContainerResourcesRequest__Output): Promise<UpdateContainerResourcesResponse> => {
      const id = requireId(req.container_id, 'container_id');
      await pods.updateContainerResources(id, resourcesUpdateFromCri(req.linux));
      return {};
    },

    ReopenContainerLog: async (req: ReopenContainerLogRequest__Output): Promise<ReopenContainerLogResponse> => {
      await pods.reopenContainerLog(requireId(req.container_id, 'container_id'));
      return {};
    },
  };
}
