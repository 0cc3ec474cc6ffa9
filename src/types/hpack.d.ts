// hpack.js ships no types; we use only its decompressor.
declare module 'hpack.js' {
  import type { Duplex } from 'node:stream';
  export interface DecodedHeader {
    name: string;
    value: string;
    neverIndex: boolean;
  }
  export interface Decompressor extends Duplex {
    execute(cb?: (err: Error | null) => void): void;
    read(): DecodedHeader | null;
  }
  const hpack: {
    decompressor: { create(options: { table: { size: number } }): Decompressor };
  };
  export default hpack;
}
