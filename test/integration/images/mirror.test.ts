/**
 * Pulls of an origin name (registry.k8s.io/…) served by a mirror on 127.0.0.1.
 * The shim runs with fallback `none` for every host, so a miss fails instead of
 * leaving the machine; the first mirror is a closed port, so the order is real.
 */
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildImage,
  freePort,
  imageExists,
  pushImage,
  removeImages,
  startRegistry,
  uniqueName,
  type TestRegistry,
} from '../../helpers/registry.js';
import { startImageServer, type ImageServer } from './image-server.js';

const run = uniqueName('mirror');
const ORIGIN = `registry.k8s.io/${run}/pause`;

let mirror: TestRegistry;
let deadMirror: string;
let t: ImageServer;
let id: string;
let digest: string;

beforeAll(async () => {
  mirror = await startRegistry();
  deadMirror = `http://127.0.0.1:${await freePort()}`;
  const source = `localhost/cri-shim-test-${run}:src`;
  id = buildImage(source);
  digest = await pushImage(source, `${mirror.host}/${run}/pause:3.10`);
  removeImages(source);
  t = await startImageServer({
    registryMirrors: { 'registry.k8s.io': [deadMirror, mirror.url] },
    registryFallback: { '*': 'none', 'registry.k8s.io': 'none' },
  });
});

afterAll(async () => {
  await t?.close();
  if (id) removeImages(id);
  await mirror?.stop();
});

describe('PullImage through a registry mirror', () => {
  it('serves the origin name; ListImages and ImageStatus show it with id = image_ref; the mirror tag is gone', async () => {
    const res = await t.call('PullImage', { image: { image: `${ORIGIN}:3.10` } });
    expect(res.image_ref).toBe(id);
    expect(t.dockerPulls.slice(-2)).toEqual([`${deadMirror.slice(7)}/${run}/pause:3.10`, `${mirror.host}/${run}/pause:3.10`]);
    const st = await t.call('ImageStatus', { image: { image: `${ORIGIN}:3.10` } });
    expect(st.image.id).toBe(res.image_ref);
    expect(st.image.repo_tags).toEqual([`${ORIGIN}:3.10`]);
    const listed = (await t.call('ListImages', {})).images.filter((i: any) => i.id === id);
    expect(listed).toHaveLength(1);
    expect(listed[0].repo_tags).toEqual([`${ORIGIN}:3.10`]);
    expect(imageExists(`${mirror.host}/${run}/pause:3.10`)).toBe(false);
    expect(t.logs.join('\n')).toContain('mirror did not serve the pull');
  });

  it('by digest: found again under the origin digest name', async () => {
    const ref = `${ORIGIN}@${digest}`;
    expect((await t.call('PullImage', { image: { image: ref } })).image_ref).toBe(id);
    expect((await t.call('ImageStatus', { image: { image: ref } })).image?.id).toBe(id);
  });

  it('a miss with fallback none fails naming the mirrors tried, and never asks the origin', async () => {
    const before = t.dockerPulls.length;
    const err = await t.call('PullImage', { image: { image: `${ORIGIN}:no-such-tag` } }).catch((e: any) => e);
    expect(err.code).toBe(status.UNAVAILABLE); // one mirror unreachable, one without the image
    expect(err.details).toContain(`cannot pull ${ORIGIN}:no-such-tag`);
    expect(err.details).toContain('fallback "none"');
    expect(err.details).toContain(`${deadMirror}: registry`);
    expect(err.details).toContain(`${mirror.url}: image`);
    expect(t.dockerPulls.slice(before)).not.toContain(`${ORIGIN}:no-such-tag`);
  });

  it('a host without mirrors is not pulled from its origin when the fallback is none', async () => {
    const before = t.dockerPulls.length;
    await expect(t.call('PullImage', { image: { image: `docker.io/${run}/x:1` } })).rejects.toMatchObject({
      details: expect.stringContaining('no mirror is configured for docker.io'),
    });
    expect(t.dockerPulls.length).toBe(before);
  });

  it('concurrent pulls of one reference share one Docker pull', async () => {
    removeImages(id);
    const before = t.dockerPulls.length;
    const refs = [`${ORIGIN}:3.10`, `${ORIGIN}:3.10`, `${ORIGIN}:3.10`, `${ORIGIN}:3.10`, `${ORIGIN}:3.10`];
    const answers = await Promise.all(refs.map((image) => t.call('PullImage', { image: { image } })));
    expect(answers.map((a) => a.image_ref)).toEqual(refs.map(() => id));
    // One Docker pull per mirror tried (the dead one, then the live one), not five.
    expect(t.dockerPulls.slice(before)).toEqual([`${deadMirror.slice(7)}/${run}/pause:3.10`, `${mirror.host}/${run}/pause:3.10`]);
  });
});
