/**
 * The ContainerConfig values Docker (or the file system) would refuse or misread,
 * checked at the door of CreateContainer, before any container exists:
 * - log_path is relative to the pod's log_directory and must stay inside it;
 * - the image must be a reference or an image id (Docker answers "invalid reference
 *   format", or a redirect for `a//b`, otherwise);
 * - bind mounts travel as Docker's `src:dst:opts` strings, where a `:` inside a path
 *   is an "invalid volume specification" and `/` cannot be a destination;
 * - labels and annotations become Docker labels.
 */
import { InvalidArgumentError } from '../errors.js';
import { isImageId, parseReference } from '../runtime/images/reference.js';
import type { ContainerConfig__Output, Mount__Output } from './proto.js';
import { MAX_NAME_BYTES, boundedMap, pathWithoutDotDot, quote, refuseControlChars } from './validate-text.js';

/** A full image id without its `sha256:` prefix. */
const HEX64 = /^[0-9a-f]{64}$/;

function imageName(image: string, field: string): void {
  if (isImageId(image) || HEX64.test(image)) return;
  try {
    parseReference(image);
  } catch (err) {
    throw new InvalidArgumentError(`${field} ${(err as Error).message}`);
  }
}

/** A log_path of the kubelet's form (`<container>/<restart>.log`), relative to log_directory. */
function logPath(path: string, field: string): void {
  pathWithoutDotDot(path, field);
  if (path.startsWith('/')) throw new InvalidArgumentError(`${field} must be relative to the pod's log_directory, got ${quote(path)}`);
}

function bindPath(path: string, field: string): void {
  refuseControlChars(path, field);
  if (path.includes(':')) {
    throw new InvalidArgumentError(`${field} must not contain ":" (Docker's bind syntax is src:dst:options), got ${quote(path)}`);
  }
}

/** The container's name goes into its Docker name and labels. */
function boundedName(name: string, field: string): void {
  refuseControlChars(name, field);
  const bytes = Buffer.byteLength(name);
  if (bytes > MAX_NAME_BYTES) throw new InvalidArgumentError(`${field} is ${bytes} bytes long; at most ${MAX_NAME_BYTES} are accepted`);
}

function mount(m: Mount__Output, field: string): void {
  bindPath(m.host_path, `${field}.host_path`);
  bindPath(m.container_path, `${field}.container_path`);
  if (m.container_path && m.container_path.split('/').every((s) => s === '' || s === '.')) {
    throw new InvalidArgumentError(`${field}.container_path must not be the container's root "/"`);
  }
}

export function checkContainerConfig(config: ContainerConfig__Output): void {
  if (config.metadata) boundedName(config.metadata.name, 'config.metadata.name');
  if (config.image?.image) imageName(config.image.image, 'config.image.image');
  if (config.log_path) logPath(config.log_path, 'config.log_path');
  config.mounts.forEach((m, i) => mount(m, `config.mounts[${i}]`));
  config.devices.forEach((d, i) => {
    refuseControlChars(d.host_path, `config.devices[${i}].host_path`);
    refuseControlChars(d.container_path, `config.devices[${i}].container_path`);
  });
  boundedMap(config.labels, 'config.labels');
  boundedMap(config.annotations, 'config.annotations');
}
