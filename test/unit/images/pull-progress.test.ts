import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { InBandPullError, PullProgress, readPullStream, type PullEvent } from '../../../src/runtime/images/pull-progress.js';

const lines = (...evs: object[]) => evs.map((e) => JSON.stringify(e) + '\n').join('');

describe('readPullStream', () => {
  it('reads JSON lines split across chunks', async () => {
    const text = lines({ status: 'Pulling from x', id: '1' }, { status: 'Downloading', id: 'aaaaaaaaaaaa' }, { status: 'Status: done' });
    const chunks = [text.slice(0, 7), text.slice(7, 40), text.slice(40)];
    const seen: PullEvent[] = [];
    await readPullStream(Readable.from(chunks.map((c) => Buffer.from(c))), (ev) => seen.push(ev));
    expect(seen.map((e) => e.status)).toEqual(['Pulling from x', 'Downloading', 'Status: done']);
  });

  it('fails on an in-band error event even though the HTTP status was 200', async () => {
    const text = lines({ status: 'Downloading', id: 'aaaaaaaaaaaa' }, { errorDetail: { message: 'unexpected EOF' }, error: 'unexpected EOF' }, { status: 'never seen' });
    const seen: PullEvent[] = [];
    await expect(readPullStream(Readable.from([text]), (ev) => seen.push(ev))).rejects.toThrow(InBandPullError);
    expect(seen).toHaveLength(1);
  });

  it('fails when the stream breaks', async () => {
    const broken = new Readable({ read() { this.destroy(new Error('socket hang up')); } });
    await expect(readPullStream(broken, () => {})).rejects.toThrow('socket hang up');
  });
});

describe('PullProgress', () => {
  it('logs summed layer progress at most once per interval', () => {
    const logged: any[] = [];
    const logger = pino({ level: 'info' }, { write: (s: string) => logged.push(JSON.parse(s)) });
    let t = 0;
    const p = new PullProgress(logger, 1000, () => t);
    for (let i = 1; i <= 500; i++) {
      t = i * 5; // 500 events over 2.5 s
      p.onEvent({ status: 'Downloading', id: 'aaaaaaaaaaaa', progressDetail: { current: i * 10, total: 5000 } });
    }
    p.onEvent({ status: 'Already exists', id: 'bbbbbbbbbbbb' });
    expect(logged.map((l) => l.msg)).toEqual(['pulling', 'pulling']);
    expect(logged[1]).toMatchObject({ layers: 1, bytes: 4000, totalBytes: 5000 });
    expect(p.summary()).toMatchObject({ layers: 2, layersDone: 1, bytes: 5000, totalBytes: 5000, events: 501 });
  });
});
