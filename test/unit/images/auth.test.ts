import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../../src/errors.js';
import { credentialsFingerprint, serverHost, toDockerAuth } from '../../../src/runtime/images/auth.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');

describe('toDockerAuth', () => {
  it.each([
    ['nothing', undefined, undefined],
    ['only defaults', {}, undefined],
    ['username/password', { username: 'u', password: 'p' }, { username: 'u', password: 'p' }],
    ['auth decoded (dockerd never decodes it)', { auth: b64('u:p:with:colons') }, { username: 'u', password: 'p:with:colons' }],
    ['username/password win over auth', { username: 'u', password: 'p', auth: b64('x:y') }, { username: 'u', password: 'p' }],
    ['tokens and server', { identityToken: 'it', registryToken: 'rt', serverAddress: 'r.io' }, { identitytoken: 'it', registrytoken: 'rt', serveraddress: 'r.io' }],
  ])('%s', (_name, creds, want) => expect(toDockerAuth(creds)).toEqual(want));

  it('rejects an auth that is not base64 of user:password', () => {
    expect(() => toDockerAuth({ auth: b64('nocolon') })).toThrow(InvalidArgumentError);
  });
});

describe('serverHost', () => {
  it.each([
    [undefined, undefined],
    ['registry.k8s.io', 'registry.k8s.io'],
    ['127.0.0.1:5000', '127.0.0.1:5000'],
    ['https://index.docker.io/v1/', 'index.docker.io'],
    ['http://127.0.0.1:5000', '127.0.0.1:5000'],
  ])('%s → %s', (addr, want) => expect(serverHost(addr ? { serverAddress: addr } : undefined)).toBe(want));
});

describe('credentialsFingerprint', () => {
  it('is equal for equal credentials and differs otherwise, without containing them', () => {
    const a = credentialsFingerprint({ username: 'u', password: 'secret' });
    expect(credentialsFingerprint({ auth: b64('u:secret') })).toBe(a);
    expect(credentialsFingerprint({ username: 'u', password: 'other' })).not.toBe(a);
    expect(credentialsFingerprint(undefined)).toBe('anonymous');
    expect(credentialsFingerprint({})).toBe('anonymous');
    expect(a).not.toContain('secret');
  });
});
