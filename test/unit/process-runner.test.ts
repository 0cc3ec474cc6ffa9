/**
 * The process runner: programs run from its helper process behave as run in-process
 * (environment, stdin, exit status, caps, timeout killing the process group), and a
 * helper that dies fails what it held and is replaced on the next request. Needs the
 * compiled helper (npm run build), as the shim itself does.
 */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { defaultHelperPath, ProcessRunner } from '../../src/process-runner/runner.js';
import type { ProcessRequest } from '../../src/process-runner/run-local.js';

const helperPath = defaultHelperPath();

function request(file: string, args: string[], extra: Partial<ProcessRequest> = {}): ProcessRequest {
  return {
    file,
    args,
    timeoutMs: 10_000,
    maxStdoutBytes: 1024,
    maxStderrBytes: 1024,
    detached: true,
    busyRetries: 0,
    busyDelayMs: 0,
    drainGraceMs: 200,
    ...extra,
  };
}

describe.runIf(helperPath !== null)('ProcessRunner (helper process)', () => {
  it('passes environment and stdin, returns stdout, stderr and the exit status, and caps output', async () => {
    const runner = new ProcessRunner(helperPath);
    try {
      const out = await runner.run(
        request('/bin/sh', ['-c', 'read line; echo "$FOO:$line" >&2; head -c 5000 /dev/zero; exit 3'], {
          env: { FOO: 'bar', PATH: '/usr/bin:/bin' },
          stdin: 'from-stdin\n',
        }),
      );
      expect(out.exitCode).toBe(3);
      // Output past the cap is dropped (whole chunks, as before the runner existed).
      expect(out.stdout.length).toBeLessThanOrEqual(1024);
      expect(out.stderr).toBe('bar:from-stdin\n');
      expect(out.timedOut).toBe(false);
      expect(runner.helperPid).toBeGreaterThan(0);
      expect(runner.helperPid).not.toBe(process.pid);
    } finally {
      runner.close();
    }
  });

  it('reports a program that cannot start, and kills the whole group on timeout', async () => {
    const runner = new ProcessRunner(helperPath);
    try {
      const missing = await runner.run(request('/nonexistent/plugin', []));
      expect(missing.spawnError?.code).toBe('ENOENT');
      const slow = await runner.run(request('/bin/sh', ['-c', 'sleep 30 & echo $!; wait'], { timeoutMs: 300 }));
      expect(slow.timedOut).toBe(true);
      const grandchild = Number(slow.stdout.trim());
      expect(grandchild).toBeGreaterThan(0);
      // SIGKILL to the group is delivered at once; the grandchild may linger a moment as init's zombie.
      const state = () => {
        try {
          return execFileSync('ps', ['-o', 'stat=', '-p', String(grandchild)], { encoding: 'utf8' }).trim()[0] ?? 'gone';
        } catch {
          return 'gone';
        }
      };
      for (let i = 0; i < 50 && !['gone', 'Z'].includes(state()); i++) await new Promise((r) => setTimeout(r, 20));
      expect(['gone', 'Z']).toContain(state());
    } finally {
      runner.close();
    }
  });

  it('fails the requests of a helper that died, and starts a new helper for the next one', async () => {
    const runner = new ProcessRunner(helperPath);
    try {
      const pending = runner.run(request('/bin/sleep', ['5']));
      await new Promise((r) => setTimeout(r, 100));
      const first = runner.helperPid!;
      process.kill(first, 'SIGKILL');
      const failed = await pending;
      expect(failed.spawnError?.message).toMatch(/helper exited/);
      const next = await runner.run(request('/bin/echo', ['again']));
      expect(next.stdout).toBe('again\n');
      expect(runner.helperPid).not.toBe(first);
    } finally {
      runner.close();
    }
  });
});
