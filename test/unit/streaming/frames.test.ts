import { describe, expect, it } from 'vitest';
import {
  dataFrameHeader,
  FrameReader,
  goAwayFrame,
  parseControl,
  pingFrame,
  rstStreamFrame,
  SpdyProtocolError,
  synReplyFrame,
  synStreamFrame,
} from '../../../src/streaming/spdy/frames.js';

const control = (buf: Buffer) => {
  const [f] = new FrameReader().push(buf);
  if (!f?.control) throw new Error('not a control frame');
  return parseControl(f);
};

describe('SPDY/3 frames', () => {
  it('round-trips every frame we write', () => {
    expect(control(synStreamFrame(5, Buffer.from('hb'), 1))).toEqual({ type: 'SYN_STREAM', flags: 1, streamId: 5, associatedId: 0, priority: 0, headerBlock: Buffer.from('hb') });
    expect(control(synReplyFrame(2, Buffer.from('xy')))).toEqual({ type: 'SYN_REPLY', flags: 0, streamId: 2, headerBlock: Buffer.from('xy') });
    expect(control(rstStreamFrame(7, 5))).toEqual({ type: 'RST_STREAM', streamId: 7, status: 5 });
    expect(control(pingFrame(3))).toEqual({ type: 'PING', id: 3 });
    expect(control(goAwayFrame(9, 1))).toEqual({ type: 'GOAWAY', lastGoodStreamId: 9, status: 1 });
    const [data] = new FrameReader().push(Buffer.concat([dataFrameHeader(3, 4, true), Buffer.from('abcd')]));
    expect(data).toEqual({ control: false, streamId: 3, flags: 1, data: Buffer.from('abcd') });
  });

  it('keeps partial frames across chunks and cuts several frames out of one chunk', () => {
    const bytes = Buffer.concat([pingFrame(1), dataFrameHeader(1, 3, false), Buffer.from('abc'), goAwayFrame(1)]);
    for (const size of [1, 2, 7, 8, 9, bytes.length]) {
      const reader = new FrameReader();
      const frames = [];
      for (let at = 0; at < bytes.length; at += size) frames.push(...reader.push(bytes.subarray(at, at + size)));
      expect(frames.map((f) => (f.control ? f.type : 'data'))).toEqual([6, 'data', 7]);
      expect(reader.bufferedBytes).toBe(0);
    }
  });

  it('decodes SETTINGS and WINDOW_UPDATE, ignores unknown types, refuses other versions and short frames', () => {
    const frame = (version: number, type: number, payload: Buffer) => {
      const h = Buffer.alloc(8);
      h.writeUInt32BE((0x80000000 | (version << 16) | type) >>> 0);
      h.writeUIntBE(payload.length, 5, 3);
      return Buffer.concat([h, payload]);
    };
    const settings = Buffer.from([0, 0, 0, 1, 1, 0, 0, 7, 0, 0, 0x10, 0]);
    expect(control(frame(3, 4, settings))).toEqual({ type: 'SETTINGS', flags: 0, entries: [{ flags: 1, id: 7, value: 4096 }] });
    expect(control(frame(3, 9, Buffer.from([0, 0, 0, 1, 0, 1, 0, 0])))).toEqual({ type: 'WINDOW_UPDATE', streamId: 1, delta: 65536 });
    expect(control(frame(3, 42, Buffer.alloc(0)))).toEqual({ type: 'UNKNOWN', code: 42 });
    expect(() => control(frame(2, 6, Buffer.alloc(4)))).toThrow(SpdyProtocolError);
    expect(() => control(frame(3, 3, Buffer.alloc(4)))).toThrow(/too short/);
  });
});
