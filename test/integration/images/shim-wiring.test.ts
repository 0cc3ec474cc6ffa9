/**
 * The ImageService as the shim serves it (src/shim.ts wiring), not only our
 * in-test server: the same answers through startTestShim's socket.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { docker } from '../../helpers/registry.js';
import { startTestShim, type TestShim } from '../../helpers/shim.js';

describe('ImageService in the shim', () => {
  let t: TestShim;
  beforeAll(async () => {
    t = await startTestShim();
  });
  afterAll(async () => {
    await t?.close();
  });

  it('answers ImageStatus, ListImages and ImageFsInfo with our handlers', async () => {
    const id = docker('image', 'inspect', '-f', '{{.Id}}', t.config.pauseImage);
    const st = await t.call(t.image, 'ImageStatus', { image: { image: t.config.pauseImage } });
    expect(st.image).toMatchObject({ id, pinned: true });
    const { images } = await t.call(t.image, 'ListImages', { filter: { image: { image: id } } });
    expect(images.map((i: any) => i.id)).toEqual([id]);
    const fs = await t.call(t.image, 'ImageFsInfo', {});
    expect(fs.image_filesystems[0].fs_id.mountpoint).toBe(docker('info', '-f', '{{.DockerRootDir}}'));
  });
});
