/**
 * The CRI ImageService: validate the request, call the image domain
 * (src/runtime/images), answer in runtime.v1 terms. Errors are the domain's
 * ShimErrors; instrument.ts maps them to gRPC codes.
 */
import type Docker from 'dockerode';
import type { ShimConfig } from '../config.js';
import type { Logger } from '../logger.js';
import { Images } from '../runtime/images/images.js';
import type { UnaryHandler } from './instrument.js';
import { credentialsFromCri, fsUsageToCri, imageInfoToCri, imageToCri, requiredImage } from './image-convert.js';
import type {
  ImageFsInfoResponse,
  ImageStatusRequest__Output,
  ImageStatusResponse,
  ListImagesRequest__Output,
  ListImagesResponse,
  PullImageRequest__Output,
  PullImageResponse,
  RemoveImageRequest__Output,
  RemoveImageResponse,
} from './proto.js';

export interface ImageServiceDeps {
  config: ShimConfig;
  docker: Docker;
  /** Unused for now: every call logs through its own ctx.logger (rpc and image on each line). */
  logger: Logger;
  /** The image domain, shared with the pod runtime (shim.ts) or substituted (tests); built from `docker` and `config` otherwise. */
  images?: Images;
}

export function imageServiceHandlers(deps: ImageServiceDeps): Record<string, UnaryHandler> {
  const images = deps.images ?? new Images({ docker: deps.docker, config: deps.config });
  return {
    PullImage: async (req: PullImageRequest__Output, ctx): Promise<PullImageResponse> => {
      const image = requiredImage(req.image);
      const id = await images.pull(image, { credentials: credentialsFromCri(req.auth), signal: ctx.signal, logger: ctx.logger });
      return { image_ref: id };
    },

    ListImages: async (req: ListImagesRequest__Output): Promise<ListImagesResponse> => {
      const filter = req.filter?.image?.image || undefined;
      return { images: (await images.list(filter)).map(imageToCri) };
    },

    // A missing image is an empty answer, not NOT_FOUND: the kubelet pulls on an empty image.
    ImageStatus: async (req: ImageStatusRequest__Output): Promise<ImageStatusResponse> => {
      const found = await images.status(requiredImage(req.image));
      if (!found) return { image: null, info: {} };
      return { image: imageToCri(found.record), info: req.verbose ? imageInfoToCri(found.record, found.details) : {} };
    },

    RemoveImage: async (req: RemoveImageRequest__Output): Promise<RemoveImageResponse> => {
      await images.remove(requiredImage(req.image));
      return {};
    },

    // Docker keeps images and container layers under one data root: both lists name it.
    ImageFsInfo: async (): Promise<ImageFsInfoResponse> => {
      const usage = fsUsageToCri(await images.fsUsage());
      return { image_filesystems: [usage], container_filesystems: [usage] };
    },
  };
}
