/**
 * ImagePuller with a fake dockerd: the Docker pull and the local name table are
 * substitutes, so the tests see exactly which names dockerd is asked to pull,
 * with which credentials, and what names are left behind.
 */
import { describe, expect, it } from 'vitest';
import type { ImageInspectInfo } from 'dockerode';
import { silentLogger } from '../../../src/logger.js';
import type { DockerPullRequest } from '../../../src/runtime/images/docker-pull.js';
import type { MirrorConfig } from '../../../src/runtime/images/mirrors.js';
import { ImagePuller } from '../../../src/runtime/images/pull.js';
import { formatReference, type ImageReference } from '../../../src/runtime/images/reference.js';

const ID = 'sha256:' + '1'.repeat(64);
const httpError = (statusCode: number, message: string) => Object.assign(new Error(message), { statusCode, json: { message } });

/** A dockerd whose registries hold `served` names; every pull is recorded. */
function fakeDocker(served: Record<string, string | Error>, opts: { gate?: Promise<void> } = {}) {
  const names = new Map<string, string>();
  const pulls: Array<{ name: string; auth: DockerPullRequest['auth'] }> = [];
  const store = {
    inspect: async (name: string) => (names.has(name) ? ({ Id: names.get(name) } as ImageInspectInfo) : undefined),
    tag: async (id: string, ref: ImageReference) => void names.set(formatReference(ref), id),
    removeReference: async (name: string) => names.delete(name),
  };
  const pull = async (req: DockerPullRequest) => {
    const name = formatReference(req.ref);
    pulls.push({ name, auth: req.auth });
    await opts.gate;
    const what = served[name];
    if (what === undefined) throw httpError(404, `manifest for ${name} not found: manifest unknown`);
    if (what instanceof Error) throw what;
    names.set(name, what);
  };
  return { names, pulls, store, pull };
}

const puller = (d: ReturnType<typeof fakeDocker>, mirrors: MirrorConfig = { registryMirrors: {}, registryFallback: {} }) =>
  new ImagePuller({ store: d.store, pull: d.pull, mirrors });

const MIRRORED: MirrorConfig = {
  registryMirrors: { 'registry.k8s.io': ['http://127.0.0.1:1001', 'http://127.0.0.1:1002/k8s'] },
  registryFallback: { 'registry.k8s.io': 'none' },
};

describe('ImagePuller', () => {
  it('concurrent pulls of one reference share one Docker pull', async () => {
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const d = fakeDocker({ 'docker.io/library/busybox:latest': ID }, { gate });
    const p = puller(d);
    // Different spellings of one reference are one reference.
    const all = Promise.all(['busybox', 'docker.io/library/busybox:latest', 'library/busybox', 'busybox'].map((i) => p.pull(i, { logger: silentLogger })));
    await new Promise((r) => setTimeout(r, 20));
    open();
    expect(await all).toEqual([ID, ID, ID, ID]);
    expect(d.pulls).toHaveLength(1);
    // Once done, a new pull asks dockerd again (the registry may have a new image).
    await p.pull('busybox', { logger: silentLogger });
    expect(d.pulls).toHaveLength(2);
  });

  it('pulls with different credentials are not shared', async () => {
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const d = fakeDocker({ '127.0.0.1:5000/x:1': ID }, { gate });
    const p = puller(d);
    const all = Promise.all([
      p.pull('127.0.0.1:5000/x:1', { logger: silentLogger, credentials: { username: 'u', password: 'right' } }),
      p.pull('127.0.0.1:5000/x:1', { logger: silentLogger, credentials: { username: 'u', password: 'wrong' } }),
      p.pull('127.0.0.1:5000/x:1', { logger: silentLogger }),
    ]);
    open();
    await all;
    expect(d.pulls.map((x) => x.auth)).toEqual([{ username: 'u', password: 'right' }, { username: 'u', password: 'wrong' }, undefined]);
  });

  it('concurrent mirror pulls of one mirror name (different credentials) both succeed and leave no mirror tag', async () => {
    const mirrors: MirrorConfig = { registryMirrors: { 'registry.k8s.io': ['http://127.0.0.1:1001'] }, registryFallback: { 'registry.k8s.io': 'none' } };
    const d = fakeDocker({ '127.0.0.1:1001/pause:3.10': ID });
    // dockerd answers each name-table call after a while, so unserialized pulls interleave:
    // the second one would see the first one's mirror tag as "already there" and keep it.
    const slow = <A extends unknown[], R>(f: (...a: A) => Promise<R>) => async (...a: A) => {
      await new Promise((r) => setTimeout(r, 5));
      return f(...a);
    };
    d.store.inspect = slow(d.store.inspect);
    d.store.tag = slow(d.store.tag);
    d.store.removeReference = slow(d.store.removeReference);
    const p = puller(d, mirrors);
    const first = p.pull('registry.k8s.io/pause:3.10', { logger: silentLogger, credentials: { username: 'a', password: '1' } });
    await new Promise((r) => setTimeout(r, 12));
    const second = p.pull('registry.k8s.io/pause:3.10', { logger: silentLogger, credentials: { username: 'b', password: '2' } });
    expect(await Promise.all([first, second])).toEqual([ID, ID]);
    expect([...d.names.keys()]).toEqual(['registry.k8s.io/pause:3.10']);
  });

  it('a mirror tag that cannot be removed does not fail the pull', async () => {
    const d = fakeDocker({ '127.0.0.1:1002/k8s/pause:3.10': ID });
    d.store.removeReference = async () => {
      throw new Error('conflict');
    };
    const id = await puller(d, MIRRORED).pull('registry.k8s.io/pause:3.10', { logger: silentLogger });
    expect(id).toBe(ID);
    expect(d.names.get('registry.k8s.io/pause:3.10')).toBe(ID);
  });

  it('tries mirrors in order, leaves the image under the asked name and drops the mirror tag', async () => {
    const d = fakeDocker({ '127.0.0.1:1002/k8s/pause:3.10': ID });
    const id = await puller(d, MIRRORED).pull('registry.k8s.io/pause:3.10', { logger: silentLogger });
    expect(id).toBe(ID);
    expect(d.pulls.map((x) => x.name)).toEqual(['127.0.0.1:1001/pause:3.10', '127.0.0.1:1002/k8s/pause:3.10']);
    expect([...d.names]).toEqual([['registry.k8s.io/pause:3.10', ID]]);
  });

  it('keeps a mirror name that existed before the pull', async () => {
    const d = fakeDocker({ '127.0.0.1:1001/pause:3.10': ID });
    d.names.set('127.0.0.1:1001/pause:3.10', 'sha256:' + '0'.repeat(64));
    await puller(d, MIRRORED).pull('registry.k8s.io/pause:3.10', { logger: silentLogger });
    expect(new Set(d.names.keys())).toEqual(new Set(['127.0.0.1:1001/pause:3.10', 'registry.k8s.io/pause:3.10']));
  });

  it('a pull by digest through a mirror keeps the mirror name (Docker cannot tag a digest)', async () => {
    const digest = 'sha256:' + 'd'.repeat(64);
    const d = fakeDocker({ [`127.0.0.1:1001/pause@${digest}`]: ID });
    expect(await puller(d, MIRRORED).pull(`registry.k8s.io/pause@${digest}`, { logger: silentLogger })).toBe(ID);
    expect([...d.names.keys()]).toEqual([`127.0.0.1:1001/pause@${digest}`]);
  });

  it('with fallback none, a miss on every mirror is NOT_FOUND naming each mirror; the origin is never asked', async () => {
    const d = fakeDocker({});
    const err = await puller(d, MIRRORED).pull('registry.k8s.io/pause:3.10', { logger: silentLogger }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'NOT_FOUND' });
    expect((err as Error).message).toMatch(/cannot pull registry.k8s.io\/pause:3.10: no mirror served it .*fallback "none"/);
    expect((err as Error).message).toContain('http://127.0.0.1:1001: image 127.0.0.1:1001/pause:3.10 not found');
    expect((err as Error).message).toContain('http://127.0.0.1:1002/k8s: image');
    expect(d.pulls.map((x) => x.name)).not.toContain('registry.k8s.io/pause:3.10');
  });

  it('with fallback none, unreachable mirrors are UNAVAILABLE', async () => {
    const refused = httpError(500, 'dial tcp 127.0.0.1:1001: connect: connection refused');
    const d = fakeDocker({ '127.0.0.1:1001/pause:3.10': refused, '127.0.0.1:1002/k8s/pause:3.10': refused });
    await expect(puller(d, MIRRORED).pull('registry.k8s.io/pause:3.10', { logger: silentLogger })).rejects.toMatchObject({ code: 'UNAVAILABLE' });
  });

  it('with fallback origin, the origin comes last and its error names the mirrors tried', async () => {
    const d = fakeDocker({});
    const cfg = { ...MIRRORED, registryFallback: { '*': 'origin' as const } };
    const err = await puller(d, cfg).pull('registry.k8s.io/pause:3.10', { logger: silentLogger }).catch((e: unknown) => e);
    expect(d.pulls.map((x) => x.name)).toEqual(['127.0.0.1:1001/pause:3.10', '127.0.0.1:1002/k8s/pause:3.10', 'registry.k8s.io/pause:3.10']);
    expect(err).toMatchObject({ code: 'NOT_FOUND' });
    expect((err as Error).message).toMatch(/^image registry.k8s.io\/pause:3.10 not found: .*\(mirrors tried first: http:\/\/127.0.0.1:1001: /);
  });

  it("sends the origin's credentials to a mirror only when server_address names that mirror", async () => {
    const d = fakeDocker({ '127.0.0.1:1002/k8s/pause:3.10': ID });
    const creds = { username: 'u', password: 'p', serverAddress: 'registry.k8s.io' };
    await puller(d, MIRRORED).pull('registry.k8s.io/pause:3.10', { logger: silentLogger, credentials: creds });
    expect(d.pulls.map((x) => x.auth)).toEqual([undefined, undefined]);
    const d2 = fakeDocker({ '127.0.0.1:1002/k8s/pause:3.10': ID });
    await puller(d2, MIRRORED).pull('registry.k8s.io/pause:3.10', { logger: silentLogger, credentials: { ...creds, serverAddress: 'http://127.0.0.1:1002' } });
    expect(d2.pulls.map((x) => x.auth)).toEqual([undefined, { username: 'u', password: 'p', serveraddress: 'http://127.0.0.1:1002' }]);
  });

  it('rejects a malformed reference before asking dockerd', async () => {
    const d = fakeDocker({});
    await expect(puller(d).pull('Bad:Name:', { logger: silentLogger })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(d.pulls).toEqual([]);
  });
});
