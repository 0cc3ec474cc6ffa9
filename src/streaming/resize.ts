/**
 * Terminal resize events. The client writes Go-encoded `{"Width":…,"Height":…}` objects
 * back to back on the resize stream (json.Encoder: one object per line, but a frame may
 * carry half an object or several), so we cut the byte stream at balanced braces.
 */
import type { Readable } from 'node:stream';

export interface TerminalSize {
  width: number;
  height: number;
}

/** Longest object we wait for the end of (a size is some 30 characters). */
export const MAX_RESIZE_OBJECT = 64 * 1024;

/**
 * Incremental splitter of concatenated JSON objects. An object still open after
 * `maxObject` characters is an error, so the client's input is never held unbounded.
 */
export class JsonObjectSplitter {
  private text = '';
  private pos = 0;
  private start = 0;
  private depth = 0;
  private inString = false;
  private escaped = false;

  constructor(private readonly maxObject = MAX_RESIZE_OBJECT) {}

  push(chunk: string): unknown[] {
    this.text += chunk;
    const out: unknown[] = [];
    for (let i = this.pos; i < this.text.length; i++) {
      const c = this.text[i]!;
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (c === '\\') this.escaped = true;
        else if (c === '"') this.inString = false;
      } else if (c === '{') {
        if (this.depth++ === 0) this.start = i;
      } else if (this.depth > 0) {
        if (c === '"') this.inString = true;
        else if (c === '}' && --this.depth === 0) out.push(JSON.parse(this.text.slice(this.start, i + 1)));
      } else if (!/\s/.test(c)) {
        throw new Error(`unexpected ${JSON.stringify(c)} between resize objects`);
      }
      if (this.depth > 0 && i - this.start >= this.maxObject) {
        this.text = '';
        throw new Error(`resize object longer than ${this.maxObject} characters`);
      }
    }
    // Keep only an object not yet closed.
    this.text = this.depth > 0 ? this.text.slice(this.start) : '';
    this.start = 0;
    this.pos = this.text.length;
    return out;
  }
}

/**
 * Calls `onSize` for each size read from `source`. As the kubelet, sizes below 1×1 are
 * skipped (a client without a terminal sends 0×0) and a malformed stream stops resizing
 * without ending the session.
 */
export function readTerminalSizes(source: Readable, onSize: (size: TerminalSize) => void, onError?: (err: Error) => void): void {
  const splitter = new JsonObjectSplitter();
  source.setEncoding('utf8');
  const onData = (chunk: string) => {
    let objects: unknown[];
    try {
      objects = splitter.push(chunk);
    } catch (err) {
      source.off('data', onData);
      source.resume();
      onError?.(err as Error);
      return;
    }
    for (const o of objects) {
      const { Width, Height } = (o ?? {}) as { Width?: unknown; Height?: unknown };
      if (typeof Width === 'number' && typeof Height === 'number' && Width >= 1 && Height >= 1) {
        onSize({ width: Width, height: Height });
      }
    }
  };
  source.on('data', onData);
}
