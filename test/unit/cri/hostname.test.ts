/**
 * PodSandboxConfig.hostname at the door: empty passes (the node's name is used later),
 * more than the kernel's 64 bytes or characters a hostname cannot hold are
 * INVALID_ARGUMENT naming the field, through the real RunPodSandbox conversion.
 */
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../../src/errors.js';
import { podHostname } from '../../../src/cri/hostname.js';
import { sandboxSpecFromCri } from '../../../src/cri/pod-convert.js';
import type { PodSandboxConfig__Output, RunPodSandboxRequest__Output } from '../../../src/cri/proto.js';
import { capturedRequest } from '../../helpers/crictl.js';

const config = (hostname: string): PodSandboxConfig__Output => ({
  ...capturedRequest<RunPodSandboxRequest__Output>('06-RunPodSandbox').config!,
  hostname,
});

describe('podHostname', () => {
  it.each(['', 'web-0', 'a'.repeat(64), 'node_1.example.com', 'Web-0'])('accepts %j', (h) => {
    expect(podHostname(h, 'config.hostname')).toBe(h);
  });

  it.each([
    ['a'.repeat(65), /config.hostname is 65 bytes long; a hostname holds at most 64/],
    ['é'.repeat(33), /config.hostname is 66 bytes long/],
    ['web 0', /config.hostname "web 0" has characters a hostname cannot hold/],
    ['web\n10.0.0.1 evil', /config.hostname .* has characters/],
    ['web/0', /config.hostname .* has characters/],
    ['wëb', /config.hostname .* has characters/],
  ])('refuses %j', (h, message) => {
    expect(() => podHostname(h, 'config.hostname')).toThrow(InvalidArgumentError);
    expect(() => podHostname(h, 'config.hostname')).toThrow(message);
  });

  it('is applied by sandboxSpecFromCri: a 100-byte hostname never reaches the runtime', () => {
    expect(() => sandboxSpecFromCri(config('h'.repeat(100)), '')).toThrow(/config.hostname is 100 bytes long/);
    expect(sandboxSpecFromCri(config(''), '').hostname).toBe('');
  });
});
