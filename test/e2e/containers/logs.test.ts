/**
 * CRI container logs end to end: real dockerd, real gRPC. The shim writes
 * `<log_directory>/<log_path>` itself, in the CRI format; reopens it after the kubelet's
 * rename; and resumes after a shim restart with no line lost or repeated.
 */
import { existsSync, readFileSync, renameSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sh, waitFor } from '../../helpers/pod-net.js';
import { containerSuite, type ContainerSuite } from './suite.js';

const ENTRY = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z) (stdout|stderr) ([FP]) (.*)$/s;

interface Entry {
  time: string;
  stream: string;
  tag: string;
  content: string;
}

function entries(path: string): Entry[] {
  const text = readFileSync(path, 'utf8');
  expect(text === '' || text.endsWith('\n')).toBe(true);
  return text
    .split('\n')
    .slice(0, -1)
    .map((line) => {
      const m = ENTRY.exec(line);
      if (!m) throw new Error(`not a CRI log line: ${JSON.stringify(line.slice(0, 80))}`);
      return { time: m[1]!, stream: m[2]!, tag: m[3]!, content: m[4]! };
    });
}

describe('container logs (CRI format)', () => {
  let s: ContainerSuite;

  beforeAll(async () => {
    s = await containerSuite(3, 'logs');
  });
  afterAll(async () => {
    await s?.teardown();
  });

  const logPath = (name: string) => join(s.podConfig.log_directory, name, '0.log');

  it('writes stdout and stderr lines in the exact CRI format; a 40 KiB line becomes P, P, F', async () => {
    const script = [
      'sleep 0.3', // the file must exist before the first line, when StartContainer returns
      'echo hello stdout',
      'echo hello stderr >&2',
      'echo',
      "echo '  spaced  out  '",
      'head -c 40960 /dev/zero | tr "\\0" x; echo',
      'printf no-newline-at-exit',
    ].join('; ');
    const id = await s.run('format', ['sh', '-c', script]);
    const path = logPath('format');
    expect(existsSync(path)).toBe(true);
    expect(statSync(path).size).toBe(0);
    await s.waitState(id, 'CONTAINER_EXITED');
    const got = await waitFor('all lines in the file', () => {
      const e = entries(path);
      return e.length === 8 ? e : undefined;
    });
    // The order within each stream is the container's; between streams it is dockerd's.
    const show = (e: Entry) => [e.tag, e.content.length > 50 ? `${e.content[0]}×${e.content.length}` : e.content];
    expect(got.filter((e) => e.stream === 'stdout').map(show)).toEqual([
      ['F', 'hello stdout'],
      ['F', ''],
      ['F', '  spaced  out  '],
      ['P', 'x×16384'],
      ['P', 'x×16384'],
      ['F', 'x×8192'],
      ['F', 'no-newline-at-exit'],
    ]);
    expect(got.filter((e) => e.stream === 'stderr').map(show)).toEqual([['F', 'hello stderr']]);
    const raw = readFileSync(path, 'utf8');
    // Byte for byte, as the kubelet parses it (an empty line still has the space after F).
    expect(raw).toMatch(/(^|\n)\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z stdout F hello stdout\n/);
    expect(raw).toMatch(/(^|\n)\S+ stderr F hello stderr\n/);
    expect(raw).toMatch(/\n\S+ stdout F \n/);
    // Times are Docker's (the same as `docker logs -t`), and the pieces of one line share theirs.
    const dockerTimes = sh('docker', ['logs', '-t', id]).split('\n').filter(Boolean).map((l) => l.split(' ')[0]);
    const out = got.filter((e) => e.stream === 'stdout');
    expect(out[0]!.time).toBe(dockerTimes[0]);
    expect(out[3]!.time).toBe(out[4]!.time);
    expect(out[4]!.time).toBe(out[5]!.time);
    expect((await s.t.call(s.t.runtime, 'ContainerStatus', { container_id: id })).status.log_path).toBe(path);
  });

  it('logs a TTY container (one raw stream, no frames) as stdout lines', async () => {
    const id = await s.run('tty', ['sh', '-c', 'echo first; echo second >&2; head -c 20000 /dev/zero | tr "\\0" t; echo'], { tty: true });
    await s.waitState(id, 'CONTAINER_EXITED');
    const got = await waitFor('the TTY lines', () => {
      const e = entries(logPath('tty'));
      return e.length === 4 ? e : undefined;
    });
    // The terminal turns "\n" into "\r\n"; both end the line, as in containerd.
    expect(got.map((e) => [e.stream, e.tag, e.content.length > 50 ? `${e.content[0]}×${e.content.length}` : e.content])).toEqual([
      ['stdout', 'F', 'first'],
      ['stdout', 'F', 'second'],
      ['stdout', 'P', 't×16384'],
      ['stdout', 'F', 't×3616'],
    ]);
  });

  it('ReopenContainerLog: after a rename, new lines land in a new file at the path; refused once the container stopped', async () => {
    const id = await s.run('reopen', ['sh', '-c', 'i=0; while true; do echo line $i; i=$((i+1)); sleep 0.05; done']);
    const path = logPath('reopen');
    await waitFor('a few lines', () => entries(path).length >= 5 || undefined);
    renameSync(path, `${path}.rotated`);
    await s.t.call(s.t.runtime, 'ReopenContainerLog', { container_id: id });
    expect(existsSync(path)).toBe(true);
    await waitFor('lines in the new file', () => entries(path).length >= 5 || undefined);
    await s.t.call(s.t.runtime, 'StopContainer', { container_id: id, timeout: '0' });
    await s.waitState(id, 'CONTAINER_EXITED');
    await new Promise((r) => setTimeout(r, 200));
    const numbers = [...entries(`${path}.rotated`), ...entries(path)].map((e) => Number(e.content.replace('line ', '')));
    // Together the two files hold every line once, in order, the old file first.
    expect(numbers).toEqual(numbers.map((_, i) => i));
    expect(entries(`${path}.rotated`).length).toBeGreaterThanOrEqual(5);
    await expect(s.t.call(s.t.runtime, 'ReopenContainerLog', { container_id: id })).rejects.toMatchObject({
      code: status.FAILED_PRECONDITION,
    });
    await expect(s.t.call(s.t.runtime, 'ReopenContainerLog', { container_id: 'f'.repeat(64) })).rejects.toMatchObject({
      code: status.NOT_FOUND,
    });
  });

  it('resumes across a shim restart mid-stream: no line lost, none repeated, on either stream', async () => {
    const id = await s.run('counter', ['sh', '-c', 'i=0; while true; do echo out $i; echo err $i >&2; i=$((i+1)); sleep 0.05; done']);
    const path = logPath('counter');
    await waitFor('lines before the restart', () => entries(path).length >= 20 || undefined);
    let atStop = 0;
    await s.restartShim(async () => {
      atStop = entries(path).length;
      // The container goes on printing while no shim listens.
      await new Promise((r) => setTimeout(r, 700));
      expect(entries(path).length).toBe(atStop);
    });
    await waitFor('lines after the restart', () => entries(path).length >= atStop + 40 || undefined);
    await s.t.call(s.t.runtime, 'StopContainer', { container_id: id, timeout: '0' });
    await s.waitState(id, 'CONTAINER_EXITED');
    const dockerLines = Number(sh('sh', ['-c', `docker logs ${id} 2>&1 | wc -l`]).trim());
    const got = await waitFor('every line Docker has', () => {
      const e = entries(path);
      return e.length >= dockerLines ? e : undefined;
    });
    expect(got.length).toBe(dockerLines);
    for (const stream of ['stdout', 'stderr']) {
      const prefix = stream === 'stdout' ? 'out ' : 'err ';
      const numbers = got.filter((e) => e.stream === stream).map((e) => Number(e.content.slice(prefix.length)));
      expect(numbers.length).toBeGreaterThanOrEqual(25);
      expect(numbers).toEqual(numbers.map((_, i) => i));
    }
    expect(got.every((e) => e.tag === 'F')).toBe(true);
  });

  it('resumes a line in pieces begun long before the restart: Docker stamps every piece with the first one\'s time', async () => {
    // stdout: a slow progress bar without a TTY (16 KiB pieces seconds apart, then its
    // end); stderr: a line every 50 ms, so the newest entry is seconds newer than the piece.
    const piece = (c: string) => `head -c 16384 /dev/zero | tr "\\0" ${c}`;
    const script = [
      '(i=0; while true; do echo err $i >&2; i=$((i+1)); sleep 0.05; done) & sleep 0.3',
      piece('a'),
      'sleep 2',
      piece('b'),
      'sleep 4',
      piece('c'),
      'echo end',
      'sleep 1000',
    ].join('; ');
    const id = await s.run('pieces', ['sh', '-c', script]);
    const path = logPath('pieces');
    const stdout = () => entries(path).filter((e) => e.stream === 'stdout');
    await waitFor('two pieces before the restart', () => stdout().length >= 2 || undefined, 10_000);
    await s.restartShim(async () => {
      await new Promise((r) => setTimeout(r, 700));
    });
    await waitFor('the end of the line after the restart', () => stdout().some((e) => e.tag === 'F') || undefined, 15_000);
    await s.t.call(s.t.runtime, 'StopContainer', { container_id: id, timeout: '0' });
    await s.waitState(id, 'CONTAINER_EXITED');
    const dockerErrLines = Number(sh('sh', ['-c', `docker logs ${id} 2>&1 >/dev/null | wc -l`]).trim());
    const got = await waitFor('every stderr line Docker has', () => {
      const e = entries(path);
      return e.filter((x) => x.stream === 'stderr').length >= dockerErrLines ? e : undefined;
    });
    const out = got.filter((e) => e.stream === 'stdout');
    expect(out.map((e) => [e.tag, e.content.length > 50 ? `${e.content[0]}×${e.content.length}` : e.content])).toEqual([
      ['P', 'a×16384'],
      ['P', 'b×16384'],
      ['P', 'c×16384'],
      ['F', 'end'],
    ]);
    expect(new Set(out.map((e) => e.time)).size).toBe(1);
    const numbers = got.filter((e) => e.stream === 'stderr').map((e) => Number(e.content.replace('err ', '')));
    expect(numbers.length).toBeGreaterThanOrEqual(80);
    expect(numbers).toEqual(numbers.map((_, i) => i));
    expect(numbers.length).toBe(dockerErrLines);
  });
});
