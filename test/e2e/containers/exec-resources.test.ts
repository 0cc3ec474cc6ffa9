/**
 * ExecSync, UpdateContainerResources and OOMKilled end to end: real dockerd, real gRPC,
 * the container's own cgroup v1 files and the host's /proc as witnesses. Also crictl
 * 1.32's captured `exec -s` and `update` requests, replayed.
 */
import { existsSync, readFileSync } from 'node:fs';
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDockerClient } from '../../../src/runtime/docker.js';
import { execSync } from '../../../src/runtime/exec-sync.js';
import { silentLogger } from '../../../src/logger.js';
import { sh, waitFor } from '../../helpers/pod-net.js';
import { cgroupFile, containerSuite, type ContainerSuite } from './suite.js';
import { capturedRequest } from '../../helpers/crictl.js';

const FIXTURE_CONTAINER = 'container0123456789abcdef';


/** Host pids of the container's processes running `comm`, from `docker top`. */
function topPids(containerId: string, cmdline: string): number[] {
  return sh('docker', ['top', containerId, '-o', 'pid,args'])
    .split('\n')
    .slice(1)
    .filter((l) => l.includes(cmdline))
    .map((l) => Number(l.trim().split(/\s+/)[0]));
}

/** Gone from the host: no process, not even a zombie waiting to be reaped. */
function processGone(pid: number): boolean {
  if (!existsSync(`/proc/${pid}/stat`)) return true;
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // A recycled pid would be some other program; a zombie of ours shows state Z.
  return !/\((sleep|sh)\) /.test(stat);
}

describe('ExecSync, UpdateContainerResources, OOMKilled', () => {
  let s: ContainerSuite;
  let sleeper = '';
  const exec = (cmd: string[], timeout = 10) => s.t.call(s.t.runtime, 'ExecSync', { container_id: sleeper, cmd, timeout: String(timeout) });

  beforeAll(async () => {
    s = await containerSuite(4, 'exec');
    sleeper = await s.run('sleeper', ['sleep', '3600']);
  });
  afterAll(async () => {
    await s?.teardown();
  });

  it('returns stdout, stderr and the exit code', async () => {
    const ok = await exec(['sh', '-c', 'echo to-out; echo to-err >&2; printf "\\000\\001binary"']);
    expect(ok.exit_code).toBe(0);
    expect(ok.stdout).toEqual(Buffer.from('to-out\n\x00\x01binary'));
    expect(ok.stderr).toEqual(Buffer.from('to-err\n'));
    const failed = await exec(['sh', '-c', 'echo nope >&2; exit 3']);
    expect(failed).toMatchObject({ exit_code: 3, stdout: Buffer.alloc(0), stderr: Buffer.from('nope\n') });
    expect((await exec(['false'])).exit_code).toBe(1);
    // As Docker reports it: 126 with the runtime's message, not a gRPC error.
    const missing = await exec(['/no/such/binary']);
    expect(missing.exit_code).toBe(126);
    expect(missing.stdout.toString()).toContain('no such file or directory');
  });

  it('caps each stream (16 MiB through gRPC; shown here with a small cap on the runtime call)', async () => {
    const docker = createDockerClient('unix:///var/run/docker.sock');
    const res = await execSync(docker, silentLogger, sleeper, ['sh', '-c', 'head -c 5000 /dev/zero; head -c 3000 /dev/zero >&2; echo done >&2'], {
      timeoutMs: 10_000,
      maxOutputBytes: 1000,
    });
    expect(res).toMatchObject({ exitCode: 0 });
    expect(res.stdout.length).toBe(1000);
    expect(res.stderr.length).toBe(1000);
  });

  it('answers a command with more output than one gRPC message holds (17 MiB + stderr): exit code and truncated output', async () => {
    const res = await exec(['sh', '-c', 'head -c 17825792 /dev/zero; echo err >&2']);
    expect(res.exit_code).toBe(0);
    expect(res.stdout.length).toBe(16 * 1024 * 1024 - 64 * 1024);
    expect(res.stderr.length).toBe(0);
  });

  it('kills a command that outlives its timeout and answers DEADLINE_EXCEEDED; no process or zombie remains', async () => {
    const started = Date.now();
    // The bare command, and one whose shell waits on a child (the child must die too).
    const calls = [exec(['sleep', '60'], 2), exec(['sh', '-c', 'sleep 61; echo never'], 2)];
    const pids = await waitFor('both commands running', () => {
      const a = topPids(sleeper, 'sleep 60');
      const b = topPids(sleeper, 'sleep 61');
      const shell = topPids(sleeper, 'sh -c sleep 61');
      return a.length && b.length && shell.length ? [...a, ...b, ...shell] : undefined;
    });
    for (const call of calls) await expect(call).rejects.toMatchObject({ code: status.DEADLINE_EXCEEDED });
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(1900);
    expect(elapsed).toBeLessThan(8000);
    expect(topPids(sleeper, 'sleep 6')).toEqual([]);
    for (const pid of pids) expect(processGone(pid)).toBe(true);
    // Nothing left as a zombie inside the container either.
    expect(sh('docker', ['top', sleeper, '-o', 'pid,stat,args'])).not.toMatch(/\sZ/);
    // The container itself is untouched.
    expect((await exec(['true'])).exit_code).toBe(0);
  });

  it('answers a command with no timeout soon after its container is stopped under it', async () => {
    const victim = await s.run('victim', ['sleep', '3600']);
    const started = Date.now();
    const pending = s.t.call(s.t.runtime, 'ExecSync', { container_id: victim, cmd: ['sleep', '600'], timeout: '0' }).then(
      (r: any) => ({ exitCode: r.exit_code as number }),
      (err: any) => ({ code: err.code as number }),
    );
    await new Promise((r) => setTimeout(r, 1000));
    await s.t.call(s.t.runtime, 'StopContainer', { container_id: victim, timeout: '0' });
    const outcome = await pending;
    // Killed with its container (137), or refused as the container exited: never a success, never a hang.
    expect(outcome).not.toEqual({ exitCode: 0 });
    if ('code' in outcome) expect(outcome.code).toBe(status.FAILED_PRECONDITION);
    expect(Date.now() - started).toBeLessThan(20_000);
  });

  it('refuses bad requests and containers that do not run', async () => {
    await expect(exec([])).rejects.toMatchObject({ code: status.INVALID_ARGUMENT });
    await expect(s.t.call(s.t.runtime, 'ExecSync', { container_id: 'f'.repeat(64), cmd: ['true'] })).rejects.toMatchObject({
      code: status.NOT_FOUND,
    });
    const done = await s.run('done', ['true']);
    await s.waitState(done, 'CONTAINER_EXITED');
    await expect(s.t.call(s.t.runtime, 'ExecSync', { container_id: done, cmd: ['true'] })).rejects.toMatchObject({
      code: status.FAILED_PRECONDITION,
    });
    await expect(
      s.t.call(s.t.runtime, 'UpdateContainerResources', { container_id: done, linux: { cpu_shares: '100' } }),
    ).rejects.toMatchObject({ code: status.FAILED_PRECONDITION });
  });

  it('applies new CPU, cpuset and memory limits to a running container (its cgroup files) and shows them in ContainerStatus', async () => {
    const id = await s.run('limits', ['sleep', '3600'], {
      linux: { resources: { cpu_shares: '512', cpu_period: '100000', cpu_quota: '50000', memory_limit_in_bytes: String(32 << 20) } },
    });
    expect(cgroupFile(id, 'cpu', 'cpu.shares')).toBe('512');
    expect(cgroupFile(id, 'memory', 'memory.limit_in_bytes')).toBe(String(32 << 20));
    const before = mainPidOf(id);
    await s.t.call(s.t.runtime, 'UpdateContainerResources', {
      container_id: id,
      linux: { cpu_shares: '256', cpu_period: '50000', cpu_quota: '20000', memory_limit_in_bytes: String(96 << 20), cpuset_cpus: '0', cpuset_mems: '0' },
    });
    expect(cgroupFile(id, 'cpu', 'cpu.shares')).toBe('256');
    expect(cgroupFile(id, 'cpu', 'cpu.cfs_period_us')).toBe('50000');
    expect(cgroupFile(id, 'cpu', 'cpu.cfs_quota_us')).toBe('20000');
    expect(cgroupFile(id, 'memory', 'memory.limit_in_bytes')).toBe(String(96 << 20));
    expect(cgroupFile(id, 'cpuset', 'cpuset.cpus')).toBe('0');
    // Live: the same process, not a restarted container.
    expect(mainPidOf(id)).toBe(before);
    const st = await s.t.call(s.t.runtime, 'ContainerStatus', { container_id: id });
    expect(st.status.state).toBe('CONTAINER_RUNNING');
    expect(st.status.resources.linux).toMatchObject({
      cpu_shares: '256',
      cpu_period: '50000',
      cpu_quota: '20000',
      memory_limit_in_bytes: String(96 << 20),
      cpuset_cpus: '0',
      cpuset_mems: '0',
    });
    // Fields left at 0 keep their value.
    await s.t.call(s.t.runtime, 'UpdateContainerResources', { container_id: id, linux: { cpu_shares: '128' } });
    expect(cgroupFile(id, 'cpu', 'cpu.shares')).toBe('128');
    expect(cgroupFile(id, 'cpu', 'cpu.cfs_quota_us')).toBe('20000');
    expect(cgroupFile(id, 'memory', 'memory.limit_in_bytes')).toBe(String(96 << 20));
    await expect(
      s.t.call(s.t.runtime, 'UpdateContainerResources', { container_id: id, linux: { cpu_quota: '10' } }),
    ).rejects.toMatchObject({ code: status.INVALID_ARGUMENT });
  });

  it('shows OOMKilled with exit code 137 for a container over its memory limit', async () => {
    const id = await s.run('oom', ['sh', '-c', 'head -c 100m /dev/zero | tail'], {
      linux: { resources: { memory_limit_in_bytes: String(32 << 20) } },
    });
    const st = await s.waitState(id, 'CONTAINER_EXITED', 20_000);
    expect(st).toMatchObject({ reason: 'OOMKilled', exit_code: 137 });
    const listed = await s.t.call(s.t.runtime, 'ListContainers', { filter: { id } });
    expect(listed.containers[0].state).toBe('CONTAINER_EXITED');
  });

  describe('crictl 1.32 requests, replayed', () => {
    it('exec -s (26-ExecSync): ls -la / with a 5 s timeout', async () => {
      const req = capturedRequest('26-ExecSync');
      expect(req).toMatchObject({ container_id: FIXTURE_CONTAINER, cmd: ['ls', '-la', '/'], timeout: '5' });
      req.container_id = sleeper;
      const res = await s.t.call(s.t.runtime, 'ExecSync', req);
      expect(res.exit_code).toBe(0);
      expect(res.stdout.toString()).toMatch(/ bin\n/);
      expect(res.stderr.length).toBe(0);
    });

    it('update (40-UpdateContainerResources): quota 20000, shares 256, memory 64 MiB', async () => {
      const id = await s.run('replay-update', ['sleep', '3600'], { linux: { resources: { memory_limit_in_bytes: String(32 << 20) } } });
      const req = capturedRequest('40-UpdateContainerResources');
      expect(req.container_id).toBe(FIXTURE_CONTAINER);
      req.container_id = id;
      await s.t.call(s.t.runtime, 'UpdateContainerResources', req);
      expect(cgroupFile(id, 'cpu', 'cpu.cfs_quota_us')).toBe('20000');
      expect(cgroupFile(id, 'cpu', 'cpu.shares')).toBe('256');
      expect(cgroupFile(id, 'memory', 'memory.limit_in_bytes')).toBe('67108864');
      const st = await s.t.call(s.t.runtime, 'ContainerStatus', { container_id: id });
      expect(st.status.resources.linux).toMatchObject({ cpu_quota: '20000', cpu_shares: '256', memory_limit_in_bytes: '67108864' });
    });
  });
});

function mainPidOf(id: string): number {
  return Number(sh('docker', ['inspect', '-f', '{{.State.Pid}}', id]).trim());
}
