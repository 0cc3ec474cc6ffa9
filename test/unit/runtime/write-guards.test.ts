/**
 * Paths and files we write (#11 class 5): a log path is contained in its directory,
 * lexically and through symlinks; pod files are only ever hosts/resolv.conf/hostname;
 * no rendered pod-file line carries a control character.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../../src/errors.js';
import { containerLogPath } from '../../../src/runtime/container-config.js';
import { renderHosts, renderResolvConf, writePodFile } from '../../../src/runtime/pod-files.js';
import { checkRealParentInside, containedJoin } from '../../../src/runtime/safe-path.js';
import type { ContainerSpec, SandboxRecord } from '../../../src/runtime/types.js';

describe('containedJoin', () => {
  it.each(['../x.log', 'a/../../x.log', '../../../etc/cron.d/x', '..', '.', '', 'a/..'])('refuses %j', (rel) => {
    expect(() => containedJoin('/var/log/pods/p', rel, 'log_path')).toThrow(InvalidArgumentError);
  });
  it.each([
    ['c/0.log', '/var/log/pods/p/c/0.log'],
    ['c/../c/1.log', '/var/log/pods/p/c/1.log'],
    ['/c/2.log', '/var/log/pods/p/c/2.log'],
  ])('takes %j', (rel, want) => {
    expect(containedJoin('/var/log/pods/p', rel, 'log_path')).toBe(want);
  });
  it('is what containerLogPath uses', () => {
    const sandbox = { spec: { logDirectory: '/var/log/pods/p' } } as SandboxRecord;
    expect(() => containerLogPath(sandbox, { logPath: '../../../x/y.log' } as ContainerSpec)).toThrow('leads outside');
  });
});

describe('checkRealParentInside', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cri-shim-safe-path-'));
  const logDir = join(dir, 'pods', 'p');
  mkdirSync(join(logDir, 'ok'), { recursive: true });
  mkdirSync(join(dir, 'elsewhere'));
  symlinkSync(join(dir, 'elsewhere'), join(logDir, 'evil'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('takes a file in a real directory below, or in one not made yet', async () => {
    await checkRealParentInside(logDir, join(logDir, 'ok', '0.log'), 'log file');
    await checkRealParentInside(logDir, join(logDir, 'new', 'deeper', '0.log'), 'log file');
  });
  it('refuses a directory that is a symlink leading out', async () => {
    await expect(checkRealParentInside(logDir, join(logDir, 'evil', '0.log'), 'log file')).rejects.toThrow(InvalidArgumentError);
  });
});

describe('pod files', () => {
  it.each(['/etc/passwd', '/var/lib/docker/containers/x/../../../etc/hosts', 'hosts', '/var/lib/docker/containers/x/config.v2.json'])(
    'refuses to write %s',
    async (path) => {
      await expect(writePodFile(path, 'x\n')).rejects.toThrow('refusing to write pod file');
    },
  );
  it.each(['\n10.88.77.250 evil.example', '\r', '\0', ' x\x0b'])('no hosts line with %j', (bad) => {
    expect(() => renderHosts(`web${bad}`, ['10.88.60.2'])).toThrow('control characters');
  });
  it.each(['\nnameserver 10.88.77.250', '\0'])('no resolv.conf line with %j', (bad) => {
    expect(() => renderResolvConf({ servers: ['10.96.0.10'], searches: [`svc${bad}`], options: [] })).toThrow('control characters');
    expect(() => renderResolvConf({ servers: ['10.96.0.10'], searches: [], options: [`ndots:5${bad}`] })).toThrow('control characters');
  });
});
