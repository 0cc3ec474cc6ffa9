/**
 * Times every Docker Engine API call at dockerode's one exit, `modem.dial`: each
 * dockerode method (containers, images, exec, events…) goes through it, so no call
 * site changes. A call's time is until dockerd's answer (for a stream, until the
 * stream starts: reading a pull or an event stream is not the call).
 */
import type Docker from 'dockerode';

/** Told about each finished call; must not throw. */
export type DockerCallObserver = (operation: string, result: 'ok' | 'error', seconds: number) => void;

/** Collection-level paths (`/containers/create`, `/images/json`): no object id in them. */
const COLLECTION_ACTIONS = new Set(['create', 'json', 'prune', 'load', 'search', 'get']);
/** The actions of `/images/{name}/…`; an image name may itself contain slashes. */
const IMAGE_ACTIONS = new Set(['json', 'history', 'push', 'tag', 'get']);

/**
 * `GET /containers/{id}/json` from `GET /containers/3f2a…/json?size=1`: the method
 * and path with the object id or name replaced, so the label has few values.
 */
export function dockerOperation(method: string, path: string): string {
  const segs = path.split('?')[0]!.replace(/^\/v[0-9.]+(?=\/)/, '').split('/').filter(Boolean);
  const [kind, second] = segs;
  if (kind === undefined || second === undefined || (segs.length === 2 && COLLECTION_ACTIONS.has(second))) {
    return `${method} /${segs.join('/')}`;
  }
  let action: string;
  if (kind === 'images') {
    const last = segs[segs.length - 1]!;
    action = segs.length > 2 && IMAGE_ACTIONS.has(last) ? `/${last}` : '';
  } else {
    action = segs.length > 2 ? `/${segs.slice(2).join('/')}` : '';
  }
  return `${method} /${kind}/{id}${action}`;
}

interface DialOptions {
  method?: string;
  path?: string;
}
type Dial = (options: DialOptions, callback: (err: unknown, data?: unknown) => void) => void;

/** Wraps `docker.modem.dial` of this client (and of every object it hands out, which share its modem). */
export function observeDockerCalls(docker: Docker, observe: DockerCallObserver): void {
  const modem = docker.modem as unknown as { dial: Dial };
  const dial = modem.dial.bind(modem);
  modem.dial = (options, callback) => {
    // Read before dialing: dial prefixes the path with the API version in place.
    const operation = dockerOperation(options.method ?? 'GET', options.path ?? '');
    const started = process.hrtime.bigint();
    let reported = false;
    dial(options, (err, data) => {
      if (!reported) {
        reported = true;
        observe(operation, err ? 'error' : 'ok', Number(process.hrtime.bigint() - started) / 1e9);
      }
      callback(err, data);
    });
  };
}
