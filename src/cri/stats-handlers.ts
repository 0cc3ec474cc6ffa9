/**
 * ContainerStats, ListContainerStats, PodSandboxStats, ListPodSandboxStats,
 * ListMetricDescriptors and ListPodSandboxMetrics: CRI in, StatsService call, CRI out.
 * Unknown ids are NOT_FOUND (from the PodRuntime); a pod that is not ready has no
 * stats to give (FAILED_PRECONDITION). The Stream* variants (the kubelet's
 * CRIListStreaming) send the same lists in chunks, so a big node's answer never
 * meets the 16 MiB message limit.
 */
import { METRIC_DESCRIPTORS, podMetrics } from '../runtime/stats/metrics.js';
import type { StatsService } from '../runtime/stats/service.js';
import type { StreamHandler, UnaryHandler } from './instrument.js';
import { requireId } from './pod-convert.js';
import type {
  ContainerStatsRequest__Output,
  ContainerStatsResponse,
  ListContainerStatsRequest__Output,
  ListContainerStatsResponse,
  ListMetricDescriptorsResponse,
  ListPodSandboxMetricsResponse,
  ListPodSandboxStatsRequest__Output,
  ListPodSandboxStatsResponse,
  PodSandboxStatsRequest__Output,
  PodSandboxStatsResponse,
  StreamContainerStatsRequest__Output,
  StreamContainerStatsResponse,
  StreamPodSandboxMetricsResponse,
  StreamPodSandboxStatsRequest__Output,
  StreamPodSandboxStatsResponse,
} from './proto.js';
import {
  containerStatsFilterFromCri,
  containerStatsToCri,
  metricDescriptorToCri,
  podSandboxMetricsToCri,
  podSandboxStatsFilterFromCri,
  podSandboxStatsToCri,
} from './stats-convert.js';

/** Items per streamed message: a pod's stats with a few containers is a few KiB. */
export const STREAM_CHUNK = 100;

function* chunks<T>(items: T[]): Generator<T[]> {
  for (let i = 0; i < items.length; i += STREAM_CHUNK) yield items.slice(i, i + STREAM_CHUNK);
}

export function statsHandlers(stats: StatsService): Record<string, UnaryHandler | StreamHandler> {
  return {
    ContainerStats: async (req: ContainerStatsRequest__Output): Promise<ContainerStatsResponse> => {
      const sample = await stats.containerStats(requireId(req.container_id, 'container_id'));
      return { stats: containerStatsToCri(sample) };
    },

    ListContainerStats: async (req: ListContainerStatsRequest__Output): Promise<ListContainerStatsResponse> => {
      const samples = await stats.listContainerStats(containerStatsFilterFromCri(req.filter));
      return { stats: samples.map(containerStatsToCri) };
    },

    PodSandboxStats: async (req: PodSandboxStatsRequest__Output): Promise<PodSandboxStatsResponse> => {
      const sample = await stats.podSandboxStats(requireId(req.pod_sandbox_id, 'pod_sandbox_id'));
      return { stats: podSandboxStatsToCri(sample) };
    },

    ListPodSandboxStats: async (req: ListPodSandboxStatsRequest__Output): Promise<ListPodSandboxStatsResponse> => {
      const samples = await stats.listPodSandboxStats(podSandboxStatsFilterFromCri(req.filter));
      return { stats: samples.map(podSandboxStatsToCri) };
    },

    ListMetricDescriptors: async (): Promise<ListMetricDescriptorsResponse> => ({
      descriptors: METRIC_DESCRIPTORS.map(metricDescriptorToCri),
    }),

    ListPodSandboxMetrics: async (): Promise<ListPodSandboxMetricsResponse> => {
      const pods = await stats.listPodSandboxStats({});
      return { pod_metrics: pods.map((p) => podSandboxMetricsToCri(podMetrics(p))) };
    },

    StreamContainerStats: (async (req: StreamContainerStatsRequest__Output, stream: { write(m: StreamContainerStatsResponse): boolean }) => {
      const samples = await stats.listContainerStats(containerStatsFilterFromCri(req.filter));
      for (const chunk of chunks(samples)) stream.write({ container_stats: chunk.map(containerStatsToCri) });
    }) satisfies StreamHandler,

    StreamPodSandboxStats: (async (req: StreamPodSandboxStatsRequest__Output, stream: { write(m: StreamPodSandboxStatsResponse): boolean }) => {
      const samples = await stats.listPodSandboxStats(podSandboxStatsFilterFromCri(req.filter));
      for (const chunk of chunks(samples)) stream.write({ pod_sandbox_stats: chunk.map(podSandboxStatsToCri) });
    }) satisfies StreamHandler,

    StreamPodSandboxMetrics: (async (_req: unknown, stream: { write(m: StreamPodSandboxMetricsResponse): boolean }) => {
      const pods = await stats.listPodSandboxStats({});
      for (const chunk of chunks(pods)) stream.write({ pod_sandbox_metrics: chunk.map((p) => podSandboxMetricsToCri(podMetrics(p))) });
    }) satisfies StreamHandler,
  };
}
