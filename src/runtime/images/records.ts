/**
 * What the shim says about a local image, built from Docker's list and inspect
 * answers: names normalized (as a pull accepts them), the configured user split
 * into uid/username, and `pinned` for the pause image so the kubelet's image GC
 * never removes it.
 */
import type { ImageInfo, ImageInspectInfo } from 'dockerode';
import { normalizeDockerName } from './reference.js';
import { parseImageUser, type ImageUser } from './user.js';

export interface ImageRecord {
  /** `sha256:…`, the same string PullImage answers. */
  id: string;
  repoTags: string[];
  repoDigests: string[];
  size: number;
  user: ImageUser;
  pinned: boolean;
}

/** The Docker inspect essentials behind ImageStatus' verbose info. */
export interface ImageDetails {
  created: string;
  architecture: string;
  os: string;
  author: string;
  dockerVersion: string;
  config: {
    user: string;
    env: string[];
    entrypoint: string[] | null;
    cmd: string[] | null;
    workingDir: string;
    labels: Record<string, string>;
    exposedPorts: string[];
    volumes: string[];
    stopSignal: string;
  };
  rootfs: { type: string; layers: string[] };
}

function normalizedNames(names: string[] | undefined): string[] {
  const out = new Set<string>();
  for (const n of names ?? []) {
    const normalized = normalizeDockerName(n);
    if (normalized) out.add(normalized);
  }
  return [...out];
}

/** Pinned when one of its names is the configured pause image (already normalized). */
function isPinned(names: string[], pauseImage: string | undefined): boolean {
  return pauseImage !== undefined && names.includes(pauseImage);
}

type DockerImage = Pick<ImageInfo, 'Id' | 'RepoTags' | 'RepoDigests' | 'Size'>;

function record(info: DockerImage, user: string | undefined, pauseImage: string | undefined): ImageRecord {
  const repoTags = normalizedNames(info.RepoTags);
  const repoDigests = normalizedNames(info.RepoDigests);
  return {
    id: info.Id,
    repoTags,
    repoDigests,
    size: info.Size,
    user: parseImageUser(user),
    pinned: isPinned([...repoTags, ...repoDigests], pauseImage),
  };
}

export function recordFromInspect(info: ImageInspectInfo, pauseImage?: string): ImageRecord {
  return record(info, info.Config?.User, pauseImage);
}

/** `docker images` has no config, so the user comes from an inspect (see ImageUserCache). */
export function recordFromSummary(info: ImageInfo, user: string | undefined, pauseImage?: string): ImageRecord {
  return record(info, user, pauseImage);
}

const asList = (v: string | string[] | undefined | null): string[] | null =>
  v === undefined || v === null ? null : Array.isArray(v) ? v : [v];

export function detailsFromInspect(info: ImageInspectInfo): ImageDetails {
  const c = (info.Config ?? {}) as Partial<ImageInspectInfo['Config']> & { StopSignal?: string };
  return {
    created: info.Created,
    architecture: info.Architecture,
    os: info.Os,
    author: info.Author ?? '',
    dockerVersion: info.DockerVersion ?? '',
    config: {
      user: c.User ?? '',
      env: c.Env ?? [],
      entrypoint: asList(c.Entrypoint),
      cmd: asList(c.Cmd),
      workingDir: c.WorkingDir ?? '',
      labels: c.Labels ?? {},
      exposedPorts: Object.keys(c.ExposedPorts ?? {}),
      volumes: Object.keys(c.Volumes ?? {}),
      stopSignal: c.StopSignal ?? '',
    },
    rootfs: { type: info.RootFS?.Type ?? '', layers: info.RootFS?.Layers ?? [] },
  };
}
