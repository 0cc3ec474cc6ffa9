/**
 * PullImage's domain half: normalize the name, try each mirror of its registry in
 * order and then the origin (unless the fallback is `none`), leave the image
 * under the name the caller asked for, and let concurrent pulls of one name with
 * the same credentials share a single Docker pull. Answers the image id.
 */
import type { Logger } from '../../logger.js';
import { InternalError, NotFoundError, ShimError, UnavailableError } from '../../errors.js';
import { credentialsFingerprint, serverHost, toDockerAuth, type RegistryCredentials } from './auth.js';
import type { DockerPull } from './docker-pull.js';
import type { ImageStore } from './image-store.js';
import { pullPlan, type MirrorConfig, type PullSource } from './mirrors.js';
import { classifyPullError } from './pull-errors.js';
import { formatReference, parseReference, type ImageReference } from './reference.js';
import { SingleFlight } from './single-flight.js';
import { KeyedMutex } from '../../keyed-mutex.js';

export interface PullOptions {
  credentials?: RegistryCredentials;
  /** The caller's cancellation; the shared Docker pull stops only when every caller cancelled. */
  signal?: AbortSignal;
  logger: Logger;
}

export interface ImagePullerDeps {
  store: Pick<ImageStore, 'inspect' | 'tag' | 'removeReference'>;
  pull: DockerPull;
  mirrors: MirrorConfig;
}

/** Rebuilds `err` with a longer message, keeping its class (and so its gRPC code). */
function withMessage(err: ShimError, message: string): ShimError {
  const Ctor = err.constructor as new (m: string, o?: { cause?: unknown }) => ShimError;
  return new Ctor(message, { cause: err });
}

export class ImagePuller {
  private readonly flights = new SingleFlight<string>();
  private readonly mirrorLocks = new KeyedMutex();

  constructor(private readonly deps: ImagePullerDeps) {}

  /** Pulls `image` (any form the kubelet sends) and resolves to its image id `sha256:…`. */
  async pull(image: string, opts: PullOptions): Promise<string> {
    const ref = parseReference(image);
    // Validates the credentials now, so a malformed `auth` fails before any sharing.
    toDockerAuth(opts.credentials);
    const key = `${formatReference(ref)} ${credentialsFingerprint(opts.credentials)}`;
    return this.flights.run(key, (signal) => this.pullOnce(ref, opts, signal), opts.signal);
  }

  private async pullOnce(ref: ImageReference, opts: PullOptions, signal: AbortSignal): Promise<string> {
    const name = formatReference(ref);
    const plan = pullPlan(ref, this.deps.mirrors);
    const logger = opts.logger.child({ image: name });
    const tried: string[] = [];
    const failures: ShimError[] = [];
    for (const source of plan.sources) {
      try {
        return source.mirror ? await this.fromMirror(ref, source, opts, signal, logger) : await this.fromOrigin(ref, opts, signal, logger);
      } catch (err) {
        const failure = classifyPullError(err, {
          ref: formatReference(source.ref),
          host: source.ref.domain,
          withCredentials: this.authFor(source, opts.credentials) !== undefined,
        });
        if (signal.aborted) throw failure;
        if (!source.mirror) {
          throw tried.length === 0 ? failure : withMessage(failure, `${failure.message} (mirrors tried first: ${tried.join('; ')})`);
        }
        logger.info({ mirror: source.mirror, err: failure.message }, 'mirror did not serve the pull');
        tried.push(`${source.mirror}: ${failure.message}`);
        failures.push(failure);
      }
    }
    // Only reached when the fallback is `none`: no source left to try.
    const why = plan.mirrors.length === 0
      ? `no mirror is configured for ${ref.domain} and pulling from the origin is off (registry fallback "none")`
      : `no mirror served it and pulling from the origin is off (registry fallback "none"); mirrors tried: ${tried.join('; ')}`;
    const message = `cannot pull ${name}: ${why}`;
    // A miss everywhere is NOT_FOUND; any other mix may pass on retry.
    if (failures.length > 0 && failures.every((f) => f instanceof NotFoundError)) throw new NotFoundError(message);
    if (failures.length === 1) throw withMessage(failures[0]!, message);
    throw new UnavailableError(message);
  }

  /**
   * The request's credentials belong to the origin registry. A mirror gets them
   * only when their server_address names the mirror itself: otherwise whoever
   * runs the mirror would receive the origin's password.
   */
  private authFor(source: PullSource, creds: RegistryCredentials | undefined) {
    if (!source.mirror) return toDockerAuth(creds);
    return serverHost(creds) === source.ref.domain ? toDockerAuth(creds) : undefined;
  }

  private async fromOrigin(ref: ImageReference, opts: PullOptions, signal: AbortSignal, logger: Logger): Promise<string> {
    await this.deps.pull({ ref, auth: this.authFor({ ref }, opts.credentials), signal, logger });
    return this.idOf(formatReference(ref));
  }

  /**
   * One mirror name at a time: two pulls of the same mirror path (other credentials,
   * two origins on one mirror) would otherwise interleave their "was this tag already
   * here?" check, the pull and the untag, and lose the image or leak the mirror's tag.
   */
  private fromMirror(ref: ImageReference, source: PullSource, opts: PullOptions, signal: AbortSignal, logger: Logger): Promise<string> {
    return this.mirrorLocks.run(formatReference(source.ref), () => this.fromMirrorLocked(ref, source, opts, signal, logger));
  }

  private async fromMirrorLocked(
    ref: ImageReference,
    source: PullSource,
    opts: PullOptions,
    signal: AbortSignal,
    logger: Logger,
  ): Promise<string> {
    const mirrorName = formatReference(source.ref);
    logger.info({ mirror: source.mirror, from: mirrorName }, 'pulling through mirror');
    // A name the node already had under the mirror's host is someone's: keep it.
    const hadMirrorName = (await this.deps.store.inspect(mirrorName)) !== undefined;
    await this.deps.pull({ ref: source.ref, auth: this.authFor(source, opts.credentials), signal, logger });
    const id = await this.idOf(mirrorName);
    // Docker cannot tag a digest name, so a pull by digest stays reachable as
    // mirror@digest; lookups of origin@digest also try the mirror names (images.ts).
    if (ref.tag && mirrorName !== formatReference(ref)) {
      await this.deps.store.tag(id, ref);
      // The image is there under the asked name: a leftover mirror tag is untidy, not a failed pull.
      if (!hadMirrorName) {
        await this.deps.store.removeReference(mirrorName).catch((err: unknown) =>
          logger.warn({ tag: mirrorName, err: (err as Error).message }, 'could not remove the mirror tag'),
        );
      }
    }
    return id;
  }

  private async idOf(name: string): Promise<string> {
    const info = await this.deps.store.inspect(name);
    if (!info) throw new InternalError(`dockerd finished pulling ${name} but has no image by that name`);
    return info.Id;
  }
}
