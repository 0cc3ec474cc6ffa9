import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { JsonObjectSplitter, readTerminalSizes, type TerminalSize } from '../../../src/streaming/resize.js';

describe('resize stream', () => {
  it.each([
    ['one per line (Go json.Encoder)', ['{"Width":80,"Height":24}\n{"Width":100,"Height":30}\n'], 2],
    ['split mid-object', ['{"Wid', 'th":80,"He', 'ight":24}'], 1],
    ['back to back, no newline', ['{"Width":1,"Height":1}{"Width":2,"Height":2}'], 2],
    ['braces inside strings', ['{"Width":3,"Height":3,"x":"}{\\"}"}'], 1],
    ['nothing yet', ['  \n'], 0],
  ])('%s', (_name, chunks, count) => {
    const s = new JsonObjectSplitter();
    const out = chunks.flatMap((c) => s.push(c));
    expect(out).toHaveLength(count);
  });

  it('rejects what is not a JSON object stream', () => {
    expect(() => new JsonObjectSplitter().push('[1]')).toThrow(/unexpected/);
  });

  it('reports sizes of at least 1x1 and stops at a malformed stream', async () => {
    const source = new PassThrough();
    const sizes: TerminalSize[] = [];
    const errors: Error[] = [];
    readTerminalSizes(source, (s) => sizes.push(s), (e) => errors.push(e));
    source.write('{"Width":0,"Height":0}\n{"Width":120,"Height":40}\n');
    source.write('garbage{"Width":5,"Height":5}');
    source.write('{"Width":7,"Height":7}');
    await new Promise((r) => setImmediate(r));
    expect(sizes).toEqual([{ width: 120, height: 40 }]);
    expect(errors).toHaveLength(1);
  });
});
