// hpack.js ships no types. The shim uses only its decompressor; tests also use the
// compressor to produce client header blocks.
declare module 'hpack.js' {
  import type { Duplex } from 'node:stream';
  export interface DecodedHeader {
    name: string;
    value: string;
    neverIndex: boolean;
  }
  /**
   * hpack.js reads `maxSize` (the SETTINGS_HEADER_TABLE_SIZE limit): without it the
   * dynamic table never evicts and every table size update is refused.
   */
  export interface TableOptions {
    maxSize: number;
    lookupDepth?: number;
  }
  export interface HpackTable {
    /** Current dynamic table size in RFC 7541 §4.1 octets. */
    size: number;
    /** Limit in force (lowered by dynamic table size updates). */
    maxSize: number;
    /** Limit a size update may not exceed. */
    protocolMaxSize: number;
    dynamic: Array<{ name: string; value: string }>;
  }
  export interface Decompressor extends Duplex {
    execute(cb?: (err: Error | null) => void): void;
    read(): DecodedHeader | null;
    readonly _table: HpackTable;
  }
  export interface CompressorHeader {
    name: string;
    value: string;
    /** Literal with incremental indexing unless false (RFC 7541 §6.2.1). */
    incremental?: boolean;
    huffman?: boolean;
    neverIndex?: boolean;
  }
  export interface Compressor extends Duplex {
    write(headers: CompressorHeader[]): boolean;
    read(): Buffer | null;
    updateTableSize(size: number): void;
    readonly _table: HpackTable;
  }
  const hpack: {
    decompressor: { create(options: { table: TableOptions }): Decompressor };
    compressor: { create(options: { table: TableOptions }): Compressor };
  };
  export default hpack;
}
