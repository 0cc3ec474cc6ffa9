#!/usr/bin/env node
/**
 * RunPodSandbox against the raw cost of what it does, measured in the same run:
 *   raw docker  = create + start + inspect of a pause container (network none)
 *   raw CNI ADD = our CNI engine's ADD of the same chain into that namespace
 *   shim        = RunPodSandbox over the real socket (everything above + state + checks)
 * Usage: npm run build && node bench/sandbox.mjs [iterations]   (root, dockerd running)
 * Uses its own bridge and subnet (10.88.30.0/24) and removes everything afterwards.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { credentials } from '@grpc/grpc-js';
import { mergeConfig } from '../dist/config.js';
import { createLogger } from '../dist/logger.js';
import { startShim } from '../dist/shim.js';
import { loadCriPackage } from '../dist/cri/proto.js';
import { createCniEngine } from '../dist/cni/index.js';
import { createDockerClient } from '../dist/runtime/docker.js';

const N = Number(process.argv[2] ?? 10);
const PAUSE = 'localhost/cri-shim/pause:1.0';
const dir = mkdtempSync(join(tmpdir(), 'cri-shim-bench-'));
const confDir = join(dir, 'net.d');
mkdirSync(confDir);
const bridge = 'crbench0';
writeFileSync(
  join(confDir, '10-bench.conflist'),
  JSON.stringify({
    cniVersion: '1.0.0',
    name: 'bench',
    plugins: [
      { type: 'bridge', bridge, isGateway: true, ipMasq: false, ipam: { type: 'host-local', dataDir: join(dir, 'ipam'), ranges: [[{ subnet: '10.88.30.0/24' }]] } },
      { type: 'portmap', capabilities: { portMappings: true } },
      { type: 'firewall' },
    ],
  }),
);

const ms = (t0) => Number(process.hrtime.bigint() - t0) / 1e6;
const stats = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  return { median: q(0.5), p90: q(0.9), min: s[0] };
};

async function rawRound(docker, cni, i) {
  const t0 = process.hrtime.bigint();
  const c = await docker.createContainer({ Image: PAUSE, name: `cri-shim-bench-raw-${process.pid}-${i}`, HostConfig: { NetworkMode: 'none' } });
  await c.start();
  const info = await c.inspect();
  const dockerMs = ms(t0);
  const t1 = process.hrtime.bigint();
  await cni.add({ containerId: `bench-raw-${i}`, netns: info.NetworkSettings.SandboxKey, ifName: 'eth0' });
  const addMs = ms(t1);
  await cni.del({ containerId: `bench-raw-${i}`, netns: info.NetworkSettings.SandboxKey, ifName: 'eth0' });
  await c.remove({ force: true });
  return { dockerMs, addMs };
}

async function main() {
  const docker = createDockerClient('/var/run/docker.sock');
  const cni = createCniEngine({ confDir, binDirs: ['/opt/cni/bin', '/usr/lib/cni'], cacheDir: join(dir, 'cache-raw'), watch: false });
  await cni.loadNetworks();
  const config = mergeConfig({
    listen: `unix://${join(dir, 'cri.sock')}`,
    stateDir: join(dir, 'state'),
    cniConfDir: confDir,
    cniCacheDir: join(dir, 'cache'),
    logLevel: 'silent',
  });
  const shim = await startShim(config, createLogger('silent'), { watchCni: false });
  const pkg = loadCriPackage();
  const client = new pkg.runtime.v1.RuntimeService(`unix://${shim.socketPath}`, credentials.createInsecure());
  const call = (m, req) => new Promise((res, rej) => client[m](req, (e, r) => (e ? rej(e) : res(r))));

  const raw = { docker: [], add: [] };
  const shimMs = [];
  try {
    // One warm-up round each, not counted.
    await rawRound(docker, cni, 'warm');
    for (let i = 0; i <= N; i++) {
      const r = await rawRound(docker, cni, i);
      if (i > 0) raw.docker.push(r.dockerMs), raw.add.push(r.addMs);
      const t0 = process.hrtime.bigint();
      const { pod_sandbox_id: id } = await call('RunPodSandbox', {
        config: { metadata: { name: `bench-${i}`, uid: `bench-uid-${process.pid}-${i}`, namespace: 'bench', attempt: 0 } },
      });
      if (i > 0) shimMs.push(ms(t0));
      await call('StopPodSandbox', { pod_sandbox_id: id });
      await call('RemovePodSandbox', { pod_sandbox_id: id });
    }
  } finally {
    client.close();
    await shim.stop(1000);
    cni.close();
    try {
      execFileSync('ip', ['link', 'del', bridge], { stdio: 'ignore' });
    } catch {}
    rmSync(dir, { recursive: true, force: true });
  }
  const rows = [
    ['raw docker create+start+inspect', stats(raw.docker)],
    ['raw CNI ADD (bridge+portmap+firewall)', stats(raw.add)],
    ['raw total', stats(raw.docker.map((d, i) => d + raw.add[i]))],
    ['cri-shim RunPodSandbox', stats(shimMs)],
  ];
  process.stdout.write(`RunPodSandbox benchmark, ${N} rounds (ms)\n`);
  process.stdout.write(`${'step'.padEnd(40)} ${'median'.padStart(8)} ${'p90'.padStart(8)} ${'min'.padStart(8)}\n`);
  for (const [name, s] of rows) {
    process.stdout.write(`${name.padEnd(40)} ${s.median.toFixed(1).padStart(8)} ${s.p90.toFixed(1).padStart(8)} ${s.min.toFixed(1).padStart(8)}\n`);
  }
}

main().catch((err) => {
  process.stderr.write(`bench failed: ${err.stack ?? err}\n`);
  process.exit(1);
});
