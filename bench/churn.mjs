#!/usr/bin/env node
/**
 * Churn soak (issue #11; not run in CI): N cycles of pod + container
 * create/start/stop/remove against the built shim, run as a child process
 * (`node dist/cli.js`) on dirs of its own, with W workers. After every 100 cycles
 * (all workers at rest) it prints what is left on the node, the shim's RSS and its fds
 * (against the count after the first batch, once its connections are open);
 * it ends with one summary line. Expect 0 leaks and a flat RSS.
 *   npm run build && node bench/churn.mjs [--cycles 1000] [--workers 5]   (root, dockerd running)
 * Own bridge and subnet 10.88.109.0/24; everything is removed at the end.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { credentials } from '@grpc/grpc-js';
import { loadCriPackage } from '../dist/cri/proto.js';

const { values } = parseArgs({ options: { cycles: { type: 'string', default: '1000' }, workers: { type: 'string', default: '5' } } });
const CYCLES = Number(values.cycles);
const WORKERS = Number(values.workers);
const BATCH = 100;
const BUSYBOX = 'localhost/cri-shim/busybox:1.0';
const dir = mkdtempSync(join(tmpdir(), 'cri-shim-churn-'));
const confDir = join(dir, 'net.d');
const ipamDir = join(dir, 'ipam');
const stateDir = join(dir, 'state');
const cacheDir = join(dir, 'cni-cache');
const socket = join(dir, 'cri.sock');
const bridge = 'crchurn0';
mkdirSync(confDir);
writeFileSync(
  join(confDir, '10-churn.conflist'),
  JSON.stringify({
    cniVersion: '1.0.0',
    name: 'churn',
    plugins: [
      { type: 'bridge', bridge, isGateway: true, ipMasq: false, ipam: { type: 'host-local', dataDir: ipamDir, ranges: [[{ subnet: '10.88.109.0/24' }]] } },
      { type: 'portmap', capabilities: { portMappings: true } },
      { type: 'firewall' },
    ],
  }),
);

const ls = (d) => (existsSync(d) ? readdirSync(d) : []);
const sh = (cmd, args) => execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });

const shim = spawn(
  process.execPath,
  [join(import.meta.dirname, '..', 'dist', 'cli.js'), '--listen', `unix://${socket}`, '--state-dir', stateDir, '--cni-conf-dir', confDir,
    '--cni-cache-dir', cacheDir, '--cni-bin-dir', '/usr/lib/cni', '--log-level', 'warn'],
  { stdio: ['ignore', 'ignore', 'inherit'] },
);
const pkg = loadCriPackage();
const rt = new pkg.runtime.v1.RuntimeService(`unix://${socket}`, credentials.createInsecure());
const call = (method, req) =>
  new Promise((resolve, reject) => rt[method](req, { deadline: Date.now() + 120_000 }, (e, r) => (e ? reject(e) : resolve(r))));

function leaks() {
  let veths = 0;
  try {
    veths = sh('ip', ['-o', 'link', 'show', 'master', bridge]).split('\n').filter(Boolean).length;
  } catch {
    veths = 0;
  }
  return {
    ips: ls(join(ipamDir, 'churn')).filter((f) => f !== 'lock' && !f.startsWith('last_reserved_ip')).length,
    veths,
    containers: sh('docker', ['ps', '-aq', '--filter', `label=io.cri-shim.managed=${stateDir}`]).split('\n').filter(Boolean).length,
    files: ls(join(stateDir, 'sandboxes')).length + ls(join(stateDir, 'containers')).length + ls(join(cacheDir, 'results')).length,
  };
}
const fds = () => readdirSync(`/proc/${shim.pid}/fd`).length;
const rssMb = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${shim.pid}/status`, 'utf8'))[1]) / 1024;

async function cycle(n) {
  const config = {
    metadata: { name: `churn-${n}`, uid: `churn-${process.pid}-${n}`, namespace: 'churn', attempt: 0 },
    hostname: `churn-${n}`,
    linux: { security_context: { namespace_options: { network: 'POD', pid: 'CONTAINER', ipc: 'POD' } } },
  };
  const { pod_sandbox_id: pod } = await call('RunPodSandbox', { config });
  const { container_id: c } = await call('CreateContainer', {
    pod_sandbox_id: pod,
    config: { metadata: { name: 'app', attempt: 0 }, image: { image: BUSYBOX }, command: ['sleep', '3600'] },
    sandbox_config: config,
  });
  await call('StartContainer', { container_id: c });
  await call('StopPodSandbox', { pod_sandbox_id: pod });
  await call('RemovePodSandbox', { pod_sandbox_id: pod });
}

let failures = 0;
let done = 0;
async function batch(from, count) {
  let next = from;
  const end = from + count;
  await Promise.all(
    Array.from({ length: WORKERS }, async () => {
      while (next < end) {
        const n = next++;
        await cycle(n).catch((err) => {
          failures++;
          process.stderr.write(`cycle ${n}: ${err.message}\n`);
        });
        done++;
      }
    }),
  );
}

const t0 = Date.now();
let summary = '';
try {
  for (let i = 0; ; i++) {
    try {
      await call('Version', {});
      break;
    } catch (err) {
      if (i > 100 || shim.exitCode !== null) throw new Error(`shim did not start: ${err.message}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  // Baselines after the first batch: the shim opens its Docker connections and
  // CNI/grpc buffers lazily, which is warm-up, not a leak.
  let fd0 = 0;
  let rss0 = 0;
  let last = { ips: 0, veths: 0, containers: 0, files: 0 };
  let rss = rss0;
  let fd = fd0;
  while (done < CYCLES) {
    await batch(done, Math.min(BATCH, CYCLES - done));
    last = leaks();
    rss = rssMb();
    fd = fds();
    if (rss0 === 0) {
      fd0 = fd;
      rss0 = rss;
    }
    console.log(
      `cycles ${done}: leaks ips=${last.ips} veths=${last.veths} containers=${last.containers} files=${last.files} fds=${fd - fd0 >= 0 ? '+' : ''}${fd - fd0}` +
        ` rss=${rss.toFixed(1)}MB failures=${failures} ${((Date.now() - t0) / 1000).toFixed(0)}s`,
    );
  }
  const total = last.ips + last.veths + last.containers + last.files + Math.max(0, fd - fd0);
  summary =
    `churn: ${done} cycles, ${WORKERS} workers, ${failures} failed, leaks ${total} (ips=${last.ips} veths=${last.veths} containers=${last.containers} files=${last.files} fds=${fd - fd0}),` +
    ` rss ${rss0.toFixed(1)}→${rss.toFixed(1)} MB, ${((Date.now() - t0) / 1000).toFixed(0)} s`;
} finally {
  rt.close();
  shim.kill('SIGTERM');
  await new Promise((r) => shim.once('exit', r));
  for (const id of sh('docker', ['ps', '-aq', '--filter', `label=io.cri-shim.managed=${stateDir}`]).split('\n').filter(Boolean)) sh('docker', ['rm', '-f', id]);
  try {
    sh('ip', ['link', 'del', bridge]);
  } catch {
    // never made, or gone
  }
  rmSync(dir, { recursive: true, force: true });
}
console.log(summary);
