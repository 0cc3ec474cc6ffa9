/**
 * src/cri/proto.ts: the proto path, the one set of loader options, the
 * generator flags that mirror them, the committed generated code, and what
 * grpc-js hands our handlers.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LOADER_OPTIONS, PROTO_PATH, loadCriPackage } from '../../../src/cri/proto.js';
import { CRICTL_DIR, REPO_ROOT, lookupType, toReferenceJson } from './fixtures.js';

const GEN_SCRIPT = join(REPO_ROOT, 'hack', 'gen-proto.sh');

describe('PROTO_PATH and LOADER_OPTIONS', () => {
  it('PROTO_PATH is the absolute path of proto/runtime/v1/api.proto', () => {
    expect(isAbsolute(PROTO_PATH)).toBe(true);
    expect(PROTO_PATH.endsWith(join('proto', 'runtime', 'v1', 'api.proto'))).toBe(true);
    expect(existsSync(PROTO_PATH)).toBe(true);
  });

  it('LOADER_OPTIONS keep proto names, int64 as strings, enums as names, defaults, oneofs', () => {
    expect(LOADER_OPTIONS).toEqual({ keepCase: true, longs: String, enums: String, defaults: true, oneofs: true });
  });

  it('hack/gen-proto.sh passes exactly the same options as flags', () => {
    const script = readFileSync(GEN_SCRIPT, 'utf8');
    const block = /FLAGS=\(([^)]*)\)/.exec(script)?.[1];
    expect(block, 'FLAGS=( ... ) in hack/gen-proto.sh').toBeDefined();
    const flags = block!.split(/\s+/).filter((f) => f.startsWith('--'));
    const fromOptions = Object.entries(LOADER_OPTIONS).map(([k, v]) =>
      v === true ? `--${k}` : `--${k}=${(v as { name: string }).name}`,
    );
    const loaderFlags = flags.filter((f) => !/^--(grpcLib|importFileExtension)=/.test(f));
    expect(loaderFlags.sort()).toEqual(fromOptions.sort());
  });
});

describe('hack/gen-proto.sh --check', () => {
  const check = (cwdScript: string) => spawnSync('bash', [cwdScript, '--check'], { encoding: 'utf8' });

  it('passes: regenerating changes nothing in src/generated/', () => {
    const r = check(GEN_SCRIPT);
    expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
  });

  it('fails with a message when src/generated/ is stale', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gen-proto-'));
    try {
      for (const d of ['hack', 'proto', join('src', 'generated')]) cpSync(join(REPO_ROOT, d), join(dir, d), { recursive: true });
      symlinkSync(join(REPO_ROOT, 'node_modules'), join(dir, 'node_modules'));
      const file = join(dir, 'src', 'generated', 'runtime', 'v1', 'VersionRequest.ts');
      writeFileSync(file, readFileSync(file, 'utf8') + '\n// stale\n');
      const r = check(join(dir, 'hack', 'gen-proto.sh'));
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/out of date/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('loadCriPackage (what grpc-js gives our handlers)', () => {
  const v1 = loadCriPackage().runtime.v1;

  it('decodes a real crictl CreateContainer with proto names, string int64, enum names and Buffers', () => {
    const bin = readFileSync(join(CRICTL_DIR, '14-CreateContainer.bin'));
    const req = v1.RuntimeService.service.CreateContainer.requestDeserialize(bin);
    expect(req.pod_sandbox_id).toBe('sandbox0123456789abcdef');
    const config = req.config!;
    expect(config.linux!.resources!.cpu_period).toBe('100000');
    expect(config.envs[0]!.key).toBe('PORT');
    expect(Buffer.isBuffer(config.envs[0]!.value) && config.envs[0]!.value.toString()).toBe('80');
    expect(config.stop_signal).toBe('RUNTIME_DEFAULT');
    expect(config.windows, 'unset message fields are null').toBeNull();
    expect(config.CDI_devices, 'unset repeated fields are []').toEqual([]);
  });

  it('encodes a response our proto (and so the kubelet) reads back', () => {
    const bytes = v1.RuntimeService.service.Version.responseSerialize({
      version: '0.1.0',
      runtime_name: 'cri-shim',
      runtime_version: '0.1.0',
      runtime_api_version: 'v1',
    });
    expect(toReferenceJson(lookupType('VersionResponse'), bytes)).toEqual({
      version: '0.1.0',
      runtime_name: 'cri-shim',
      runtime_version: '0.1.0',
      runtime_api_version: 'v1',
    });
  });

  it('keeps nanosecond timestamps beyond 2^53 exact', () => {
    const ns = '1767225600123456789';
    const bytes = v1.RuntimeService.service.ContainerStatus.responseSerialize({ status: { id: 'c', created_at: ns } });
    const back = v1.RuntimeService.service.ContainerStatus.responseDeserialize(bytes);
    expect(back.status!.created_at).toBe(ns);
  });
});
