/**
 * A private containerd for the node-load bench (`--against containerd`): Debian's containerd 1.6
 * (installed with docker.io) with its own root, state, sockets and runc root, its CRI plugin on the
 * bench's CNI conf dir, and the bench's images imported into its k8s.io namespace. Returns the same
 * `{ pid, call, stop }` shape as the bench's startShimProcess, so the same load runs against it.
 *
 * The system containerd that dockerd uses (/var/run/docker/containerd) is never touched: every
 * path below lives under the bench's temp dir, except three that containerd 1.6 does not let us
 * move and that cleanup handles by name: the shims' sockets in /run/containerd/s/ (named by a hash
 * of our address), libcni's result cache in /var/lib/cni/results/ (named by our sandbox ids), and
 * the cgroups runc makes under /sys/fs/cgroup/<controller>/k8s.io/.
 */
import { execFileSync, spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { credentials } from '@grpc/grpc-js';
import { loadCriPackage } from '../dist/cri/proto.js';

const CONTAINERD = '/usr/bin/containerd';
const CTR = '/usr/bin/ctr';
const RUNC = '/usr/sbin/runc';
const SHIM = 'containerd-shim-runc-v2';
const NAMESPACE = 'k8s.io';
/** containerd 1.6 takes one CNI bin dir: Debian's plugins live in /usr/lib/cni. */
const CNI_BIN_DIRS = ['/usr/lib/cni', '/opt/cni/bin'];
/** Any pull to a host that is not loopback goes to this dead proxy (Go skips proxies for loopback). */
const DEAD_PROXY = 'http://127.0.0.1:1';
const CGROUP_ROOT = '/sys/fs/cgroup';

function tomlString(s) {
  if (/[\x00-\x1f"\\]/.test(s)) throw new Error(`refusing to write ${JSON.stringify(s)} into containerd's config`);
  return `"${s}"`;
}

/** containerd 1.6 config (version 2): everything private, CRI on our CNI conf and pause image. */
function configToml(p, confDir, pauseImage) {
  const binDir = CNI_BIN_DIRS.find((d) => existsSync(d)) ?? CNI_BIN_DIRS[0];
  const cri = 'plugins."io.containerd.grpc.v1.cri"';
  return `version = 2
root = ${tomlString(p.root)}
state = ${tomlString(p.state)}
temp = ${tomlString(p.temp)}
# opt would create /opt/containerd; the others are snapshotters this VM cannot use.
disabled_plugins = ["io.containerd.internal.v1.opt", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.devmapper"]

[grpc]
  address = ${tomlString(p.socket)}
  max_recv_message_size = 16777216
  max_send_message_size = 16777216

[ttrpc]
  address = ${tomlString(`${p.socket}.ttrpc`)}

[debug]
  address = ""
  level = "warn"

[metrics]
  address = ""

[${cri}]
  sandbox_image = ${tomlString(pauseImage)}
  # The VM lacks CAP_SYS_RESOURCE: an oom_score_adj below containerd's own would fail.
  restrict_oom_score_adj = true
  # Pod netns under our state dir, not /var/run/netns: cleanup finds them with the rest.
  netns_mounts_under_state_dir = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  enable_selinux = false
  systemd_cgroup = false

  [${cri}.cni]
    bin_dir = ${tomlString(binDir)}
    conf_dir = ${tomlString(confDir)}
    max_conf_num = 1
    conf_template = ""

  [${cri}.containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"

    [${cri}.containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"

      [${cri}.containerd.runtimes.runc.options]
        Root = ${tomlString(p.runcRoot)}
        SystemdCgroup = false

  [${cri}.registry]
    config_path = ${tomlString(p.hostsDir)}
`;
}

/** Pids of the runc v2 shims started by the containerd listening on `socket` (their -address). */
export function shimPidsFor(socket) {
  const pids = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let argv;
    try {
      argv = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0');
    } catch {
      continue;
    }
    if (!argv[0]?.endsWith(SHIM)) continue;
    const at = argv.indexOf('-address');
    if (at >= 0 && argv[at + 1] === socket) pids.push(Number(name));
  }
  return pids;
}

function rssKb(pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

function run(cmd, args, input) {
  return execFileSync(cmd, args, { encoding: 'utf8', input, stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'], maxBuffer: 64 << 20 });
}

/** `docker save IMAGE | ctr import`, then checks containerd stores it under the very name the bench asks for. */
function importImage(socket, image) {
  const tar = execFileSync('docker', ['save', image], { maxBuffer: 1 << 30 });
  execFileSync(CTR, ['-a', socket, '-n', NAMESPACE, 'images', 'import', '-'], { input: tar, stdio: ['pipe', 'ignore', 'pipe'] });
  const names = run(CTR, ['-a', socket, '-n', NAMESPACE, 'images', 'ls', '-q']).split('\n');
  if (!names.includes(image)) throw new Error(`containerd stored ${image} under other names: ${names.filter(Boolean).join(', ')}`);
}

/** Mount points at or under `root`, deepest first. */
function mountsUnder(root) {
  let out = '';
  try {
    out = run('findmnt', ['-rn', '-o', 'TARGET']);
  } catch {}
  // findmnt -r escapes blanks and such as \x20; our paths have none.
  return out
    .split('\n')
    .filter((t) => t === root || t.startsWith(`${root}/`))
    .sort((a, b) => b.length - a.length);
}

function listDir(path) {
  try {
    return readdirSync(path);
  } catch {
    return [];
  }
}

/** Directories that exist now and that cleanup may remove only if this run created them. */
function sharedDirsSnapshot() {
  const cgroupDirs = listDir(CGROUP_ROOT).map((c) => join(CGROUP_ROOT, c, NAMESPACE));
  return ['/var/lib/cni/results', '/var/lib/cni', ...cgroupDirs].filter((d) => existsSync(d));
}

/**
 * Starts the private containerd and waits until its CRI answers Status with every condition true.
 *
 * @param {{ dir: string, confDir: string, images: string[], pauseImage: string, onInterrupt?: () => Promise<void> }} o
 *   dir: the bench's temp dir (containerd gets dir/containerd); images: imported before the load
 *   (the pause image among them); onInterrupt: the bench's own cleanup, run after ours on SIGINT/SIGTERM.
 */
export async function startContainerdProcess(o) {
  const base = join(o.dir, 'containerd');
  const p = {
    base,
    root: join(base, 'root'),
    state: join(base, 'state'),
    temp: join(base, 'tmp'),
    runcRoot: join(base, 'state', 'runc'),
    hostsDir: join(base, 'hosts.d'),
    socket: join(base, 'containerd.sock'),
  };
  for (const d of [p.root, p.state, p.temp, p.hostsDir]) mkdirSync(d, { recursive: true });
  writeFileSync(join(base, 'config.toml'), configToml(p, o.confDir, o.pauseImage));
  const existedBefore = new Set(sharedDirsSnapshot());

  const log = createWriteStream(join(o.dir, 'containerd.log'));
  await new Promise((r) => log.on('open', r));
  // Own process group: a Ctrl-C on the terminal reaches the bench, which stops the pods first.
  const child = spawn(CONTAINERD, ['--config', join(base, 'config.toml')], {
    stdio: ['ignore', log, log],
    detached: true,
    env: { ...process.env, HTTP_PROXY: DEAD_PROXY, HTTPS_PROXY: DEAD_PROXY, NO_PROXY: '', http_proxy: DEAD_PROXY, https_proxy: DEAD_PROXY, no_proxy: '' },
  });
  let alive = true;
  const exited = new Promise((r) => child.on('exit', (code, signal) => ((alive = false), r({ code, signal }))));

  const pkg = loadCriPackage();
  const clientOpts = { 'grpc.max_receive_message_length': 16 * 1024 * 1024 };
  const client = new pkg.runtime.v1.RuntimeService(`unix://${p.socket}`, credentials.createInsecure(), clientOpts);
  const images = new pkg.runtime.v1.ImageService(`unix://${p.socket}`, credentials.createInsecure(), clientOpts);
  const rawCall = (svc, m, req, deadlineMs) =>
    new Promise((res, rej) => svc[m](req, { deadline: Date.now() + deadlineMs }, (e, r) => (e ? rej(e) : res(r))));

  // After an interrupt the load's calls fail at once, so no pod is made while cleanup lists them.
  let interrupted = false;
  let inflight = 0;
  const call = async (m, req, deadlineMs = 120_000) => {
    if (interrupted) throw new Error('bench interrupted');
    inflight++;
    try {
      return await rawCall(client, m, req, deadlineMs);
    } finally {
      inflight--;
    }
  };

  let stopped;
  const stop = () => (stopped ??= teardown());
  async function teardown() {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    interrupted = true;
    for (let i = 0; i < 300 && inflight > 0; i++) await sleep(100);
    const sandboxIds = new Set();
    if (alive) {
      // Twice: a pod whose start was in flight at the first listing shows up at the second.
      for (let pass = 0; pass < 2; pass++) {
        const list = await rawCall(client, 'ListPodSandbox', {}, 10_000).catch(() => ({ items: [] }));
        await Promise.all(
          list.items.map(async (s) => {
            sandboxIds.add(s.id);
            await rawCall(client, 'StopPodSandbox', { pod_sandbox_id: s.id }, 60_000).catch(() => undefined);
            await rawCall(client, 'RemovePodSandbox', { pod_sandbox_id: s.id }, 60_000).catch(() => undefined);
          }),
        );
      }
    }
    client.close();
    images.close();
    if (alive) child.kill('SIGTERM');
    await Promise.race([exited, sleep(10_000)]);
    if (alive) child.kill('SIGKILL');
    await exited;
    log.end();
    for (const id of listDir(join(p.root, 'io.containerd.grpc.v1.cri', 'sandboxes'))) sandboxIds.add(id);
    removeLeftovers(p, sandboxIds, existedBefore);
  }

  async function onSignal(sig) {
    process.stderr.write(`${sig}: stopping the private containerd and its pods...\n`);
    try {
      await stop();
      await o.onInterrupt?.();
    } finally {
      process.exit(130);
    }
  }
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  try {
    for (let i = 0; !existsSync(p.socket); i++) {
      if (!alive || i > 300) throw new Error(`containerd did not create ${p.socket} (log ${join(o.dir, 'containerd.log')})`);
      await sleep(100);
    }
    for (const image of o.images) importImage(p.socket, image);
    for (let i = 0; ; i++) {
      const st = await rawCall(client, 'Status', {}, 5_000).catch((err) => ({ err }));
      if (st.status?.conditions.every((c) => c.status)) break;
      if (!alive || i > 300) throw new Error(`containerd CRI not ready after 30 s: ${JSON.stringify(st.status ?? st.err?.message)}`);
      await sleep(100);
    }
    // The CRI must resolve each image by the bench's own reference, without a pull.
    for (const image of o.images) {
      const st = await rawCall(images, 'ImageStatus', { image: { image } }, 10_000);
      if (!st.image) throw new Error(`containerd's CRI does not see ${image} after import`);
    }
  } catch (err) {
    await stop();
    throw err;
  }

  return {
    pid: child.pid,
    address: `unix://${p.socket}`,
    call,
    stop,
    /** RSS of the containerd-shim-runc-v2 processes serving our pods, summed, in MB. */
    sideRss: () => shimPidsFor(p.socket).reduce((kb, pid) => kb + rssKb(pid), 0) / 1024,
    /** Pulls an image through the CRI (for checking that nothing leaves loopback). */
    pull: (image) => rawCall(images, 'PullImage', { image: { image } }, 30_000),
  };
}

/** What a killed containerd leaves: runc containers, shims, mounts, shim sockets, CNI cache, cgroups, dirs. */
function removeLeftovers(p, sandboxIds, existedBefore) {
  const runcRoot = join(p.runcRoot, NAMESPACE);
  for (const id of listDir(runcRoot)) {
    try {
      run(RUNC, ['--root', runcRoot, 'delete', '--force', id]);
    } catch {}
  }
  const shimSockets = [];
  const tasks = join(p.state, 'io.containerd.runtime.v2.task', NAMESPACE);
  for (const id of listDir(tasks)) {
    try {
      const addr = readFileSync(join(tasks, id, 'address'), 'utf8').trim();
      if (addr.startsWith('unix:///run/containerd/s/')) shimSockets.push(addr.slice('unix://'.length));
    } catch {}
  }
  for (const pid of shimPidsFor(p.socket)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {}
  }
  for (const target of mountsUnder(p.base)) {
    try {
      run('umount', [target]);
    } catch {
      try {
        run('umount', ['-l', target]);
      } catch {}
    }
  }
  for (const s of shimSockets) rmSync(s, { force: true });
  for (const id of sandboxIds) {
    if (!/^[0-9a-f]{64}$/.test(id)) continue;
    for (const f of listDir('/var/lib/cni/results')) if (f.includes(`-${id}-`)) rmSync(join('/var/lib/cni/results', f), { force: true });
  }
  for (const d of [...listDir(CGROUP_ROOT).map((c) => join(CGROUP_ROOT, c, NAMESPACE)), '/var/lib/cni/results', '/var/lib/cni']) {
    if (existedBefore.has(d) || !existsSync(d)) continue;
    try {
      rmdirSync(d); // only if empty: anything else in it is not ours to remove
    } catch {}
  }
  rmSync(p.base, { recursive: true, force: true });
}
