/**
 * PullImage against real registries on 127.0.0.1: one open, one behind htpasswd
 * basic auth. The images are built by the test from the local busybox (unique per
 * run) and pushed; each test starts with the image absent from dockerd.
 */
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  buildImage,
  docker,
  freePort,
  imageExists,
  pushImage,
  removeImages,
  startRegistry,
  uniqueName,
  type TestRegistry,
} from '../../helpers/registry.js';
import { startImageServer, type ImageServer } from './image-server.js';

const run = uniqueName('pull');
const CREDS = { username: 'kubelet', password: `pw-${run}` };

let open: TestRegistry;
let locked: TestRegistry;
let t: ImageServer;
let id: string;
let digest: string;
let name: string; // <open>/<run>/busybox
let privateName: string; // <locked>/<run>/private

beforeAll(async () => {
  [open, locked] = await Promise.all([startRegistry(), startRegistry({ auth: CREDS })]);
  const source = `localhost/cri-shim-test-${run}:src`;
  id = buildImage(source);
  name = `${open.host}/${run}/busybox`;
  privateName = `${locked.host}/${run}/private`;
  digest = await pushImage(source, `${name}:1.0`);
  await pushImage(source, `${name}:latest`);
  await pushImage(source, `${privateName}:1.0`, CREDS);
  removeImages(source);
  t = await startImageServer();
});

afterAll(async () => {
  await t?.close();
  if (id) removeImages(id);
  await Promise.all([open?.stop(), locked?.stop()]);
});

beforeEach(() => {
  removeImages(id);
  expect(imageExists(id)).toBe(false);
});

const pull = (image: string, auth?: object) => t.call('PullImage', { image: { image }, auth });

describe('PullImage from a registry on 127.0.0.1', () => {
  it('by tag: image_ref is the image id, which ImageStatus and ListImages report', async () => {
    const res = await pull(`${name}:1.0`);
    expect(res.image_ref).toBe(id);
    const st = await t.call('ImageStatus', { image: { image: `${name}:1.0` } });
    expect(st.image.id).toBe(res.image_ref);
    expect(st.image.repo_tags).toContain(`${name}:1.0`);
    expect(st.image.repo_digests).toContain(`${name}@${digest}`);
    const list = await t.call('ListImages', {});
    expect(list.images.find((i: any) => i.id === res.image_ref)?.repo_tags).toContain(`${name}:1.0`);
  });

  it('without a tag pulls :latest', async () => {
    const res = await pull(name);
    expect(res.image_ref).toBe(id);
    expect(docker('image', 'inspect', '-f', '{{.Id}}', `${name}:latest`)).toBe(id);
    expect(imageExists(`${name}:1.0`)).toBe(false);
  });

  it('by digest', async () => {
    const res = await pull(`${name}@${digest}`);
    expect(res.image_ref).toBe(id);
    const st = await t.call('ImageStatus', { image: { image: `${name}@${digest}` } });
    expect(st.image).toMatchObject({ id, repo_tags: [], repo_digests: [`${name}@${digest}`] });
  });

  it('a missing image is NOT_FOUND', async () => {
    await expect(pull(`${name}:no-such-tag`)).rejects.toMatchObject({ code: status.NOT_FOUND, details: expect.stringContaining('not found') });
    await expect(pull(`${open.host}/${run}/no-such-repo:1`)).rejects.toMatchObject({ code: status.NOT_FOUND });
  });

  it('an unreachable registry is UNAVAILABLE', async () => {
    const closed = await freePort();
    await expect(pull(`127.0.0.1:${closed}/${run}/x:1`)).rejects.toMatchObject({
      code: status.UNAVAILABLE,
      details: expect.stringContaining(`registry 127.0.0.1:${closed} is unreachable`),
    });
  });

  it('a malformed reference or a missing image field is INVALID_ARGUMENT', async () => {
    await expect(pull(`${open.host}/${run}/Upper:1`)).rejects.toMatchObject({ code: status.INVALID_ARGUMENT, details: expect.stringContaining('lowercase') });
    await expect(t.call('PullImage', {})).rejects.toMatchObject({ code: status.INVALID_ARGUMENT, details: 'image.image is required' });
  });
});

describe('PullImage with basic auth', () => {
  it('right credentials pull', async () => {
    expect((await pull(`${privateName}:1.0`, CREDS)).image_ref).toBe(id);
  });

  it('credentials given only as `auth` (base64 user:password) pull too', async () => {
    const auth = Buffer.from(`${CREDS.username}:${CREDS.password}`).toString('base64');
    expect((await pull(`${privateName}:1.0`, { auth })).image_ref).toBe(id);
  });

  it('wrong credentials: the message says they were rejected', async () => {
    await expect(pull(`${privateName}:1.0`, { ...CREDS, password: 'wrong' })).rejects.toMatchObject({
      code: status.PERMISSION_DENIED,
      details: expect.stringContaining(`registry ${locked.host} rejected the credentials`),
    });
  });

  it('no credentials: the message says they are required', async () => {
    await expect(pull(`${privateName}:1.0`)).rejects.toMatchObject({
      code: status.PERMISSION_DENIED,
      details: expect.stringContaining('requires credentials'),
    });
  });

  it('no log line carries a credential (the log runs at trace, unredacted)', async () => {
    await pull(`${privateName}:1.0`, CREDS);
    await pull(`${privateName}:1.0`, { ...CREDS, password: `${CREDS.password}-wrong` }).catch(() => undefined);
    const all = t.logs.join('\n');
    expect(all).toContain('"msg":"pulled"');
    for (const secret of [
      CREDS.password,
      Buffer.from(`${CREDS.username}:${CREDS.password}`).toString('base64'),
      Buffer.from(JSON.stringify({ username: CREDS.username, password: CREDS.password })).toString('base64').replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_'),
    ]) {
      expect(all).not.toContain(secret);
    }
  });
});
