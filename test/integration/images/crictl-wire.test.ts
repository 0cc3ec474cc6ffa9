/**
 * The requests the real crictl 1.32 sent for `pull`, `images`, `inspecti`, `rmi`
 * and `imagefsinfo` (test/fixtures/cri-wire/crictl-1.32, calls 53–63), replayed as
 * raw gRPC bodies in their original order. Image names and credentials are swapped
 * for this test's own (a registry with basic auth on 127.0.0.1); every other byte
 * is crictl's. Answers are decoded with our schema, as crictl would.
 */
import { Client, credentials, status } from '@grpc/grpc-js';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import protobuf from 'protobufjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROTO_PATH } from '../../../src/cri/proto.js';
import { buildImage, imageExists, pushImage, removeImages, startRegistry, uniqueName, type TestRegistry } from '../../helpers/registry.js';
import { startImageServer, type ImageServer } from './image-server.js';

const WIRE_DIR = process.env.CRI_WIRE_DIR ?? join(resolve(dirname(PROTO_PATH), '..', '..', '..'), 'test', 'fixtures', 'cri-wire');
const CRICTL = join(WIRE_DIR, 'crictl-1.32');
const root = new protobuf.Root().loadSync(PROTO_PATH, { keepCase: true });
const service = root.lookupService('runtime.v1.ImageService');

const run = uniqueName('wire');
const CREDS = { username: 'crictl', password: `pw-${run}` };

let registry: TestRegistry;
let t: ImageServer;
let client: Client;
let id: string;
let image: string;

/** The request crictl sent in call `nn`, decoded, for `edit` to swap values in. */
function fixture(nn: string, method: string): { type: protobuf.Type; msg: Record<string, any> } {
  const type = service.methods[method]!.resolvedRequestType!;
  const msg = type.toObject(type.decode(readFileSync(join(CRICTL, `${nn}-${method}.bin`))), { longs: String, enums: String });
  return { type, msg };
}

/** Sends `body` as the raw request of `method` and decodes the answer with our schema. */
function send(method: string, body: Uint8Array): Promise<Record<string, any>> {
  const resType = service.methods[method]!.resolvedResponseType!;
  return new Promise((resolvePromise, reject) => {
    client.makeUnaryRequest(
      `/runtime.v1.ImageService/${method}`,
      (b: Uint8Array) => Buffer.from(b),
      (b: Buffer) => b,
      body,
      { deadline: Date.now() + 60_000 },
      (err, res) => (err ? reject(err) : resolvePromise(resType.toObject(resType.decode(res!), { longs: String, defaults: true }))),
    );
  });
}

const replay = (nn: string, method: string) => send(method, readFileSync(join(CRICTL, `${nn}-${method}.bin`)));

function replayEdited(nn: string, method: string, edit: (msg: Record<string, any>) => void) {
  const { type, msg } = fixture(nn, method);
  edit(msg);
  return send(method, type.encode(type.fromObject(msg)).finish());
}

beforeAll(async () => {
  registry = await startRegistry({ auth: CREDS });
  const source = `localhost/cri-shim-test-${run}:src`;
  id = buildImage(source);
  // crictl pulled localhost:5000/e2e-test-images/busybox:1.29-2: the same path in our registry.
  image = `${registry.host}/e2e-test-images/${run}/busybox:1.29-2`;
  await pushImage(source, image, CREDS);
  removeImages(source);
  t = await startImageServer();
  client = new Client(`unix://${t.socketPath}`, credentials.createInsecure());
});

afterAll(async () => {
  client?.close();
  await t?.close();
  if (id) removeImages(id);
  await registry?.stop();
});

const expectFsInfo = (res: Record<string, any>) => {
  expect(res.image_filesystems).toHaveLength(1);
  expect(res.container_filesystems).toHaveLength(1);
  expect(BigInt(res.image_filesystems[0].used_bytes.value)).toBeGreaterThan(0n);
};

describe('crictl 1.32 image commands, replayed', () => {
  it('crictl pull --creds user:secret <image> (53 ImageFsInfo, 54 PullImage)', async () => {
    expectFsInfo(await replay('53', 'ImageFsInfo'));
    const { msg } = fixture('54', 'PullImage');
    expect(msg).toMatchObject({ image: { image: 'localhost:5000/e2e-test-images/busybox:1.29-2' }, auth: { username: 'user', password: 'secret' } });
    const res = await replayEdited('54', 'PullImage', (m) => {
      m.image.image = image;
      m.auth.username = CREDS.username;
      m.auth.password = CREDS.password;
    });
    expect(res.image_ref).toBe(id);
  });

  it('crictl images (55 ImageFsInfo, 56 ListImages)', async () => {
    expectFsInfo(await replay('55', 'ImageFsInfo'));
    const res = await replay('56', 'ListImages');
    expect(res.images.find((i: any) => i.id === id)).toMatchObject({ repo_tags: [image] });
  });

  it('crictl inspecti busybox (57 ImageFsInfo, 58 ImageStatus verbose)', async () => {
    expectFsInfo(await replay('57', 'ImageFsInfo'));
    // As sent: docker.io/library/busybox:latest, which may or may not be here; it must answer.
    const asSent = await replay('58', 'ImageStatus');
    expect(asSent.image === null || typeof asSent.image.id === 'string').toBe(true);
    const res = await replayEdited('58', 'ImageStatus', (m) => (m.image.image = image));
    expect(res.image).toMatchObject({ id, repo_tags: [image] });
    expect(JSON.parse(res.info.info)).toMatchObject({ id, os: 'linux' });
  });

  it('crictl rmi <id> (59 ImageFsInfo, 60 ImageStatus, 61 RemoveImage)', async () => {
    expectFsInfo(await replay('59', 'ImageFsInfo'));
    // As sent, the id names no image: an empty status, and removal succeeds.
    expect(await replay('60', 'ImageStatus')).toMatchObject({ image: null });
    expect(await replay('61', 'RemoveImage')).toEqual({});
    const st = await replayEdited('60', 'ImageStatus', (m) => (m.image.image = id));
    expect(st.image.id).toBe(id);
    await replayEdited('61', 'RemoveImage', (m) => (m.image.image = st.image.id));
    expect(imageExists(id)).toBe(false);
  });

  it('crictl imagefsinfo (62, 63 ImageFsInfo)', async () => {
    const [a, b] = [await replay('62', 'ImageFsInfo'), await replay('63', 'ImageFsInfo')];
    expectFsInfo(a);
    expect(b.image_filesystems[0].fs_id).toEqual(a.image_filesystems[0].fs_id);
  });

  it('a pull with the fixture credentials unchanged is refused by our registry', async () => {
    await expect(replayEdited('54', 'PullImage', (m) => (m.image.image = image))).rejects.toMatchObject({
      code: status.PERMISSION_DENIED,
    });
  });
});
