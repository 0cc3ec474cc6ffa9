import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../../src/errors.js';
import {
  isImageId,
  normalizeDockerName,
  normalizeReference,
  parseReference,
} from '../../../src/runtime/images/reference.js';

const D64 = 'sha256:' + 'ab'.repeat(32);

describe('normalizeReference', () => {
  it.each([
    ['busybox', 'docker.io/library/busybox:latest'],
    ['busybox:1.36', 'docker.io/library/busybox:1.36'],
    ['library/busybox', 'docker.io/library/busybox:latest'],
    ['docker.io/busybox', 'docker.io/library/busybox:latest'],
    ['index.docker.io/library/busybox:1', 'docker.io/library/busybox:1'],
    ['user/app', 'docker.io/user/app:latest'],
    ['user/team/app:v2', 'docker.io/user/team/app:v2'],
    ['registry.k8s.io/pause:3.10', 'registry.k8s.io/pause:3.10'],
    ['registry.k8s.io/pause', 'registry.k8s.io/pause:latest'],
    ['localhost/cri-shim/busybox:1.0', 'localhost/cri-shim/busybox:1.0'],
    ['localhost:5000/x', 'localhost:5000/x:latest'],
    ['127.0.0.1:5000/a/b:c', '127.0.0.1:5000/a/b:c'],
    ['[::1]:5000/x:1', '[::1]:5000/x:1'],
    ['localhost:5000', 'docker.io/library/localhost:5000'],
    ['ab_c-d__e/f---g.h:T_1.x-y', 'docker.io/ab_c-d__e/f---g.h:T_1.x-y'],
    [`busybox@${D64}`, `docker.io/library/busybox@${D64}`],
    [`busybox:1.36@${D64}`, `docker.io/library/busybox@${D64}`],
    [`localhost:5000/x@${D64}`, `localhost:5000/x@${D64}`],
    [`x@sha512:${'0'.repeat(128)}`, `docker.io/library/x@sha512:${'0'.repeat(128)}`],
  ])('%s → %s', (input, want) => {
    expect(normalizeReference(input)).toBe(want);
  });

  it.each([
    ['', 'empty'],
    [' busybox', 'white space'],
    ['busy box', 'white space'],
    ['Busybox', 'lowercase'],
    ['Example/x', 'lowercase'],
    ['docker.io/Library/busybox', 'lowercase'],
    ['busybox:', 'malformed tag'],
    ['busybox:-x', 'malformed tag'],
    [`busybox:${'t'.repeat(129)}`, 'malformed tag'],
    ['busybox@sha256:abc', 'malformed digest'],
    ['busybox@sha256:' + 'AB'.repeat(32), 'lowercase hex'],
    ['busybox@md5:' + '0'.repeat(32), 'unsupported digest algorithm'],
    ['busybox@', 'malformed digest'],
    ['a//b', 'malformed repository path'],
    ['a/b/', 'malformed repository path'],
    ['-x', 'malformed repository path'],
    ['x_', 'malformed repository path'],
    ['exa_mple.com/x', 'malformed registry host'],
    ['-bad.com/x', 'malformed registry host'],
    [':tag', 'no repository name'],
    ['ab'.repeat(32), 'image id'],
    [`example.com/${'a'.repeat(250)}`, 'longer than 255'],
  ])('rejects %j (%s) with INVALID_ARGUMENT', (input, why) => {
    let err: unknown;
    try {
      parseReference(input);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect((err as Error).message).toContain(why);
    expect((err as Error).message).toContain(`"${input}"`);
  });

  it('splits domain, path, tag and digest', () => {
    expect(parseReference('127.0.0.1:5000/a/b:c')).toEqual({ domain: '127.0.0.1:5000', path: 'a/b', tag: 'c' });
    expect(parseReference(`r.io/p@${D64}`)).toEqual({ domain: 'r.io', path: 'p', digest: D64 });
  });
});

describe('isImageId', () => {
  it.each([
    [D64, true],
    ['ab'.repeat(32), false],
    ['sha256:abc', false],
    ['busybox', false],
  ])('%s → %s', (s, want) => expect(isImageId(s)).toBe(want));
});

describe('normalizeDockerName (names as docker prints them)', () => {
  it.each([
    ['busybox:latest', 'docker.io/library/busybox:latest'],
    ['localhost/cri-shim/pause:1.0', 'localhost/cri-shim/pause:1.0'],
    [`busybox@${D64}`, `docker.io/library/busybox@${D64}`],
    ['<none>:<none>', undefined],
    ['<none>@<none>', undefined],
  ])('%s → %s', (s, want) => expect(normalizeDockerName(s)).toBe(want));
});
