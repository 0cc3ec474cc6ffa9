/**
 * `docker images` does not carry an image's configured user, which ListImages
 * reports. An image id is the digest of its config, so the user of an id never
 * changes: each id is inspected once and remembered while the image exists.
 */
import type { ImageInspectInfo } from 'dockerode';

const INSPECT_CONCURRENCY = 8;

export class ImageUserCache {
  private readonly users = new Map<string, string>();

  constructor(private readonly inspect: (id: string) => Promise<ImageInspectInfo | undefined>) {}

  /** The configured user of each id (undefined for an image gone meanwhile); forgets ids not asked for. */
  async usersOf(ids: string[]): Promise<Map<string, string | undefined>> {
    const wanted = new Set(ids);
    for (const id of this.users.keys()) if (!wanted.has(id)) this.users.delete(id);
    const missing = [...wanted].filter((id) => !this.users.has(id));
    for (let i = 0; i < missing.length; i += INSPECT_CONCURRENCY) {
      await Promise.all(
        missing.slice(i, i + INSPECT_CONCURRENCY).map(async (id) => {
          const info = await this.inspect(id);
          if (info) this.users.set(id, info.Config?.User ?? '');
        }),
      );
    }
    return new Map([...wanted].map((id) => [id, this.users.get(id)]));
  }

  /** Remembers a user learnt elsewhere (an ImageStatus inspect). */
  remember(id: string, user: string): void {
    this.users.set(id, user);
  }
}
