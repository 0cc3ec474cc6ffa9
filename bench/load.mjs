#!/usr/bin/env node
/**
 * Node-load bench: what a kubelet at maxPods does to its runtime, against the shim and,
 * in the same run, against the raw Docker + CNI path at the same concurrency.
 *
 *   start  N pods with W workers (RunPodSandbox, CreateContainer, StartContainer)
 *   while  a relist (ListPodSandbox + ListContainers) every second,
 *          ListPodSandboxStats + ListContainerStats every 5 s, ExecSync probes 4/s
 *   hold   H seconds with the N pods up (same load)
 *   then   tear every pod down with W workers (StopPodSandbox + RemovePodSandbox)
 *
 * The raw path does the same pod starts and teardowns with dockerode and our CNI engine
 * directly (create+start+inspect of the pause container, CNI ADD, create+start of the
 * workload; CNI DEL, stop and remove both) under the same background load served by
 * Docker itself (a container list every second, an exec probe every 250 ms), once
 * before and once after the first shim
 * cycle (pooled, so a drift in the machine's load hits both sides alike), and every
 * ratio compares figures taken minutes apart on the same machine. The shim runs as its own process (its RSS is its own, and
 * `--cpu-prof` can profile it); its event-loop delay comes from Status verbose info, printed
 * beside that of an idle Node process running the same monitor meanwhile (the machine's floor).
 *
 * Usage: npm run build && npm run bench -- [--pods 110] [--workers 5] [--hold 20]
 *          [--cycles 1] [--no-raw] [--cpu-prof DIR] [--log-level info] [--node-flags "..."] [--env "K=V ..."]
 *          [--against containerd] [--docker-calls]
 * `--docker-calls` (metrics on): Docker API calls per call of each RPC, load paused.
 * `--against containerd` also runs one cycle of the same load, last, against a private containerd 1.6
 * (bench/containerd-runtime.mjs: own root, state and socket, the same CNI conf, our images)
 * and prints it as an extra column.
 * (root, dockerd running). Own bridge crload0 and subnet 10.88.140.0/22; everything it
 * made is removed at the end.
 */
import { execFileSync, spawn } from 'node:child_process';
import { createWriteStream, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { setTimeout as sleep } from 'node:timers/promises';
import { credentials } from '@grpc/grpc-js';
import { loadCriPackage } from '../dist/cri/proto.js';
import { createCniEngine } from '../dist/cni/index.js';
import { createDockerClient } from '../dist/runtime/docker.js';
import { startContainerdProcess } from './containerd-runtime.mjs';

const PAUSE = 'localhost/cri-shim/pause:1.0';
const BUSYBOX = 'localhost/cri-shim/busybox:1.0';
const BRIDGE = 'crload0';
/** Parent of every pod cgroup the bench makes (removed at the end). */
const CGROUP_ROOT = `cri-shim-bench-${process.pid}`;
const SUBNET = '10.88.140.0/22';
/** The flags hack/run-shim.sh runs the shim with (keep the two in step; the README says why). */
const RUN_FLAGS = ['--max-semi-space-size=1', '--optimize-for-size'];
/** The environment hack/run-shim.sh sets for the shim (glibc malloc tuning; README "Benchmark"). */
const RUN_ENV = { MALLOC_ARENA_MAX: '2', MALLOC_MMAP_THRESHOLD_: '32768' };

function parseArgs(argv) {
  const o = { pods: 110, workers: 5, hold: 20, cycles: 1, raw: true, cpuProf: '', logLevel: 'info', nodeFlags: RUN_FLAGS, env: RUN_ENV };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => argv[++i];
    if (a === '--pods') o.pods = Number(next());
    else if (a === '--workers') o.workers = Number(next());
    else if (a === '--hold') o.hold = Number(next());
    else if (a === '--cycles') o.cycles = Number(next());
    else if (a === '--no-raw') o.raw = false;
    else if (a === '--cpu-prof') o.cpuProf = next();
    else if (a === '--log-level') o.logLevel = next();
    else if (a === '--node-flags') o.nodeFlags = next().split(/\s+/).filter(Boolean);
    else if (a === '--against') o.against = next();
    else if (a === '--env') o.env = Object.fromEntries(next().split(/\s+/).filter(Boolean).map((kv) => [kv.split('=')[0], kv.slice(kv.indexOf('=') + 1)]));
    else if (a === '--docker-calls') o.dockerCalls = true;
    else throw new Error(`unknown argument ${a}`);
  }
  if (o.against !== undefined && o.against !== 'containerd') throw new Error(`--against takes only "containerd", not ${JSON.stringify(o.against)}`);
  return o;
}

const opts = parseArgs(process.argv.slice(2));
const runTag = `${process.pid}`;
const dir = mkdtempSync(join(tmpdir(), 'cri-shim-load-'));
const confDir = join(dir, 'net.d');
mkdirSync(confDir);
writeFileSync(
  join(confDir, '10-load.conflist'),
  JSON.stringify({
    cniVersion: '1.0.0',
    name: 'load',
    plugins: [
      { type: 'bridge', bridge: BRIDGE, isGateway: true, ipMasq: false, ipam: { type: 'host-local', dataDir: join(dir, 'ipam'), ranges: [[{ subnet: SUBNET }]] } },
      { type: 'portmap', capabilities: { portMappings: true } },
      { type: 'firewall' },
    ],
  }),
);

// ---------- figures ----------
const now = () => Number(process.hrtime.bigint()) / 1e6;
const quantile = (xs, p) => {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)];
};
const median = (xs) => quantile(xs, 0.5);
const p99 = (xs) => quantile(xs, 0.99);
async function timed(list, fn) {
  const t0 = now();
  const r = await fn();
  list.push(now() - t0);
  return r;
}
/** Runs `job(i)` for i < n with `workers` at once; resolves to the wall time in ms. */
async function pool(n, workers, job) {
  let next = 0;
  const t0 = now();
  const errors = [];
  await Promise.all(
    Array.from({ length: workers }, async () => {
      while (next < n) {
        const i = next++;
        try {
          await job(i);
        } catch (err) {
          errors.push(err);
        }
      }
    }),
  );
  if (errors.length) throw new Error(`${errors.length} of ${n} jobs failed; first: ${errors[0].stack ?? errors[0]}`);
  return now() - t0;
}
/** CPU seconds (user + system) `pid` has used so far: independent of the machine's load. */
function cpuSec(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}
/** The machine's CPU jiffies (all, and stolen by the hypervisor) from /proc/stat. */
function cpuJiffies() {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  return { total: f.slice(0, 8).reduce((a, b) => a + b, 0), steal: f[7] ?? 0 };
}

function rssMb(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** CPU time (user + system) the process has used, in ms (clock ticks of 10 ms). */
function cpuMs(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/**
 * The shim's CPU time per call of each RPC of the load, with the load paused: `k` calls
 * one after the other, the shim's CPU time (from /proc, user + system) before and after,
 * less what it uses idle over the same wall time. Unlike latencies, this does not depend
 * on how busy the rest of the machine is.
 */
async function cpuPerCall(shim, running) {
  const { call, pid } = shim;
  // Each phase's monotonic clock span (µs, V8's profile clock) goes to stderr, so
  // `node bench/cpu-profile.mjs FILE --between A B` shows what that phase's calls cost.
  const monoUs = () => process.hrtime.bigint() / 1000n;
  const measure = async (k, one, what) => {
    const d0 = shim.metricsPort && what ? await dockerCallCounts(shim.metricsPort) : undefined;
    const c0 = cpuMs(pid);
    const t0 = now();
    const m0 = monoUs();
    try {
      for (let i = 0; i < k; i++) await one(i);
    } catch (err) {
      // containerd refuses pod stats without a cgroup_parent: that phase has no figure.
      process.stderr.write(`cpu-per-call ${what}: failed: ${err.details ?? err.message}\n`);
      return { cpu: NaN, wall: now() - t0, k };
    }
    const cpu = cpuMs(pid) - c0;
    const wall = now() - t0;
    if (what) process.stderr.write(`cpu-per-call ${what}: --between ${m0} ${monoUs()}\n`);
    if (d0) {
      const d1 = await dockerCallCounts(shim.metricsPort);
      const per = [...d1].map(([op, n]) => [op, (n - (d0.get(op) ?? 0)) / k]).filter(([, n]) => n > 0);
      process.stderr.write(`docker calls per ${what}: ${per.map(([op, n]) => `${op} ${n.toFixed(2)}`).join(', ') || 'none'}\n`);
    }
    return { cpu, wall, k };
  };
  const idle = await measure(1, () => sleep(2000));
  const idlePerMs = idle.cpu / idle.wall;
  const perCall = (m) => Math.max(0, m.cpu - idlePerMs * m.wall) / m.k;
  const relist = await measure(100, async () => {
    await call('ListPodSandbox', {});
    await call('ListContainers', {});
  }, 'relist');
  const exec = await measure(40, (i) => call('ExecSync', { container_id: running[i % running.length], cmd: ['true'], timeout: 10 }), 'ExecSync');
  const stats = await measure(10, async () => {
    await call('ListPodSandboxStats', {});
    await call('ListContainerStats', {});
  }, 'stats');
  return { idle: idlePerMs * 1000, relist: perCall(relist), exec: perCall(exec), stats: perCall(stats) };
}

/** The shim's process-runner helper (src/process-runner), the child running cri-shim-runner. */
function helperPid(shimPid) {
  try {
    for (const pid of execFileSync('pgrep', ['-P', String(shimPid)], { encoding: 'utf8' }).split('\n').filter(Boolean)) {
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('cri-shim-runner')) return Number(pid);
    }
  } catch {}
  return undefined;
}

// ---------- raw path ----------
/**
 * Relists and exec probes against Docker itself while the raw pods start, are held and
 * stop. While `timings.on` (the hold, all pods up) each is timed: Docker's own list and
 * exec create+start+inspect are the floor under the shim's relist and ExecSync tails.
 */
function rawLoad(docker, apps, timings) {
  let stop = false;
  let k = 0;
  const loops = [
    (async () => {
      while (!stop) {
        const t = sleep(1000);
        const t0 = now();
        const on = timings.on;
        const ok = await docker.listContainers({ all: true, filters: { name: [`cri-shim-load-raw-${runTag}-`] } }).then(() => true, () => false);
        if (on && ok) timings.relist.push(now() - t0);
        await t;
      }
    })(),
    (async () => {
      const inflight = new Set();
      while (!stop) {
        const t = sleep(250);
        const list = apps();
        const app = list.length ? list[k++ % list.length] : undefined;
        if (app) {
          const p = (async () => {
            const t0 = now();
            const on = timings.on;
            const exec = await app.exec({ Cmd: ['true'], AttachStdout: true, AttachStderr: true });
            const stream = await exec.start({ Detach: false, Tty: false });
            stream.resume();
            await new Promise((r) => stream.on('end', r).on('close', r).on('error', r));
            await exec.inspect();
            if (on) timings.exec.push(now() - t0);
          })().catch(() => undefined);
          inflight.add(p);
          p.finally(() => inflight.delete(p));
        }
        await t;
      }
      await Promise.all(inflight);
    })(),
  ];
  return {
    stop: async () => {
      stop = true;
      await Promise.all(loops);
    },
  };
}

async function rawCycle(n, workers) {
  const docker = createDockerClient('/var/run/docker.sock');
  const cni = createCniEngine({ confDir, binDirs: ['/opt/cni/bin', '/usr/lib/cni'], cacheDir: join(dir, 'cache-raw'), watch: false });
  await cni.loadNetworks();
  const f = { dockerPause: [], add: [], sandbox: [], workload: [], teardown: [] };
  const pods = [];
  const startOne = async (i) => {
    const t0 = now();
    const pause = await docker.createContainer({
      Image: PAUSE,
      name: `cri-shim-load-raw-${runTag}-${i}`,
      Hostname: `raw-${i}`,
      HostConfig: { NetworkMode: 'none', IpcMode: 'shareable', CgroupParent: `/${CGROUP_ROOT}/raw-${i}` },
    });
    await pause.start();
    const info = await pause.inspect();
    const t1 = now();
    f.dockerPause.push(t1 - t0);
    const netns = info.NetworkSettings.SandboxKey;
    await cni.add({ containerId: pause.id, netns, ifName: 'eth0' });
    const t2 = now();
    f.add.push(t2 - t1);
    f.sandbox.push(t2 - t0);
    const app = await docker.createContainer({
      Image: BUSYBOX,
      name: `cri-shim-load-raw-${runTag}-${i}-app`,
      Cmd: ['sleep', '86400'],
      HostConfig: { NetworkMode: `container:${pause.id}`, IpcMode: `container:${pause.id}`, CgroupParent: `/${CGROUP_ROOT}/raw-${i}`, LogConfig: { Type: 'json-file', Config: {} } },
    });
    await app.start();
    f.workload.push(now() - t2);
    pods.push({ pause, app, netns });
  };
  const stopOne = async (i) => {
    const { pause, app, netns } = pods[i];
    const t0 = now();
    await app.stop({ t: 0 }).catch(() => undefined);
    await cni.del({ containerId: pause.id, netns, ifName: 'eth0' });
    await pause.stop({ t: 0 }).catch(() => undefined);
    await app.remove({ force: true });
    await pause.remove({ force: true });
    f.teardown.push(now() - t0);
  };
  try {
    await startOne('warm');
    await stopOne(0);
    pods.length = 0;
    f.dockerPause.length = f.add.length = f.sandbox.length = f.workload.length = f.teardown.length = 0;
    // The same background load as the shim gets, served by Docker directly: a container
    // list every second and an exec probe every 250 ms.
    const timings = { on: false, relist: [], exec: [] };
    const load = rawLoad(docker, () => pods.map((p) => p.app), timings);
    let startMs;
    let teardownMs;
    try {
      startMs = await pool(n, workers, startOne);
      // Held as long as the shim's pods are, under the same list and exec load.
      timings.on = true;
      await sleep(opts.hold * 1000);
      timings.on = false;
      teardownMs = await pool(n, workers, stopOne);
    } finally {
      await load.stop();
    }
    pods.length = 0;
    return { ...f, startMs, teardownMs, relistUp: timings.relist, execUp: timings.exec };
  } finally {
    for (const p of pods) {
      await cni.del({ containerId: p.pause.id, netns: p.netns, ifName: 'eth0' }).catch(() => undefined);
      await p.app.remove({ force: true }).catch(() => undefined);
      await p.pause.remove({ force: true }).catch(() => undefined);
    }
    cni.close();
  }
}

// ---------- shim ----------
/** A loopback port free right now (for the shim's metrics endpoint). */
async function freePort() {
  const srv = createServer();
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address();
  await new Promise((r) => srv.close(r));
  return port;
}

/** Docker API calls the shim has made so far, by operation (from its Prometheus metrics). */
async function dockerCallCounts(metricsPort) {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  const out = new Map();
  for (const m of text.matchAll(/^cri_shim_docker_request_duration_seconds_count\{operation="([^"]+)",result="[^"]+"\} (\d+)/gm)) {
    out.set(m[1], (out.get(m[1]) ?? 0) + Number(m[2]));
  }
  return out;
}

async function startShimProcess() {
  const sock = join(dir, 'cri.sock');
  const metricsPort = opts.dockerCalls ? await freePort() : undefined;
  const args = [
    ...opts.nodeFlags,
    ...(opts.cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${opts.cpuProf}`] : []),
    'dist/cli.js',
    `--listen=unix://${sock}`,
    `--state-dir=${join(dir, 'state')}`,
    `--cni-conf-dir=${confDir}`,
    `--cni-cache-dir=${join(dir, 'cache')}`,
    `--log-level=${opts.logLevel}`,
    ...(metricsPort ? [`--metrics-address=127.0.0.1:${metricsPort}`] : []),
  ];
  const log = createWriteStream(join(dir, 'shim.log'));
  await new Promise((r) => log.on('open', r));
  const child = spawn(process.execPath, args, { stdio: ['ignore', log, log], env: { ...process.env, ...opts.env } });
  const exited = new Promise((r) => child.on('exit', (code, signal) => r({ code, signal })));
  const pkg = loadCriPackage();
  for (let i = 0; i < 300 && !existsSync(sock); i++) await sleep(100);
  const client = new pkg.runtime.v1.RuntimeService(`unix://${sock}`, credentials.createInsecure(), {
    'grpc.max_receive_message_length': 16 * 1024 * 1024,
  });
  const call = (m, req, deadlineMs = 120_000) =>
    new Promise((res, rej) => client[m](req, { deadline: Date.now() + deadlineMs }, (e, r) => (e ? rej(e) : res(r))));
  for (let i = 0; ; i++) {
    try {
      const st = await call('Status', {});
      if (st.status.conditions.every((c) => c.status)) break;
    } catch (err) {
      if (i > 300) throw err;
    }
    if (i > 300) throw new Error('shim not ready after 30 s');
    await sleep(100);
  }
  return {
    pid: child.pid,
    address: `unix://${sock}`,
    metricsPort,
    call,
    stop: async () => {
      client.close();
      child.kill('SIGTERM');
      await exited;
      log.end();
    },
  };
}

/**
 * An idle Node process beside the shim running the same event-loop delay monitor
 * (bench/loop-delay-control.mjs): its windows are what the machine alone gives.
 */
function startLoopControl() {
  const child = spawn(process.execPath, ['bench/loop-delay-control.mjs'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const windows = new Map();
  let buf = '';
  child.stdout.setEncoding('utf8').on('data', (chunk) => {
    buf += chunk;
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      try {
        const w = JSON.parse(line);
        windows.set(w.end, w);
      } catch {}
    }
  });
  const exited = new Promise((r) => child.on('exit', r));
  return {
    between: (from, to) => [...windows.values()].filter((w) => w.end >= from && w.end <= to),
    stop: async () => {
      child.stdin.end();
      await exited;
    },
  };
}

/** Windows of the shim's event-loop delay histogram (Status verbose), collected as they complete. */
function loopDelayCollector(call) {
  const windows = new Map();
  return {
    async poll() {
      const st = await call('Status', { verbose: true });
      const raw = st.info?.eventLoopDelay;
      if (!raw) return;
      for (const w of JSON.parse(raw).windows) windows.set(w.end, w);
    },
    /** Windows that ended within [from, to] (Unix ms). */
    between(from, to) {
      return [...windows.values()].filter((w) => w.end >= from && w.end <= to);
    },
  };
}

function podConfig(i, cycle) {
  const uid = `load-${runTag}-${cycle}-${i}`;
  return {
    metadata: { name: `load-${i}`, uid, namespace: 'bench', attempt: cycle },
    hostname: `load-${i}`,
    log_directory: join(dir, 'logs', uid),
    labels: { bench: 'load' },
    // As the kubelet does (cgroupfs driver): every pod in a cgroup of its own, whose
    // readings are the pod's stats (containerd refuses pod stats without one).
    linux: { cgroup_parent: `/${CGROUP_ROOT}/pod${uid}`, security_context: { namespace_options: { network: 'POD', pid: 'CONTAINER', ipc: 'POD' } } },
  };
}

async function shimCycle(shim, cycle, loop, control) {
  const { call } = shim;
  const n = opts.pods;
  const f = { sandbox: [], workload: [], teardown: [], relist: [], exec: [], stats: [], errors: { relist: 0, exec: 0, stats: 0 }, firstError: {} };
  const failed = (what, err) => {
    f.errors[what]++;
    f.firstError[what] ??= err.details ?? err.message;
  };
  const pods = [];
  const apps = [];
  const running = [];
  let stopLoad = false;
  let paused = false;
  // Relists run in a worker thread of their own (bench/relist-worker.mjs): timed here,
  // they would also count this thread's own stalls.
  const relists = [];
  const relister = new Worker(new URL('./relist-worker.mjs', import.meta.url), { workerData: { address: shim.address } });
  const relisterDone = new Promise((resolve, reject) => {
    relister.on('message', (m) => {
      if (m === 'stopped') resolve();
      else if (m.error) failed('relist', { message: m.error });
      else relists.push(m);
    });
    relister.on('error', reject);
  });
  const setPaused = (p) => {
    paused = p;
    relister.postMessage(p ? 'pause' : 'resume');
  };
  const loadLoops = [
    relisterDone.then(async () => {
      await relister.terminate();
      for (const r of relists) f.relist.push(r.ms);
    }),
    (async () => {
      while (!stopLoad) {
        const t = sleep(5000);
        if (paused) {
          await t;
          continue;
        }
        try {
          await timed(f.stats, async () => {
            await call('ListPodSandboxStats', {});
            await call('ListContainerStats', {});
          });
        } catch (err) {
          failed('stats', err);
        }
        await t;
      }
    })(),
    (async () => {
      let k = 0;
      const inflight = new Set();
      while (!stopLoad) {
        const t = sleep(250);
        const target = running.length && !paused ? running[k++ % running.length] : undefined;
        if (target) {
          const p = timed(f.exec, () => call('ExecSync', { container_id: target, cmd: ['true'], timeout: 10 })).catch((err) => {
            if (running.includes(target)) failed('exec', err);
          });
          inflight.add(p);
          p.finally(() => inflight.delete(p));
        }
        await t;
      }
      await Promise.all(inflight);
    })(),
  ];
  const rssIdle = rssMb(shim.pid);
  const cpuStart = cpuSec(shim.pid);
  const jiffiesStart = cpuJiffies();
  const tStart = Date.now();
  const startMs = await pool(n, opts.workers, async (i) => {
    const config = podConfig(i, cycle);
    mkdirSync(config.log_directory, { recursive: true });
    const { pod_sandbox_id: sid } = await timed(f.sandbox, () => call('RunPodSandbox', { config }));
    pods[i] = sid;
    const t0 = now();
    const { container_id: cid } = await call('CreateContainer', {
      pod_sandbox_id: sid,
      config: { metadata: { name: 'app', attempt: 0 }, image: { image: BUSYBOX }, command: ['sleep', '86400'], log_path: 'app.log' },
      sandbox_config: config,
    });
    await call('StartContainer', { container_id: cid });
    f.workload.push(now() - t0);
    apps[i] = cid;
    running.push(cid);
  });
  const tUp = Date.now();
  const marks = { relist: f.relist.length, exec: f.exec.length, stats: f.stats.length };
  await sleep(opts.hold * 1000);
  const rssUp = rssMb(shim.pid);
  const helper = helperPid(shim.pid);
  const helperRssUp = helper ? rssMb(helper) : NaN;
  const sideRssUp = shim.sideRss?.() ?? NaN;
  const tHoldEnd = Date.now();
  // Only what was answered while all N pods were up.
  const relistUp = relists.filter((r) => r.at >= tUp && r.at <= tHoldEnd).map((r) => r.ms);
  const execUp = f.exec.slice(marks.exec);
  const statsUp = f.stats.slice(marks.stats);
  await loop.poll();
  // The load pauses (its loops skip their turns) while the CPU per call is measured.
  setPaused(true);
  await sleep(1000);
  const cpuPer = await cpuPerCall(shim, running);
  setPaused(false);
  const teardownMs = await pool(n, opts.workers, async (i) => {
    const t0 = now();
    running.splice(running.indexOf(apps[i]), 1);
    await call('StopPodSandbox', { pod_sandbox_id: pods[i] });
    await call('RemovePodSandbox', { pod_sandbox_id: pods[i] });
    f.teardown.push(now() - t0);
  });
  stopLoad = true;
  relister.postMessage('stop');
  running.length = 0;
  await Promise.all(loadLoops);
  await sleep(2000);
  const rssAfter = rssMb(shim.pid);
  const cpu = cpuSec(shim.pid) - cpuStart;
  const jiffiesEnd = cpuJiffies();
  // A VM's stolen CPU is time no process here could run: a noisy host shows up here first.
  const stealPct = (100 * (jiffiesEnd.steal - jiffiesStart.steal)) / Math.max(1, jiffiesEnd.total - jiffiesStart.total);
  // containerd's Status has no `memory` entry: its heap figures stay NaN.
  const memAfter = await call('Status', { verbose: true }).then((st) => JSON.parse(st.info?.memory ?? '{}')).catch(() => ({}));
  const heapAfter = memAfter.heapUsed / 1048576;
  // V8's committed heap: with RSS, tells pages V8 keeps from pages malloc keeps.
  const heapTotalAfter = memAfter.heapTotal / 1048576;
  await loop.poll();
  const loopUp = loop.between(tUp, tHoldEnd + 5000);
  const loopAll = loop.between(tStart, Date.now());
  const controlUp = control.between(tUp, tHoldEnd + 5000);
  return { ...f, startMs, teardownMs, rssIdle, rssUp, rssAfter, heapAfter, heapTotalAfter, cpu, helperRssUp, sideRssUp, relistUp, execUp, statsUp, loopUp, loopAll, controlUp, cpuPer, stealPct };
}

/** Windows pooled: the smallest threshold at most 1 % of the samples exceed, and the share above 10 ms. */
function pooledP99(windows) {
  const withCounts = windows.filter((w) => w.above);
  const total = withCounts.reduce((a, w) => a + w.count, 0);
  if (!total) return { bound: NaN, above10: NaN };
  const share = (t) => withCounts.reduce((a, w) => a + (w.above[t] ?? 0), 0) / total;
  const thresholds = Object.keys(withCounts[0].above).map(Number).sort((a, b) => a - b);
  const bound = thresholds.find((t) => share(t) <= 0.01) ?? Infinity;
  return { bound, above10: share(10) };
}

// ---------- report ----------
function table(raw, shimCycles, ctrd) {
  const s = shimCycles[0];
  const lines = [];
  const fmt = (x, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : '-');
  const ctrdColumn = ctrd ? containerdColumn(ctrd) : undefined;
  const ctrdCell = (name, d) => (ctrdColumn ? ` ${fmt(ctrdColumn.get(name), d).padStart(10)}` : '');
  const row = (name, rawV, shimV, target, ok, d = 1) =>
    lines.push(
      `${name.padEnd(46)} ${fmt(rawV, d).padStart(9)} ${fmt(shimV, d).padStart(9)}${ctrdCell(name, d)} ${(raw && Number.isFinite(rawV) && Number.isFinite(shimV) ? (shimV / rawV).toFixed(2) + 'x' : '').padStart(7)}  ${target.padEnd(16)} ${ok === undefined ? '' : ok ? 'met' : 'NOT MET'}`,
    );
  const n = opts.pods;
  lines.push(`node-load bench: ${n} pods, ${opts.workers} workers, hold ${opts.hold} s, ${shimCycles.length} shim cycle(s); shim node flags: ${opts.nodeFlags.join(' ') || '(none)'}, env: ${Object.entries(opts.env).map(([k, v]) => `${k}=${v}`).join(' ') || '(none)'}, log level ${opts.logLevel}`);
  lines.push(`${'figure'.padEnd(46)} ${'raw'.padStart(9)} ${'cri-shim'.padStart(9)}${ctrd ? ` ${'containerd'.padStart(10)}` : ''} ${'ratio'.padStart(7)}  ${'target'.padEnd(16)} verdict`);
  const r = raw ?? {};
  const rawSandbox = raw ? median(raw.sandbox) : NaN;
  row('RunPodSandbox p50 ms (raw: docker+CNI ADD)', rawSandbox, median(s.sandbox), '<= 1.05x raw', raw ? median(s.sandbox) <= 1.05 * rawSandbox : undefined);
  row('  raw docker create+start+inspect p50 ms', median(r.dockerPause ?? []), NaN, '', undefined);
  row('  raw CNI ADD p50 ms', median(r.add ?? []), NaN, '', undefined);
  row('RunPodSandbox p99 ms', raw ? p99(raw.sandbox) : NaN, p99(s.sandbox), '', undefined);
  row('workload create+start p50 ms', raw ? median(raw.workload) : NaN, median(s.workload), '<= 1.05x raw', raw ? median(s.workload) <= 1.05 * median(raw.workload) : undefined);
  const rawPps = raw ? (n / raw.startMs) * 1000 : NaN;
  const pps = (n / s.startMs) * 1000;
  row(`pods/s (${n} pods, ${opts.workers} workers)`, rawPps, pps, '>= 0.95x raw', raw ? pps >= 0.95 * rawPps : undefined, 2);
  row(`teardown of ${n} pods, s`, raw ? raw.teardownMs / 1000 : NaN, s.teardownMs / 1000, '<= 1.05x raw', raw ? s.teardownMs <= 1.05 * raw.teardownMs : undefined, 2);
  // Raw column: Docker's own container list, and exec create+start+inspect, timed under the same load.
  row('relist p50 ms (pods up; raw: docker list)', raw ? median(raw.relistUp) : NaN, median(s.relistUp), '', undefined);
  row('relist p99 ms (pods up)', raw ? p99(raw.relistUp) : NaN, p99(s.relistUp), '<= 15 ms', p99(s.relistUp) <= 15);
  row('ExecSync p50 ms (raw: docker exec)', raw ? median(raw.execUp) : NaN, median(s.execUp), '', undefined);
  row('ExecSync p99 ms', raw ? p99(raw.execUp) : NaN, p99(s.execUp), '<= 80 ms', p99(s.execUp) <= 80);
  row('stats (both calls) p50 ms (pods up)', NaN, median(s.statsUp), '<= 150 ms', median(s.statsUp) <= 150);
  const loopP99 = Math.max(...s.loopUp.map((w) => w.p99));
  const loopP99All = Math.max(...s.loopAll.map((w) => w.p99));
  const controlP99 = Math.max(...s.controlUp.map((w) => w.p99));
  // The target is the p99 of every sample of the hold, pooled from the windows' counts of
  // samples above each threshold (src/event-loop-delay.ts ABOVE_MS): printed as the
  // smallest threshold that at most 1 % of the samples exceed.
  const loopPooled = pooledP99(s.loopUp);
  const controlPooled = pooledP99(s.controlUp);
  row('event-loop delay p99 ms (pods up, pooled: <=)', NaN, loopPooled.bound, '<= 10 ms', loopPooled.above10 <= 0.01);
  row('  idle control node, same windows (<=)', NaN, controlPooled.bound, '', undefined);
  row('  % of samples above 10 ms: shim', NaN, loopPooled.above10 * 100, '', undefined, 2);
  row('  % of samples above 10 ms: control', NaN, controlPooled.above10 * 100, '', undefined, 2);
  row('event-loop delay p99 ms (pods up, worst 5 s)', NaN, loopP99, '', undefined);
  row('  idle control node, same windows', NaN, controlP99, '', undefined);
  row('event-loop delay p99 ms (pods up, median 5s)', NaN, median(s.loopUp.map((w) => w.p99)), '', undefined);
  row('  idle control node, same windows', NaN, median(s.controlUp.map((w) => w.p99)), '', undefined);
  row('event-loop delay p99 ms (whole cycle, worst)', NaN, loopP99All, '', undefined);
  row('CPU stolen by the hypervisor during the cycle, %', NaN, s.stealPct, '', undefined, 2);
  row(`runtime CPU ms per relist, ${n} pods (load paused)`, NaN, s.cpuPer.relist, '', undefined, 2);
  row('runtime CPU ms per ExecSync', NaN, s.cpuPer.exec, '', undefined, 2);
  row(`runtime CPU ms per stats (both calls), ${n} pods`, NaN, s.cpuPer.stats, '', undefined, 2);
  row('runtime CPU ms per s idle (subtracted above)', NaN, s.cpuPer.idle, '', undefined, 2);
  row('RSS idle MB', NaN, s.rssIdle, '<= 70 MB', s.rssIdle <= 70);
  row(`RSS with ${n} pods MB`, NaN, Math.max(...shimCycles.map((c) => c.rssUp)), '<= 100 MB', Math.max(...shimCycles.map((c) => c.rssUp)) <= 100);
  row('RSS after teardown MB', NaN, s.rssAfter, '', undefined);
  row('shim CPU s (user+sys), cycle 1', NaN, s.cpu, '', undefined);
  row(`  + process-runner helper RSS with ${n} pods MB`, NaN, s.helperRssUp, '', undefined);
  if (ctrd) row(`  + runc-v2 shims' RSS summed, ${n} pods MB`, NaN, NaN, '', undefined);
  if (shimCycles.length > 1) {
    const after = shimCycles.map((c) => c.rssAfter);
    lines.push(`RSS after each cycle MB: ${after.map((x) => x.toFixed(1)).join(' / ')}; at ${n} pods: ${shimCycles.map((c) => c.rssUp.toFixed(1)).join(' / ')}`);
    lines.push(`V8 heap used after each cycle MB: ${shimCycles.map((c) => c.heapAfter.toFixed(1)).join(' / ')}; committed: ${shimCycles.map((c) => c.heapTotalAfter.toFixed(1)).join(' / ')}`);
    lines.push(`shim CPU s (user+sys) per cycle: ${shimCycles.map((c) => c.cpu.toFixed(1)).join(' / ')}`);
    if (shimCycles.length >= 5) {
      const span = Math.max(...after.slice(1, 5)) - Math.min(...after.slice(1, 5));
      lines.push(`RSS spread cycles 2-5: ${span.toFixed(1)} MB (target <= 5 MB: ${span <= 5 ? 'met' : 'NOT MET'})`);
    }
  }
  const e = s.errors;
  lines.push(`samples (pods up): relist ${s.relistUp.length}, ExecSync ${s.execUp.length}, stats ${s.statsUp.length}; errors: relist ${e.relist}, ExecSync ${e.exec}, stats ${e.stats}`);
  for (const [what, msg] of Object.entries(s.firstError)) lines.push(`first ${what} error: ${msg}`);
  if (ctrd) {
    const c = ctrd.errors;
    lines.push(`containerd samples (pods up): relist ${ctrd.relistUp.length}, ExecSync ${ctrd.execUp.length}, stats ${ctrd.statsUp.length}; errors: relist ${c.relist}, ExecSync ${c.exec}, stats ${c.stats}`);
    for (const [what, msg] of Object.entries(ctrd.firstError)) lines.push(`first containerd ${what} error: ${msg}`);
    lines.push('containerd column: RSS rows are the containerd process alone; its shims (one per pod) are summed on their own row; it has no event-loop figure.');
  }
  return lines.join('\n') + '\n';
}

/** The containerd cycle's figures, keyed by the table's row names (rows not listed print '-'). */
function containerdColumn(c) {
  const n = opts.pods;
  return new Map([
    ['RunPodSandbox p50 ms (raw: docker+CNI ADD)', median(c.sandbox)],
    ['RunPodSandbox p99 ms', p99(c.sandbox)],
    ['workload create+start p50 ms', median(c.workload)],
    [`pods/s (${n} pods, ${opts.workers} workers)`, (n / c.startMs) * 1000],
    [`teardown of ${n} pods, s`, c.teardownMs / 1000],
    ['relist p50 ms (pods up; raw: docker list)', median(c.relistUp)],
    ['relist p99 ms (pods up)', p99(c.relistUp)],
    ['ExecSync p50 ms (raw: docker exec)', median(c.execUp)],
    ['ExecSync p99 ms', p99(c.execUp)],
    ['stats (both calls) p50 ms (pods up)', median(c.statsUp)],
    [`runtime CPU ms per relist, ${n} pods (load paused)`, c.cpuPer?.relist],
    ['runtime CPU ms per ExecSync', c.cpuPer?.exec],
    [`runtime CPU ms per stats (both calls), ${n} pods`, c.cpuPer?.stats],
    ['RSS idle MB', c.rssIdle],
    [`RSS with ${n} pods MB`, c.rssUp],
    ['RSS after teardown MB', c.rssAfter],
    [`  + runc-v2 shims' RSS summed, ${n} pods MB`, c.sideRssUp],
  ]);
}

/** One cycle of the same load against a private containerd (its own process, sockets and dirs). */
async function containerdRun() {
  // Same pod configs as the shim's cycle 0: a fresh log dir for each.
  rmSync(join(dir, 'logs'), { recursive: true, force: true });
  process.stderr.write(`containerd: starting (log ${join(dir, 'containerd.log')})...\n`);
  const ctrd = await startContainerdProcess({
    dir,
    confDir,
    pauseImage: PAUSE,
    images: [PAUSE, BUSYBOX],
    onInterrupt: async () => {
      await cleanupLeftovers();
      rmSync(dir, { recursive: true, force: true });
    },
  });
  try {
    await sleep(2000);
    process.stderr.write(`containerd cycle...\n`);
    // containerd's Status has no event-loop delay windows: nothing to collect.
    const none = { poll: async () => undefined, between: () => [] };
    return await shimCycle(ctrd, 0, none, none);
  } finally {
    await ctrd.stop();
    rmSync(join(dir, 'logs'), { recursive: true, force: true });
  }
}

/**
 * The pods' parent cgroups (podConfig's cgroup_parent): runtimes create them and remove
 * only their containers' own, as the kubelet removes pod cgroups itself.
 */
function removePodCgroups() {
  const roots = [];
  try {
    for (const entry of readdirSync('/sys/fs/cgroup')) roots.push(join('/sys/fs/cgroup', entry, CGROUP_ROOT));
  } catch {}
  roots.push(join('/sys/fs/cgroup', CGROUP_ROOT));
  for (const root of roots) {
    if (!existsSync(root)) continue;
    try {
      execFileSync('find', [root, '-depth', '-type', 'd', '-exec', 'rmdir', '{}', '+'], { stdio: 'ignore' });
    } catch {}
  }
}

async function cleanupLeftovers() {
  removePodCgroups();
  try {
    const ids = execFileSync('docker', ['ps', '-aq', '--filter', `label=io.cri-shim.managed=${join(dir, 'state')}`], { encoding: 'utf8' }).split('\n').filter(Boolean);
    const raws = execFileSync('docker', ['ps', '-aq', '--filter', `name=cri-shim-load-raw-${runTag}-`], { encoding: 'utf8' }).split('\n').filter(Boolean);
    if (ids.length + raws.length) execFileSync('docker', ['rm', '-f', ...ids, ...raws], { stdio: 'ignore' });
  } catch {}
  try {
    execFileSync('ip', ['link', 'del', BRIDGE], { stdio: 'ignore' });
  } catch {}
}

/** Two raw runs pooled: samples together, wall times summed (so pods/s is their mean rate). */
function poolRaw(a, b) {
  const out = {};
  for (const k of Object.keys(a)) out[k] = Array.isArray(a[k]) ? [...a[k], ...b[k]] : (a[k] + b[k]) / 2;
  return out;
}

async function main() {
  let raw;
  if (opts.raw) {
    process.stderr.write(`raw Docker + CNI path: ${opts.pods} pods, ${opts.workers} workers...\n`);
    raw = await rawCycle(opts.pods, opts.workers);
  }
  process.stderr.write(`cri-shim: starting ${opts.logLevel === 'silent' ? '' : `(log ${join(dir, 'shim.log')})`}\n`);
  const shim = await startShimProcess();
  const control = startLoopControl();
  const cycles = [];
  try {
    await sleep(2000);
    const loop = loopDelayCollector(shim.call);
    // Status polled every 5 s, as the kubelet does; verbose so the delay windows come along.
    let polling = true;
    const poller = (async () => {
      while (polling) {
        await loop.poll().catch(() => undefined);
        await sleep(5000);
      }
    })();
    try {
      for (let c = 0; c < opts.cycles; c++) {
        process.stderr.write(`cri-shim cycle ${c + 1}/${opts.cycles}...\n`);
        cycles.push(await shimCycle(shim, c, loop, control));
        // The machine's load drifts: a raw run on each side of the first shim cycle, pooled.
        if (c === 0 && raw) {
          process.stderr.write(`raw Docker + CNI path again...\n`);
          raw = poolRaw(raw, await rawCycle(opts.pods, opts.workers));
        }
      }
    } finally {
      polling = false;
      await poller;
    }
  } finally {
    await control.stop();
    await shim.stop();
  }
  // Last, after the shim and both raw runs: the kernel is still tearing down the network
  // namespaces and cgroups of a 110-pod cycle for seconds after it, which would weigh
  // on whatever ran next, and the shim-vs-raw ratios are the targets.
  let ctrd;
  try {
    if (opts.against === 'containerd') ctrd = await containerdRun();
  } finally {
    await cleanupLeftovers();
    if (process.env.KEEP_BENCH_DIR) process.stderr.write(`kept ${dir}\n`);
    else rmSync(dir, { recursive: true, force: true });
  }
  process.stdout.write(table(raw, cycles, ctrd));
}

main().catch(async (err) => {
  process.stderr.write(`bench failed: ${err.stack ?? err}\n`);
  await cleanupLeftovers();
  process.exit(1);
});
