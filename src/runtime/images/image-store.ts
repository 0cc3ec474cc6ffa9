/**
 * The Docker calls on local images, each answering in the shim's terms: a missing
 * image is `undefined` rather than a 404, a conflict is a FailedPreconditionError.
 * Docker resolves names the way our reference module normalizes them, so a
 * normalized name is always a valid lookup key.
 */
import type Docker from 'dockerode';
import type { ImageInfo, ImageInspectInfo } from 'dockerode';
import { FailedPreconditionError } from '../../errors.js';
import { repositoryName, type ImageReference } from './reference.js';
import { LABEL_KIND, LABEL_SANDBOX_ID } from '../labels.js';

const statusOf = (err: unknown): number | undefined => (err as { statusCode?: number } | null)?.statusCode;

/** A container that keeps an image from being removed. */
export interface ContainerRef {
  id: string;
  name: string;
  /** Set when it is the pause container of one of our pod sandboxes (that sandbox's id). */
  pauseOf?: string;
}

export class ImageStore {
  constructor(private readonly docker: Docker) {}

  /** Inspects by id, name or id prefix; undefined when Docker has no such image. */
  async inspect(nameOrId: string): Promise<ImageInspectInfo | undefined> {
    try {
      return await this.docker.getImage(nameOrId).inspect();
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw err;
    }
  }

  /** Top-level images (as `docker images`): intermediate build layers are not images to the kubelet. */
  list(): Promise<ImageInfo[]> {
    return this.docker.listImages({ all: false });
  }

  /** Points the name `ref` (which must carry a tag) at image `id`, replacing what it named before. */
  async tag(id: string, ref: ImageReference): Promise<void> {
    if (!ref.tag) throw new Error(`tag: ${repositoryName(ref)} has no tag`);
    await this.docker.getImage(id).tag({ repo: repositoryName(ref), tag: ref.tag });
  }

  /**
   * Removes one reference (a tag, a digest name, or the id itself) without force:
   * Docker then refuses to drop the last name of an image a container uses.
   * Returns false if the reference was already gone.
   */
  async removeReference(nameOrId: string): Promise<boolean> {
    try {
      await this.docker.getImage(nameOrId).remove({ force: false, noprune: false });
      return true;
    } catch (err) {
      if (statusOf(err) === 404) return false;
      if (statusOf(err) === 409) {
        const msg = (err as { json?: { message?: string } }).json?.message ?? (err as Error).message;
        throw new FailedPreconditionError(`image ${nameOrId} is in use: ${msg}`, { cause: err });
      }
      throw err;
    }
  }

  /** Containers (running or not) created from image `id`. */
  async containersUsing(id: string): Promise<ContainerRef[]> {
    const all = await this.docker.listContainers({ all: true });
    return all
      .filter((c) => c.ImageID === id)
      .map((c) => ({
        id: c.Id,
        name: (c.Names?.[0] ?? '').replace(/^\//, ''),
        pauseOf: c.Labels?.[LABEL_KIND] === 'sandbox' ? c.Labels[LABEL_SANDBOX_ID] : undefined,
      }));
  }

  /** Where dockerd keeps images and container layers (`docker info` DockerRootDir). */
  async dataRoot(): Promise<string> {
    const info = (await this.docker.info()) as { DockerRootDir?: string };
    if (!info.DockerRootDir) throw new Error('docker info has no DockerRootDir');
    return info.DockerRootDir;
  }
}
