/**
 * The image domain the CRI ImageService is built on: pull, list, status, remove
 * and filesystem usage over one dockerd. No gRPC here: names in, records out,
 * ShimErrors for failures.
 */
import type Docker from 'dockerode';
import type { ImageInspectInfo } from 'dockerode';
import type { ShimConfig } from '../../config.js';
import { FailedPreconditionError, InvalidArgumentError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import type { RegistryCredentials } from './auth.js';
import { dockerPull, type DockerPull } from './docker-pull.js';
import { FsUsageCache, type FsUsage } from './fs-usage.js';
import { ImageStore } from './image-store.js';
import { mirrorReference } from './mirrors.js';
import { ImagePuller } from './pull.js';
import { detailsFromInspect, recordFromInspect, recordFromSummary, type ImageDetails, type ImageRecord } from './records.js';
import { formatReference, isImageId, normalizeReference, parseReference } from './reference.js';
import { ImageUserCache } from './user-cache.js';

export interface ImagesDeps {
  docker: Docker;
  config: Pick<ShimConfig, 'pauseImage' | 'registryMirrors' | 'registryFallback'>;
  /** Substitutes the one Docker pull (tests count calls through it). */
  pull?: DockerPull;
  fsUsage?: FsUsageCache;
}

export interface PullImageOptions {
  credentials?: RegistryCredentials;
  signal?: AbortSignal;
  logger: Logger;
}

/**
 * An id prefix: `sha256:` and some hex, or at least the 12 hex digits `docker
 * images` prints. A shorter bare word like `cafe` is a repository name: taking it
 * for an id prefix could answer ImageStatus with an unrelated image, which the
 * kubelet would then run instead of pulling `cafe`.
 */
const ID_PREFIX_RE = /^(?:sha256:[0-9a-f]{3,63}|[0-9a-f]{12,63})$/;

export class Images {
  private readonly store: ImageStore;
  private readonly puller: ImagePuller;
  private readonly users: ImageUserCache;
  private readonly fs: FsUsageCache;
  private readonly pauseImage: string | undefined;

  constructor(private readonly deps: ImagesDeps) {
    this.store = new ImageStore(deps.docker);
    this.puller = new ImagePuller({ store: this.store, pull: deps.pull ?? dockerPull(deps.docker), mirrors: deps.config });
    this.users = new ImageUserCache((id) => this.store.inspect(id));
    this.fs = deps.fsUsage ?? new FsUsageCache();
    try {
      this.pauseImage = normalizeReference(deps.config.pauseImage);
    } catch {
      this.pauseImage = undefined; // config validation is not ours; an unparsable name pins nothing
    }
  }

  /** Pulls `image` and resolves to its id (`sha256:…`). */
  async pull(image: string, opts: PullImageOptions): Promise<string> {
    // An id names no registry; asked for one we already have, the answer is that id.
    if (isImageId(image)) {
      const info = await this.store.inspect(image);
      if (info) return info.Id;
      throw new InvalidArgumentError(`cannot pull image id ${image}: pull by name (or name@digest)`);
    }
    return this.puller.pull(image, opts);
  }

  /** Every image, or only the one `filter` names (none if it names nothing). */
  async list(filter?: string): Promise<ImageRecord[]> {
    if (filter) {
      const info = await this.resolve(filter);
      return info ? [recordFromInspect(info, this.pauseImage)] : [];
    }
    const summaries = await this.store.list();
    const users = await this.users.usersOf(summaries.map((s) => s.Id));
    return summaries.map((s) => recordFromSummary(s, users.get(s.Id), this.pauseImage));
  }

  /** The image `image` names (a reference, an id or an id prefix), or undefined. */
  async status(image: string): Promise<{ record: ImageRecord; details: ImageDetails } | undefined> {
    const info = await this.resolve(image);
    if (!info) return undefined;
    this.users.remember(info.Id, info.Config?.User ?? '');
    return { record: recordFromInspect(info, this.pauseImage), details: detailsFromInspect(info) };
  }

  /**
   * Removes the image `image` names with all its names, as the CRI asks; succeeds
   * when there is no such image. Refuses while a container (even a stopped one)
   * uses it: the kubelet retries later, and a forced removal would leave that
   * container's image unnamed.
   */
  async remove(image: string): Promise<void> {
    const info = await this.resolve(image);
    if (!info) return;
    const users = await this.store.containersUsing(info.Id);
    if (users.length > 0) {
      const names = users.map((c) => `${c.name || '(unnamed)'} (${c.id.slice(0, 12)})`).join(', ');
      const pods = users.flatMap((c) => (c.pauseOf ? [c.pauseOf.slice(0, 12)] : []));
      // Name the pods: removing them, not retrying, is what frees the pause image.
      const why = pods.length > 0 ? `; it is the pause image of pod sandbox ${pods.join(', ')} (kept until those pods are removed)` : '';
      throw new FailedPreconditionError(`image ${image} (${info.Id}) is in use by container ${names}${why}`);
    }
    // Name by name: removing the id of an image named in several repositories
    // needs force, which would also override a container that appears meanwhile.
    for (const name of [...(info.RepoTags ?? []), ...(info.RepoDigests ?? [])]) await this.store.removeReference(name);
    if (await this.store.inspect(info.Id)) await this.store.removeReference(info.Id);
  }

  /** Usage of Docker's data root, which holds both images and container layers. */
  async fsUsage(): Promise<FsUsage> {
    return this.fs.usage(await this.store.dataRoot());
  }

  /**
   * Finds an image by id, by normalized name (a malformed name is
   * InvalidArgumentError), then by id prefix. A digest name pulled through a
   * mirror is known to Docker only under the mirror's name (Docker cannot tag a
   * digest), so those names are tried too.
   */
  private async resolve(image: string): Promise<ImageInspectInfo | undefined> {
    if (isImageId(image)) return this.store.inspect(image);
    if (/^[0-9a-f]{64}$/.test(image)) return this.store.inspect(`sha256:${image}`);
    const ref = parseReference(image);
    const candidates = [formatReference(ref)];
    if (ref.digest) {
      for (const mirror of this.deps.config.registryMirrors[ref.domain] ?? []) {
        candidates.push(formatReference(mirrorReference(ref, mirror)));
      }
    }
    for (const name of candidates) {
      const info = await this.store.inspect(name);
      if (info) return info;
    }
    return ID_PREFIX_RE.test(image) ? this.store.inspect(image) : undefined;
  }
}
