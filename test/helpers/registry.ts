/**
 * A real registry for tests: Debian's `docker-registry` (distribution 2.8) on
 * 127.0.0.1:<free port> with filesystem storage in a temp dir, optionally behind
 * htpasswd basic auth. dockerd treats 127.0.0.0/8 registries as insecure (plain
 * http) by default, so no TLS is needed. Plus the docker CLI steps the image tests
 * share: building a unique image from the local busybox and pushing it.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const BUSYBOX = 'localhost/cri-shim/busybox:1.0';

/** A name part unique to this run and call, so suites can run twice and side by side. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
}

export interface TestRegistry {
  /** `127.0.0.1:PORT`, the host part of image names in this registry. */
  host: string;
  url: string;
  credentials?: { username: string; password: string };
  stop(): Promise<void>;
}

/** A port nothing listens on right now (the kernel picks it; a tiny race is accepted). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function waitUntilAnswers(url: string, child: ChildProcess, timeoutMs = 15_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`docker-registry exited (${child.exitCode ?? child.signalCode})`);
    try {
      // /v2/ answers 200, or 401 behind auth: either way the registry is serving.
      const res = await fetch(`${url}/v2/`);
      if (res.status === 200 || res.status === 401) return;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > until) throw new Error(`docker-registry at ${url} did not answer within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function configLines(dir: string, host: string, auth?: { username: string; password: string }): string[] {
  const lines = [
    'version: 0.1',
    'log:',
    '  level: error',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${join(dir, 'data')}`,
    '  delete:',
    '    enabled: true',
    'http:',
    `  addr: ${host}`,
  ];
  if (auth) {
    // bcrypt is the only hash distribution's htpasswd accepts.
    const entry = execFileSync('htpasswd', ['-Bbn', auth.username, auth.password], { encoding: 'utf8' });
    writeFileSync(join(dir, 'htpasswd'), entry);
    lines.push('auth:', '  htpasswd:', '    realm: cri-shim-test', `    path: ${join(dir, 'htpasswd')}`);
  }
  return lines;
}

async function startOnce(auth?: { username: string; password: string }): Promise<TestRegistry> {
  const dir = mkdtempSync(join(tmpdir(), 'cri-shim-registry-'));
  const host = `127.0.0.1:${await freePort()}`;
  writeFileSync(join(dir, 'config.yml'), configLines(dir, host, auth).join('\n') + '\n');
  const logFile = join(dir, 'registry.log');
  const out = openSync(logFile, 'a');
  const child = spawn('docker-registry', ['serve', join(dir, 'config.yml')], { stdio: ['ignore', out, out] });
  closeSync(out);
  // Should the test process die without afterAll, the registry must not outlive it.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const url = `http://${host}`;
  const stop = async () => {
    process.removeListener('exit', killOnExit);
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitUntilAnswers(url, child);
  } catch (err) {
    const log = readFileSync(logFile, 'utf8').trim().split('\n').slice(-5).join('\n');
    await stop();
    throw new Error(`${(err as Error).message}\n${log}`);
  }
  return { host, url, credentials: auth, stop };
}

/**
 * Starts a registry; retries on a fresh port when the one picked was taken
 * meanwhile by another suite (the registry then exits at once).
 */
export async function startRegistry(opts: { auth?: { username: string; password: string } } = {}): Promise<TestRegistry> {
  let last: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await startOnce(opts.auth);
    } catch (err) {
      last = err;
    }
  }
  throw last;
}

export function docker(...args: string[]): string {
  return execFileSync('docker', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

/** Runs docker and returns its failure text instead of throwing. */
export function dockerFails(...args: string[]): string | null {
  try {
    docker(...args);
    return null;
  } catch (err) {
    return String((err as { stderr?: unknown }).stderr ?? err);
  }
}

/**
 * Builds `name` from the local busybox with extra Dockerfile lines and a unique
 * label, so its id is shared with no other image: removing it (all its tags, as the
 * CRI asks) can never touch an image another suite uses. The classic builder
 * is pinned because it never pulls a base image that exists locally.
 */
export function buildImage(name: string, lines: string[] = []): string {
  const dockerfile = [`FROM ${BUSYBOX}`, ...lines, `LABEL io.cri-shim.test.image=${JSON.stringify(name)}`].join('\n');
  execFileSync('docker', ['build', '-q', '-t', name, '-'], {
    input: dockerfile,
    env: { ...process.env, DOCKER_BUILDKIT: '0' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  return docker('image', 'inspect', '-f', '{{.Id}}', name);
}

/**
 * Pushes local image `source` as `target` (a name in a test registry) and removes
 * the local `target` tag again. Credentials go in the X-Registry-Auth header of
 * this one request (as the docker CLI does after `login`), so nothing is written to
 * ~/.docker. Returns the manifest digest the registry stored.
 */
export async function pushImage(
  source: string,
  target: string,
  credentials?: { username: string; password: string },
): Promise<string> {
  docker('tag', source, target);
  try {
    const slash = target.lastIndexOf(':');
    const [repo, tag] = [target.slice(0, slash), target.slice(slash + 1)];
    const headers: Record<string, string> = {};
    const auth = credentials ? { ...credentials, serveraddress: target.split('/')[0] } : {};
    // URL alphabet but padded: dockerd's decoder rejects unpadded base64url and
    // then pushes anonymously (as dockerode encodes it for our pulls).
    headers['X-Registry-Auth'] = Buffer.from(JSON.stringify(auth)).toString('base64').replace(/\+/g, '-').replace(/\//g, '_');
    const body = await dockerApi('POST', `/images/${encodeURIComponent(repo)}/push?tag=${encodeURIComponent(tag)}`, headers);
    let digest = '';
    for (const line of body.split('\n').filter(Boolean)) {
      const ev = JSON.parse(line) as { error?: string; aux?: { Digest?: string } };
      if (ev.error) throw new Error(`push ${target}: ${ev.error}`);
      if (ev.aux?.Digest) digest = ev.aux.Digest;
    }
    if (!digest) throw new Error(`push ${target}: no digest in the push stream`);
    return digest;
  } finally {
    docker('rmi', target);
  }
}

/** A raw call to dockerd's API over its socket (fetch cannot dial Unix sockets). */
async function dockerApi(method: string, path: string, headers: Record<string, string>): Promise<string> {
  const { request } = await import('node:http');
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: '/var/run/docker.sock', path: `/v1.41${path}`, method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        if ((res.statusCode ?? 500) >= 300) reject(new Error(`${method} ${path}: HTTP ${res.statusCode}: ${text}`));
        else resolve(text);
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** Removes the given images by name or id, ignoring the ones already gone. */
export function removeImages(...refs: string[]): void {
  for (const ref of refs) dockerFails('rmi', '-f', ref);
}

export function imageExists(ref: string): boolean {
  return dockerFails('image', 'inspect', ref) === null;
}
