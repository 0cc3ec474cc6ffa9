import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { credentialsFromCri, fsUsageToCri, imageInfoToCri, imageToCri, requiredImage } from '../../../src/cri/image-convert.js';
import { PROTO_PATH } from '../../../src/cri/proto.js';
import type { ImageDetails, ImageRecord } from '../../../src/runtime/images/records.js';

const root = new protobuf.Root().loadSync(PROTO_PATH, { keepCase: true });
/** Encodes and decodes through the real schema: what the client would see. */
const roundTrip = (type: string, obj: object) => {
  const t = root.lookupType(`runtime.v1.${type}`);
  return t.toObject(t.decode(t.encode(t.fromObject(obj)).finish()), { longs: String, defaults: true });
};

const record: ImageRecord = {
  id: 'sha256:' + 'a'.repeat(64),
  repoTags: ['docker.io/library/busybox:latest'],
  repoDigests: [],
  size: 2 ** 40,
  user: { uid: 1003 },
  pinned: false,
};

describe('image-convert', () => {
  it('requiredImage names the missing field', () => {
    expect(requiredImage({ image: 'x' } as any)).toBe('x');
    expect(() => requiredImage(null)).toThrow('image.image is required');
    expect(() => requiredImage({ image: '' } as any)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });

  it('credentialsFromCri drops proto defaults', () => {
    const empty = { username: '', password: '', auth: '', server_address: '', identity_token: '', registry_token: '' };
    expect(credentialsFromCri(null)).toBeUndefined();
    expect(credentialsFromCri(empty)).toBeUndefined();
    expect(credentialsFromCri({ ...empty, username: 'u', password: 'p', server_address: 's' })).toEqual({ username: 'u', password: 'p', serverAddress: 's' });
    expect(credentialsFromCri({ ...empty, auth: 'YTpi', identity_token: 'i', registry_token: 'r' })).toEqual({ auth: 'YTpi', identityToken: 'i', registryToken: 'r' });
  });

  it('Image: uid as Int64Value, size as uint64, username otherwise empty', () => {
    expect(roundTrip('Image', imageToCri(record))).toMatchObject({
      id: record.id,
      repo_tags: record.repoTags,
      size: String(2 ** 40),
      uid: { value: '1003' },
      username: '',
      pinned: false,
    });
    const named = roundTrip('Image', imageToCri({ ...record, user: { username: 'www-data' }, pinned: true }));
    expect(named).toMatchObject({ uid: null, username: 'www-data', pinned: true });
  });

  it('verbose info is one JSON document', () => {
    const details = { os: 'linux', config: { user: '1003' } } as unknown as ImageDetails;
    const info = imageInfoToCri(record, details);
    expect(Object.keys(info)).toEqual(['info']);
    expect(JSON.parse(info.info!)).toMatchObject({ id: record.id, os: 'linux', config: { user: '1003' } });
  });

  it('FilesystemUsage keeps ns timestamps exact (beyond 2^53)', () => {
    const ts = 1_800_000_000_123_456_789n;
    const out = roundTrip('FilesystemUsage', fsUsageToCri({ mountpoint: '/var/lib/docker', usedBytes: 5, inodesUsed: 6, timestampNs: ts }));
    expect(out).toEqual({ timestamp: ts.toString(), fs_id: { mountpoint: '/var/lib/docker' }, used_bytes: { value: '5' }, inodes_used: { value: '6' } });
  });
});
