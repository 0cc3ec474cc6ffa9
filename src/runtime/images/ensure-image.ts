/**
 * Getting an image onto the node when a create needs it: the pause image of
 * RunPodSandbox. containerd pulls its sandbox image itself and the kubelet no
 * longer does, so a node whose `--pause-image` is missing must not fail every pod.
 *
 * The create is tried first: on the usual node the image is there and this costs
 * no extra Docker call. Only a 404 from the create leads to the pull, which goes
 * through the image domain's pull path (mirrors, fallback policy, error mapping)
 * and is shared by every RunPodSandbox waiting for the same image.
 */
import { ShimError, codeOf, errorMessage, type ShimErrorCode } from '../../errors.js';
import type { Logger } from '../../logger.js';
import { dockerStatus } from '../docker-errors.js';
import { SingleFlight } from './single-flight.js';

/** Makes sure `image` is present locally, pulling it if not; rejects with the pull's own error. */
export type EnsureImage = (image: string, logger: Logger) => Promise<void>;

export interface ImageEnsurerDeps {
  /** Is the image on the node (by the name the config gives)? */
  present(image: string): Promise<boolean>;
  /** The image domain's pull (Images.pull): mirrors, fallback, error mapping. */
  pull(image: string, logger: Logger): Promise<string>;
}

export class ImageEnsurer {
  private readonly flights = new SingleFlight<void>();

  constructor(private readonly deps: ImageEnsurerDeps) {}

  /**
   * Concurrent callers share one check-and-pull. The check inside the flight keeps
   * a caller that arrives just after a pull finished from pulling a second time.
   */
  readonly ensure: EnsureImage = (image, logger) =>
    this.flights.run(image, async () => {
      if (await this.deps.present(image)) return;
      logger.info({ image }, 'image not on the node: pulling it');
      await this.deps.pull(image, logger);
    });
}

/** The pull failed: keeps the pull's meaning (NOT_FOUND, UNAVAILABLE, …) for the gRPC status. */
export class ImagePullFailedError extends ShimError {
  override readonly code: ShimErrorCode;
  constructor(image: string, cause: unknown) {
    super(`image ${image} is not on the node and pulling it failed: ${errorMessage(cause)}`, { cause });
    this.code = codeOf(cause);
  }
}

/**
 * Runs `create`; if Docker answers 404 (no such image) and `ensure` is given, gets
 * `image` onto the node and runs `create` once more. Any other failure is the
 * create's own.
 */
export async function createWithImage<T>(
  create: () => Promise<T>,
  image: string,
  ensure: EnsureImage | undefined,
  logger: Logger,
): Promise<T> {
  try {
    return await create();
  } catch (err) {
    if (!ensure || dockerStatus(err) !== 404) throw err;
  }
  try {
    await ensure(image, logger);
  } catch (err) {
    throw new ImagePullFailedError(image, err);
  }
  return create();
}
