/**
 * One `docker pull` of one name (POST /images/create), read to its end. The
 * mirror logic and the sharing of concurrent pulls sit above this, in pull.ts;
 * tests substitute this function to count how often dockerd is asked.
 */
import type Docker from 'dockerode';
import type { Logger } from '../../logger.js';
import type { DockerAuthConfig } from './auth.js';
import { PullProgress, readPullStream } from './pull-progress.js';
import { formatReference, repositoryName, type ImageReference } from './reference.js';

export interface DockerPullRequest {
  ref: ImageReference;
  auth?: DockerAuthConfig;
  signal: AbortSignal;
  logger: Logger;
}

/** Resolves when dockerd has the image; rejects with dockerd's own error (classified by the caller). */
export type DockerPull = (req: DockerPullRequest) => Promise<void>;

export function dockerPull(docker: Docker, progressIntervalMs = 1000): DockerPull {
  return async ({ ref, auth, signal, logger }) => {
    const log = logger.child({ pull: formatReference(ref) });
    // Docker takes a digest in the `tag` parameter, exactly as the docker CLI sends it.
    const opts = { fromImage: repositoryName(ref), tag: ref.digest ?? ref.tag, abortSignal: signal };
    const stream = (await docker.createImage(auth as Docker.AuthConfig | undefined, opts)) as NodeJS.ReadableStream;
    const progress = new PullProgress(log, progressIntervalMs);
    await readPullStream(stream as AsyncIterable<Buffer>, (ev) => progress.onEvent(ev));
    log.info(progress.summary(), 'pulled');
  };
}
