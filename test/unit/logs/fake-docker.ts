/**
 * A fake dockerd for the log writer tests: one container whose "json-file" is an array,
 * and a logs endpoint with `since` (inclusive, nanoseconds) and `follow`, as dockerd 20.10.
 */
import { PassThrough } from 'node:stream';
import type Docker from 'dockerode';
import { formatTimestamp } from '../../../src/runtime/logs/cri-format.js';

export interface Stored {
  ts: bigint;
  stream: 1 | 2;
  bytes: Buffer;
}

/** A container whose output dockerd keeps, and a logs endpoint with `since` and `follow`. */
export class FakeContainer {
  readonly messages: Stored[] = [];
  running = true;
  private readonly followers = new Set<{ out: PassThrough; since: bigint }>();
  logsCalls: string[] = [];
  /** Errors the next logs calls fail with (dockerd refusing). */
  failLogs: Error[] = [];
  clock = 1714557600000000000n;

  emit(stream: 1 | 2, text: string | Buffer, ts?: bigint): void {
    this.clock += 1000n;
    const m: Stored = { ts: ts ?? this.clock, stream, bytes: typeof text === 'string' ? Buffer.from(text) : text };
    this.messages.push(m);
    for (const f of this.followers) if (m.ts >= f.since) f.out.write(frame(m));
  }

  /** Moves the clock on (Docker stamps with the wall clock). */
  advance(ns: bigint): void {
    this.clock += ns;
  }

  stop(): void {
    this.running = false;
    this.breakFollows();
  }

  /** Ends every follow (dockerd restarting) while the container may run on. */
  breakFollows(): void {
    for (const f of this.followers) f.out.end();
    this.followers.clear();
  }

  api = {
    logs: async (opts: { since: string; follow: boolean }) => {
      this.logsCalls.push(opts.since);
      const fail = this.failLogs.shift();
      if (fail) throw fail;
      const [sec, nsec = '0'] = String(opts.since).split('.');
      const since = BigInt(sec!) * 1_000_000_000n + BigInt(nsec.padEnd(9, '0'));
      const replay = this.messages.filter((m) => m.ts >= since).map(frame);
      // As dockerode: without follow, the whole answer as one Buffer.
      if (!opts.follow) return Buffer.concat(replay);
      const out = new PassThrough();
      for (const f of replay) out.write(f);
      if (this.running) {
        const f = { out, since };
        this.followers.add(f);
        out.on('close', () => this.followers.delete(f));
      } else out.end();
      return out;
    },
    inspect: async () => ({ State: { Running: this.running } }),
  };

  get docker(): Docker {
    return { getContainer: () => this.api } as unknown as Docker;
  }
}

export function frame(m: Stored): Buffer {
  const payload = Buffer.concat([Buffer.from(`${formatTimestamp(m.ts)} `), m.bytes]);
  const h = Buffer.alloc(8);
  h[0] = m.stream;
  h.writeUInt32BE(payload.length, 4);
  return Buffer.concat([h, payload]);
}

export const tick = (ms = 30) => new Promise((r) => setTimeout(r, ms));
