import { constants, inflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { adler32, SPDY3_DICTIONARY } from '../../../src/streaming/spdy/dictionary.js';
import { decodeHeaderBlock, encodeHeaderBlock, HeaderCompressor, HeaderDecompressor, type SpdyHeaders } from '../../../src/streaming/spdy/header-block.js';
import { readCapture, splitHead } from '../../helpers/streaming-captures.js';

describe('SPDY/3 header blocks', () => {
  it('has the 1423-byte dictionary whose Adler-32 the captured zlib streams name', () => {
    expect(SPDY3_DICTIONARY.length).toBe(1423);
    // The first header block of a direction starts with the zlib header: 78 xx, then DICTID.
    const { rest } = splitHead(readCapture('exec-nontty', 'server.bin'));
    const firstBlock = rest.subarray(8 + 4); // control frame header + SYN_REPLY stream id
    expect(firstBlock[0]).toBe(0x78);
    expect(firstBlock.readUInt32BE(2)).toBe(adler32(SPDY3_DICTIONARY));
    expect(adler32(Buffer.from('Wikipedia'))).toBe(0x11e60398);
  });

  it('encodes and decodes name/value pairs, lower-casing names; repeated names join with NUL', () => {
    const block = encodeHeaderBlock({ StreamType: 'error', port: '80', requestid: '0' });
    expect(decodeHeaderBlock(block)).toEqual({ streamtype: 'error', port: '80', requestid: '0' });
    const twice = Buffer.concat([
      Buffer.from([0, 0, 0, 2]),
      ...['a', '1', 'a', '2'].map((s) => Buffer.concat([Buffer.from([0, 0, 0, s.length]), Buffer.from(s)])),
    ]);
    expect(decodeHeaderBlock(twice)).toEqual({ a: '1\u00002' });
    expect(decodeHeaderBlock(encodeHeaderBlock({}))).toEqual({});
  });

  it('rejects truncated blocks', () => {
    const block = encodeHeaderBlock({ streamtype: 'stdout' });
    for (const cut of [0, 3, 6, block.length - 1]) expect(() => decodeHeaderBlock(block.subarray(0, cut))).toThrow(/truncated/);
  });

  it('our compressor writes one zlib stream of stored blocks that any inflater reads block by block', async () => {
    const compressor = new HeaderCompressor();
    const blocks = ([{ streamtype: 'error' }, {}, { big: 'x'.repeat(70_000) }, { port: '8080', requestid: '7' }] as SpdyHeaders[]).map(encodeHeaderBlock);
    const wire = blocks.map((b) => compressor.compress(b));
    // Each block ends with the empty stored block of a sync flush.
    for (const w of wire) expect(w.subarray(-5)).toEqual(Buffer.from([0, 0, 0, 0xff, 0xff]));
    const decompressor = new HeaderDecompressor();
    for (let i = 0; i < blocks.length; i++) expect((await decompressor.decompress(wire[i]!)).equals(blocks[i]!)).toBe(true);
    decompressor.close();
    // A fresh one-shot inflate of the concatenation agrees.
    const all = inflateSync(Buffer.concat(wire), { dictionary: SPDY3_DICTIONARY, finishFlush: constants.Z_SYNC_FLUSH });
    expect(all.equals(Buffer.concat(blocks))).toBe(true);
  });

  it('the decompressor fails cleanly on garbage, and stays failed', async () => {
    const d = new HeaderDecompressor();
    await expect(d.decompress(Buffer.from('definitely not zlib'))).rejects.toThrow(/header block/);
    await expect(d.decompress(Buffer.from([0x78]))).rejects.toThrow();
    d.close();
  });
});
