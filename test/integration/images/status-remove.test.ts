/**
 * ListImages, ImageStatus, RemoveImage and ImageFsInfo on images the test builds
 * from the local busybox (unique names, so nothing another suite uses is touched).
 */
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildImage, docker, dockerFails, imageExists, removeImages, uniqueName } from '../../helpers/registry.js';
import { startImageServer, type ImageServer } from './image-server.js';

const run = uniqueName('status');
const repo = `localhost/cri-shim-test-${run}`;
const LABEL = 'io.cri-shim.test=images';

let t: ImageServer;
const ids: Record<string, string> = {};
const containers: string[] = [];

beforeAll(async () => {
  ids.u1002 = buildImage(`${repo}:u1002`, ['USER 1002']);
  ids.www = buildImage(`${repo}:www`, ['USER www-data']);
  ids.pair = buildImage(`${repo}:pair`, ['USER 1003:1004']);
  ids.plain = buildImage(`${repo}:plain`);
  ids.pause = buildImage(`${repo}:pause`, ['ENTRYPOINT ["/bin/sleep", "3600"]']);
  t = await startImageServer({ pauseImage: `${repo}:pause` });
});

afterAll(async () => {
  await t?.close();
  for (const c of containers) dockerFails('rm', '-f', c);
  removeImages(...Object.values(ids));
});

const statusOf = (image: string, verbose = false) => t.call('ImageStatus', { image: { image }, verbose });

describe('ImageStatus', () => {
  it.each([
    ['u1002', { uid: { value: '1002' }, username: '' }],
    ['www', { uid: null, username: 'www-data' }],
    ['pair', { uid: { value: '1003' }, username: '' }],
    ['plain', { uid: null, username: '' }],
  ])('user of :%s', async (tag, want) => {
    const res = await statusOf(`${repo}:${tag}`);
    expect(res.image).toMatchObject({ id: ids[tag], repo_tags: [`${repo}:${tag}`], ...want });
    expect(Number(res.image.size)).toBeGreaterThan(1_000_000);
    expect(res.info).toEqual({});
  });

  it('an absent image is an empty response, not an error', async () => {
    expect(await statusOf(`${repo}:absent`)).toEqual({ image: null, info: {} });
    expect(await statusOf('sha256:' + '0'.repeat(64))).toEqual({ image: null, info: {} });
  });

  it('finds an image by id, by bare hex id, and by short id', async () => {
    for (const form of [ids.www!, ids.www!.slice(7), ids.www!.slice(7, 19)]) {
      expect((await statusOf(form)).image?.id, form).toBe(ids.www);
    }
  });

  it('a short bare hex word is a name, never an id prefix', async () => {
    expect((await statusOf(ids.www!.slice(7, 11))).image).toBeNull();
  });

  it('verbose info carries the Docker inspect essentials as JSON', async () => {
    const res = await statusOf(`${repo}:u1002`, true);
    const info = JSON.parse(res.info.info);
    expect(info).toMatchObject({
      id: ids.u1002,
      os: 'linux',
      config: { user: '1002', labels: { 'io.cri-shim.test.image': `${repo}:u1002` } },
      rootfs: { type: 'layers' },
    });
    expect(info.rootfs.layers.length).toBeGreaterThan(0);
  });

  it('pinned is true for the configured pause image only', async () => {
    expect((await statusOf(`${repo}:pause`)).image.pinned).toBe(true);
    expect((await statusOf(`${repo}:plain`)).image.pinned).toBe(false);
  });

  it('a malformed name is INVALID_ARGUMENT', async () => {
    await expect(statusOf(`${repo}:bad tag`)).rejects.toMatchObject({ code: status.INVALID_ARGUMENT });
  });
});

describe('ListImages', () => {
  it('lists every image with normalized names, user and pinned', async () => {
    const { images } = await t.call('ListImages', {});
    const byId = new Map(images.map((i: any) => [i.id, i]));
    expect(byId.get(ids.u1002)).toMatchObject({ repo_tags: [`${repo}:u1002`], uid: { value: '1002' } });
    expect(byId.get(ids.www)).toMatchObject({ username: 'www-data', pinned: false });
    expect(byId.get(ids.pause)).toMatchObject({ pinned: true });
    const busybox: any = images.find((i: any) => i.repo_tags.includes('localhost/cri-shim/busybox:1.0'));
    expect(busybox?.id).toBe(docker('image', 'inspect', '-f', '{{.Id}}', 'localhost/cri-shim/busybox:1.0'));
  });

  it('filters by image', async () => {
    expect((await t.call('ListImages', { filter: { image: { image: `${repo}:pair` } } })).images.map((i: any) => i.id)).toEqual([ids.pair]);
    expect((await t.call('ListImages', { filter: { image: { image: `${repo}:absent` } } })).images).toEqual([]);
  });
});

describe('PullImage of an image id', () => {
  it('answers the id when the image is here, INVALID_ARGUMENT otherwise (an id names no registry)', async () => {
    expect((await t.call('PullImage', { image: { image: ids.plain } })).image_ref).toBe(ids.plain);
    await expect(t.call('PullImage', { image: { image: 'sha256:' + '0'.repeat(64) } })).rejects.toMatchObject({
      code: status.INVALID_ARGUMENT,
    });
    expect(t.dockerPulls).toEqual([]);
  });
});

describe('RemoveImage', () => {
  it('by tag removes the image with all its tags', async () => {
    const id = buildImage(`${repo}:rm-tag`);
    docker('tag', id, `${repo}:rm-tag-2`);
    await t.call('RemoveImage', { image: { image: `${repo}:rm-tag` } });
    expect(imageExists(id)).toBe(false);
    expect(imageExists(`${repo}:rm-tag-2`)).toBe(false);
  });

  it('by id, and again (absent is OK)', async () => {
    const id = buildImage(`${repo}:rm-id`);
    docker('tag', id, `${repo}:rm-id-2`);
    await t.call('RemoveImage', { image: { image: id } });
    expect(imageExists(id)).toBe(false);
    await t.call('RemoveImage', { image: { image: id } });
    await t.call('RemoveImage', { image: { image: `${repo}:rm-id` } });
  });

  it('in use by a (stopped) container: FAILED_PRECONDITION naming it; removable after', async () => {
    const id = buildImage(`${repo}:in-use`);
    const name = `cri-shim-test-${run}-user`;
    containers.push(docker('create', '--label', LABEL, '--name', name, `${repo}:in-use`));
    const err = await t.call('RemoveImage', { image: { image: `${repo}:in-use` } }).catch((e: any) => e);
    expect(err.code).toBe(status.FAILED_PRECONDITION);
    expect(err.details).toContain(name);
    expect(imageExists(`${repo}:in-use`)).toBe(true);
    docker('rm', name);
    await t.call('RemoveImage', { image: { image: `${repo}:in-use` } });
    expect(imageExists(id)).toBe(false);
  });

  it('requires image.image', async () => {
    await expect(t.call('RemoveImage', { image: null })).rejects.toMatchObject({ code: status.INVALID_ARGUMENT });
  });
});

describe('ImageFsInfo', () => {
  it("reports Docker's data root for images and containers", async () => {
    const before = BigInt(Date.now()) * 1_000_000n;
    const res = await t.call('ImageFsInfo', {});
    const after = BigInt(Date.now()) * 1_000_000n;
    const root = docker('info', '-f', '{{.DockerRootDir}}');
    expect(res.image_filesystems).toHaveLength(1);
    expect(res.container_filesystems).toEqual(res.image_filesystems);
    const fs = res.image_filesystems[0];
    expect(fs.fs_id).toEqual({ mountpoint: root });
    expect(BigInt(fs.timestamp)).toBeGreaterThanOrEqual(before);
    expect(BigInt(fs.timestamp)).toBeLessThanOrEqual(after);
    // The data root holds at least the busybox layer (a ~2 MB static binary).
    const busyboxSize = Number(docker('image', 'inspect', '-f', '{{.Size}}', 'localhost/cri-shim/busybox:1.0'));
    expect(Number(fs.used_bytes.value)).toBeGreaterThanOrEqual(busyboxSize);
    expect(Number(fs.inodes_used.value)).toBeGreaterThan(10);
  });
});
