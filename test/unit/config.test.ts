import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, helpText, parseCli, validateConfigFile } from '../../src/config.js';
import { InvalidArgumentError } from '../../src/errors.js';

const noFile = (p: string): string => {
  throw new Error(`unexpected read of ${p}`);
};

describe('parseCli', () => {
  it('gives the defaults with no flags', () => {
    const { config, help } = parseCli([], noFile);
    expect(help).toBe(false);
    expect(config).toEqual(DEFAULT_CONFIG);
  });

  it('takes every flag, repeatable ones included', () => {
    const { config } = parseCli(
      [
        '--listen', 'unix:///tmp/x.sock',
        '--docker-endpoint', '/tmp/d.sock',
        '--cni-conf-dir', '/c',
        '--cni-bin-dir', '/b1', '--cni-bin-dir', '/b2',
        '--cni-cache-dir', '/cc',
        '--state-dir', '/s',
        '--pause-image', 'localhost/p:1',
        '--streaming-address', '0.0.0.0:1234',
        '--registry-mirror', 'registry.k8s.io=http://127.0.0.1:5000',
        '--registry-mirror', 'registry.k8s.io=http://127.0.0.1:5001',
        '--registry-fallback', 'none',
        '--log-level', 'debug',
      ],
      noFile,
    );
    expect(config).toMatchObject({
      listen: 'unix:///tmp/x.sock',
      dockerEndpoint: '/tmp/d.sock',
      cniConfDir: '/c',
      cniBinDirs: ['/b1', '/b2'],
      cniCacheDir: '/cc',
      stateDir: '/s',
      pauseImage: 'localhost/p:1',
      streamingAddress: '0.0.0.0:1234',
      registryMirrors: { 'registry.k8s.io': ['http://127.0.0.1:5000', 'http://127.0.0.1:5001'] },
      registryFallback: { '*': 'none' },
      logLevel: 'debug',
    });
  });

  it('layers flags over the config file', () => {
    const file = JSON.stringify({ stateDir: '/from-file', logLevel: 'warn', registryFallback: { 'registry.k8s.io': 'none' } });
    const { config } = parseCli(['--config', '/etc/cri-shim.json', '--log-level', 'error'], () => file);
    expect(config.stateDir).toBe('/from-file');
    expect(config.logLevel).toBe('error');
    expect(config.registryFallback).toEqual({ '*': 'origin', 'registry.k8s.io': 'none' });
  });

  it.each([
    [['--log-level', 'loud'], /logLevel/],
    [['--registry-mirror', 'nourl'], /--registry-mirror/],
    [['--listen', '/no/scheme.sock'], /listen/],
    [['--streaming-address', 'nope'], /streamingAddress/],
    [['--cni-plugin-timeout-ms', 'abc'], /cniPluginTimeoutMs/],
  ])('rejects %j naming the field', (argv, field) => {
    expect(() => parseCli(argv as string[], noFile)).toThrow(field);
  });

  it('rejects an unknown flag', () => {
    expect(() => parseCli(['--nope'], noFile)).toThrow(/nope/);
  });

  it('reports a config file that is not JSON with its name', () => {
    expect(() => parseCli(['--config', '/x.json'], () => '{ bad')).toThrow(/\/x\.json/);
  });

  it('--help lists every flag with its default', () => {
    const text = helpText();
    for (const flag of ['--listen', '--docker-endpoint', '--cni-conf-dir', '--cni-bin-dir', '--cni-cache-dir',
      '--state-dir', '--pause-image', '--streaming-address', '--registry-mirror', '--log-level', '--config']) {
      expect(text).toContain(flag);
    }
    expect(text).toContain('/run/cri-shim/cri-shim.sock');
  });
});

describe('validateConfigFile', () => {
  it.each([
    [{ stateDir: 3 }, 'stateDir: must be string'],
    [{ cniBinDirs: [] }, 'cniBinDirs: must NOT have fewer than 1 items'],
    [{ bogus: true }, 'bogus: unknown field'],
    [{ registryMirrors: { 'docker.io': ['ftp://x'] } }, 'registryMirrors.docker.io.0'],
    [{ registryFallback: 'sometimes' }, 'registryFallback'],
  ])('%j fails with a message naming the field', (value, expected) => {
    let err: unknown;
    try {
      validateConfigFile(value, 'cfg.json');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect((err as Error).message).toContain('cfg.json');
    expect((err as Error).message).toContain(expected);
  });
});
