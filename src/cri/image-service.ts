/** ImageService handlers (being built): everything answers UNIMPLEMENTED until then. */
import type Docker from 'dockerode';
import type { ShimConfig } from '../config.js';
import type { Logger } from '../logger.js';
import type { UnaryHandler } from './instrument.js';

export interface ImageServiceDeps {
  config: ShimConfig;
  docker: Docker;
  logger: Logger;
}

export function imageServiceHandlers(_deps: ImageServiceDeps): Record<string, UnaryHandler> {
  return {};
}
