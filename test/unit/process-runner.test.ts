/**
 * The process runner: programs run from its helper process behave as run in-process
 * (environment, stdin, exit status, caps, timeout killing the process group), and a
 * helper that dies fails what it held and is replaced on the next request. The C helper
 * is built here (hack/build-runner.sh, a no-op when up to date): without it every test
 * fails rather than skips.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultHelperPath, ProcessRunner } from '../../src/process-runner/runner.js';
import { runLocal, type ProcessRequest } from '../../src/process-runner/run-local.js';
import { MAX_FRAME_BYTES } from '../../src/process-runner/frames.js';

let helperPath: string | null = null;
let scratch = '';

beforeAll(() => {
  execFileSync('bash', [join(import.meta.dirname, '..', '..', 'hack', 'build-runner.sh')], { stdio: 'inherit' });
  helperPath = defaultHelperPath();
  if (!helperPath) throw new Error('hack/build-runner.sh built no dist/process-runner/cri-shim-runner');
  scratch = mkdtempSync(join(tmpdir(), 'cri-shim-runner-test-'));
});

afterAll(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

/** Whether a pid is gone or only a zombie (SIGKILL is delivered at once; init reaps a moment later). */
function deadSoon(pid: number): Promise<string> {
  const state = () => {
    try {
      return execFileSync('ps', ['-o', 'stat=', '-p', String(pid)], { encoding: 'utf8' }).trim()[0] ?? 'gone';
    } catch {
      return 'gone';
    }
  };
  return (async () => {
    for (let i = 0; i < 100 && !['gone', 'Z'].includes(state()); i++) await new Promise((r) => setTimeout(r, 20));
    return ['gone', 'Z'].includes(state()) ? 'dead' : 'alive';
  })();
}

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

describe('ProcessRunner (helper process)', () => {
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
      expect(await deadSoon(grandchild)).toBe('dead');
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

  it('gives the outcomes runLocal gives: start failures, PATH search, scripts, signals, fds and signal state', async () => {
    const runner = new ProcessRunner(helperPath);
    try {
      const notExec = join(scratch, 'not-executable');
      writeFileSync(notExec, '#!/bin/sh\necho no\n');
      const noShebang = join(scratch, 'no-shebang');
      writeFileSync(noShebang, 'echo "plain script $1"\n');
      chmodSync(noShebang, 0o755);
      const cases: ProcessRequest[] = [
        request('/nonexistent/plugin', []),
        request('no-such-program-here', [], { env: { PATH: '/usr/bin:/bin' } }),
        request(notExec, []),
        request(scratch, []),
        request(noShebang, ['arg']),
        request('true', [], { env: {} }),
        request('sh', ['-c', 'echo "$0"'], { env: { PATH: `/nonexistent:${scratch}:/bin` } }),
        request('/bin/sh', ['-c', 'kill -ABRT $$']),
        request('/bin/sh', ['-c', 'kill -IO $$']),
        request('/bin/sh', ['-c', 'kill -TERM $$'], { detached: false }),
        request('/bin/grep', ['-E', '^Sig(Blk|Ign|Cgt)', '/proc/self/status'], { maxStdoutBytes: 4096 }),
      ];
      for (const req of cases) {
        const [viaHelper, local] = await Promise.all([runner.run(req), runLocal(req)]);
        expect({ file: req.file, ...viaHelper }).toEqual({ file: req.file, ...local });
      }
      const missing = await runner.run(cases[0]!);
      expect(missing.spawnError).toEqual({ message: 'spawn /nonexistent/plugin ENOENT', code: 'ENOENT' });
      expect((await runner.run(cases[2]!)).spawnError?.code).toBe('EACCES');
      expect((await runner.run(cases[7]!)).signal).toBe('SIGABRT');
      // Only 0/1/2 reach the program (3 is ls's own directory). Not compared with runLocal:
      // the test runner's own process leaks an fd into what it spawns.
      expect((await runner.run(request('/bin/ls', ['/proc/self/fd']))).stdout).toBe('0\n1\n2\n3\n');
    } finally {
      runner.close();
    }
  });

  it('passes environment values with "=" and UTF-8 exactly, and only them', async () => {
    const runner = new ProcessRunner(helperPath);
    try {
      const env = { A: 'x=y=z', 'B=C': 'key with =', U: 'héllo ✓ 日本 🚀', EMPTY: '' };
      const req = request('/usr/bin/env', [], { env, maxStdoutBytes: 4096 });
      const out = await runner.run(req);
      expect(out.stdout.split('\n').filter(Boolean).sort()).toEqual(['A=x=y=z', 'B=C=key with =', 'EMPTY=', 'U=héllo ✓ 日本 🚀']);
      expect(out).toEqual(await runLocal(req));
      // No environment given: the shim's own, as runLocal passes it.
      const sorted = (o: { stdout: string }) => o.stdout.split('\n').sort();
      const inherited = request('/usr/bin/env', [], { maxStdoutBytes: 1024 * 1024 });
      expect(sorted(await runner.run(inherited))).toEqual(sorted(await runLocal(inherited)));
    } finally {
      runner.close();
    }
  });

  it('caps output by whole chunks as runLocal does, and carries several MB of stdout and stdin', async () => {
    const runner = new ProcessRunner(helperPath);
    try {
      const capped = request('/bin/sh', ['-c', 'printf 0123456789 >&2; printf abc'], { maxStderrBytes: 5, maxStdoutBytes: 3 });
      const out = await runner.run(capped);
      expect(out).toEqual({ stdout: 'abc', stderr: '', exitCode: 0, signal: null, timedOut: false });
      expect(out).toEqual(await runLocal(capped));

      const big = await runner.run(
        request('/bin/sh', ['-c', "head -c 5000000 /dev/zero | tr '\\0' a"], { maxStdoutBytes: 8 * 1024 * 1024 }),
      );
      expect(big.exitCode).toBe(0);
      expect(big.stdout.length).toBe(5_000_000);
      expect(big.stdout.replaceAll('a', '')).toBe('');

      const input = 'line of stdin ✓\n'.repeat(200_000);
      const echoed = await runner.run(request('/bin/cat', [], { stdin: input, maxStdoutBytes: 8 * 1024 * 1024 }));
      expect(echoed.exitCode).toBe(0);
      expect(echoed.stdout === input).toBe(true);

      // A program that exits without reading a large stdin is no failure.
      const ignores = await runner.run(request('/bin/true', [], { stdin: input }));
      expect(ignores).toEqual({ stdout: '', stderr: '', exitCode: 0, signal: null, timedOut: false });
    } finally {
      runner.close();
    }
  });

  it('on timeout kills only the child when not detached; a grandchild holding stdout delays the answer by the grace only', async () => {
    const runner = new ProcessRunner(helperPath);
    try {
      const out = await runner.run(
        request('/bin/sh', ['-c', 'sleep 30 & echo $!; wait'], { timeoutMs: 300, detached: false, drainGraceMs: 100 }),
      );
      expect(out.timedOut).toBe(true);
      expect(out.signal).toBe('SIGKILL');
      const grandchild = Number(out.stdout.trim());
      expect(grandchild).toBeGreaterThan(0);
      // Not in the killed child's group: it survived the timeout. The test ends it.
      let alive = true;
      try {
        process.kill(grandchild, 0);
      } catch {
        alive = false;
      }
      expect(alive).toBe(true);
      process.kill(grandchild, 'SIGKILL');
    } finally {
      runner.close();
    }
  });

  it('retries a program that is "text file busy", and reports ETXTBSY as Node does when retries run out', async () => {
    const runner = new ProcessRunner(helperPath);
    const busy = join(scratch, 'busy-true');
    copyFileSync('/bin/true', busy);
    chmodSync(busy, 0o755);
    const writer = openSync(busy, 'r+');
    let open = true;
    try {
      const noRetry = request(busy, [], { busyRetries: 0 });
      const failed = await runner.run(noRetry);
      expect(failed.spawnError).toEqual({ message: 'spawn ETXTBSY', code: 'ETXTBSY' });
      expect(failed).toEqual(await runLocal(noRetry));
      const retried = runner.run(request(busy, [], { busyRetries: 30, busyDelayMs: 20 }));
      setTimeout(() => {
        closeSync(writer);
        open = false;
      }, 150);
      const out = await retried;
      expect(out.spawnError).toBeUndefined();
      expect(out.exitCode).toBe(0);
    } finally {
      if (open) closeSync(writer);
      runner.close();
    }
  });

  it('runs 50 requests at once and answers each with its own output', async () => {
    const runner = new ProcessRunner(helperPath);
    try {
      const outs = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          runner.run(request('/bin/sh', ['-c', 'read x; sleep 0.2; echo "$N:$x"; echo "err$N" >&2; exit $((N % 7))'], { env: { N: String(i) }, stdin: `in${i}\n` })),
        ),
      );
      outs.forEach((out, i) => {
        expect(out).toEqual({ stdout: `${i}:in${i}\n`, stderr: `err${i}\n`, exitCode: i % 7, signal: null, timedOut: false });
      });
      // No zombies left behind by the helper.
      const children = execFileSync('ps', ['-o', 'stat=', '--ppid', String(runner.helperPid)], { encoding: 'utf8' }).trim();
      expect(children).toBe('');
    } catch (err) {
      if ((err as { status?: number }).status === 1) return; // ps: no children at all
      throw err;
    } finally {
      runner.close();
    }
  });

  it('leaves NUL in a string to Node (its own error), and refuses a request above the frame limit without sending it', async () => {
    const runner = new ProcessRunner(helperPath);
    try {
      const nul = request('/bin/echo', ['a\0b']);
      const out = await runner.run(nul);
      expect(out.spawnError?.code).toBe('ERR_INVALID_ARG_VALUE');
      expect(out).toEqual(await runLocal(nul));
      const huge = await runner.run(request('/bin/true', [], { stdin: 'a'.repeat(MAX_FRAME_BYTES) }));
      expect(huge.spawnError?.message).toMatch(/exceeds \d+ bytes/);
      expect(runner.helperPid).toBeUndefined();
    } finally {
      runner.close();
    }
  });

  it('fails every request a killed helper held', async () => {
    const runner = new ProcessRunner(helperPath);
    try {
      const pending = [1, 2, 3].map(() => runner.run(request('/bin/sleep', ['5'])));
      await new Promise((r) => setTimeout(r, 100));
      process.kill(runner.helperPid!, 'SIGKILL');
      for (const out of await Promise.all(pending)) {
        expect(out.spawnError?.message).toMatch(/helper exited \(SIGKILL\)/);
        expect(out.exitCode).toBeNull();
      }
      expect((await runner.run(request('/bin/echo', ['ok']))).stdout).toBe('ok\n');
    } finally {
      runner.close();
    }
  });
});

describe('cri-shim-runner (the binary)', () => {
  it('finishes what runs when its stdin ends, then exits 0', async () => {
    const { spawn } = await import('node:child_process');
    const { encodeRequest, FrameReader, decodeAnswer } = await import('../../src/process-runner/frames.js');
    const child = spawn(helperPath!, [], { stdio: ['pipe', 'pipe', 'pipe'] });
    const reader = new FrameReader();
    const answers: string[] = [];
    child.stdout.on('data', (c: Buffer) => {
      for (const body of reader.push(c)) answers.push(decodeAnswer(body, () => '/bin/sh').outcome.stdout);
    });
    child.stdin.end(encodeRequest(7, request('/bin/sh', ['-c', 'sleep 0.2; echo done'], { env: {} })));
    const code = await new Promise((r) => child.on('close', r));
    expect(code).toBe(0);
    expect(answers).toEqual(['done\n']);
  });

  it('refuses a malformed frame: says so on stderr and exits non-zero', () => {
    const frame = Buffer.alloc(4 + 60, 0xff);
    frame.writeUInt32LE(60, 0);
    let status = 0;
    let stderr = '';
    try {
      execFileSync(helperPath!, [], { input: frame, stdio: ['pipe', 'pipe', 'pipe'] });
    } catch (err) {
      status = (err as { status: number }).status;
      stderr = String((err as { stderr: Buffer }).stderr);
    }
    expect(status).toBe(2);
    expect(stderr).toMatch(/cri-shim-runner: malformed request/);
    const oversized = Buffer.alloc(4);
    oversized.writeUInt32LE(0xfffffff0, 0);
    expect(() => execFileSync(helperPath!, [], { input: oversized, stdio: ['pipe', 'pipe', 'pipe'] })).toThrow(/frame size/);
  });
});
