import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { ChannelMux } from '../../../src/streaming/ws-channels.js';

/** Just enough of a ws WebSocket for the mux: message events, pause/resume. */
function fakeSocket() {
  const ws = new EventEmitter() as EventEmitter & { pause(): void; resume(): void; send(): void; paused: boolean };
  ws.paused = false;
  ws.pause = () => (ws.paused = true);
  ws.resume = () => (ws.paused = false);
  ws.send = () => undefined;
  return ws;
}

describe('ChannelMux', () => {
  it('ignores data on a channel after its v5 close signal, even in the same tick (no crash)', async () => {
    const ws = fakeSocket();
    const mux = new ChannelMux(ws as never, { channels: 5, closeSignal: true });
    const got: Buffer[] = [];
    const ended = new Promise<void>((resolve) => mux.reader(0).on('data', (d: Buffer) => got.push(d)).on('end', resolve));
    ws.emit('message', Buffer.from([0, 0x61]), true);
    ws.emit('message', Buffer.from([255, 0]), true);
    // Before the reader could emit 'end': this push used to throw ERR_STREAM_PUSH_AFTER_EOF.
    expect(() => ws.emit('message', Buffer.from([0, 0x78]), true)).not.toThrow();
    await ended;
    expect(Buffer.concat(got).toString()).toBe('a');
  });

  it('pauses the socket while a channel reader is full and resumes when it is read', () => {
    const ws = fakeSocket();
    const mux = new ChannelMux(ws as never, { channels: 1, closeSignal: false });
    ws.emit('message', Buffer.concat([Buffer.from([0]), Buffer.alloc(300 * 1024)]), true);
    expect(ws.paused).toBe(true);
    mux.reader(0).read();
    expect(ws.paused).toBe(false);
  });
});
