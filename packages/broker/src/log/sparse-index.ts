/**
 * A sparse, append-only map from strictly increasing keys to values, held in memory and
 * serialised to a segment's `.index` or `.timeindex` file. One structure serves both files:
 *
 *   .index      key = offset relative to the segment's base (u32), value = byte position (u32)
 *   .timeindex  key = largest timestamp in the segment up to some batch (i64 ms),
 *               value = relative offset of the first record after that batch (u32)
 *
 * Grammar of the files (big-endian, no header; the file length is a multiple of the entry size):
 *
 *   index-file     = *( relativeOffset:u32 position:u32 )            ; 8 bytes an entry
 *   timeindex-file = *( timestampMs:i64 relativeOffset:u32 )         ; 12 bytes an entry
 *
 * Entries are added every ~indexIntervalBytes of log, so a lookup finds a nearby position and the
 * reader scans forward from there: the index is only ever a shortcut, and it can always be rebuilt
 * from the log itself.
 */
import { assert, type FileSystem } from '@brook/protocol';
import { lastIndexWhere } from './bisect.js';

export type IndexKind = 'offset' | 'time';

export const INDEX_ENTRY_BYTES: Readonly<Record<IndexKind, number>> = Object.freeze({ offset: 8, time: 12 });

export class SparseIndex {
  readonly kind: IndexKind;
  private keys: Float64Array;
  private values: Float64Array;
  private count = 0;

  constructor(kind: IndexKind, capacity = 16) {
    this.kind = kind;
    this.keys = new Float64Array(capacity);
    this.values = new Float64Array(capacity);
  }

  /** Undefined when empty: a typed array reads undefined at index -1. */
  lastKey(): number | undefined {
    return this.keys[this.count - 1];
  }

  lastValue(): number | undefined {
    return this.values[this.count - 1];
  }

  /** Every entry, in key order. */
  entries(): { key: number; value: number }[] {
    return Array.from({ length: this.count }, (_, i) => ({ key: this.keys[i]!, value: this.values[i]! }));
  }

  append(key: number, value: number): void {
    const last = this.lastKey();
    assert(last === undefined || key > last, 'index keys must increase', { kind: this.kind, key, last });
    if (this.count === this.keys.length) this.grow();
    this.keys[this.count] = key;
    this.values[this.count] = value;
    this.count += 1;
  }

  /** The entry with the largest key <= `key`, or undefined if every key is larger. */
  floor(key: number): { key: number; value: number } | undefined {
    const found = lastIndexWhere(this.count, (i) => this.keys[i]! <= key);
    return found < 0 ? undefined : { key: this.keys[found]!, value: this.values[found]! };
  }

  encode(): Uint8Array {
    const entryBytes = INDEX_ENTRY_BYTES[this.kind];
    const bytes = new Uint8Array(this.count * entryBytes);
    const view = new DataView(bytes.buffer);
    for (let i = 0; i < this.count; i++) this.encodeEntry(view, i * entryBytes, this.keys[i]!, this.values[i]!);
    return bytes;
  }

  /**
   * Parses an index file. Returns undefined when the bytes cannot be a valid index (length not a
   * multiple of the entry size, keys not strictly increasing, values decreasing): the caller then
   * rebuilds the index from the log.
   */
  static decode(kind: IndexKind, bytes: Uint8Array): SparseIndex | undefined {
    const entryBytes = INDEX_ENTRY_BYTES[kind];
    if (bytes.length % entryBytes !== 0) return undefined;
    const count = bytes.length / entryBytes;
    const index = new SparseIndex(kind, Math.max(16, count));
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let previousKey = Number.NEGATIVE_INFINITY;
    let previousValue = -1;
    for (let i = 0; i < count; i++) {
      const at = i * entryBytes;
      const key = kind === 'offset' ? view.getUint32(at) : Number(view.getBigInt64(at));
      const value = view.getUint32(at + entryBytes - 4);
      if (key <= previousKey || value < previousValue) return undefined;
      index.append(key, value);
      previousKey = key;
      previousValue = value;
    }
    return index;
  }

  private encodeEntry(view: DataView, at: number, key: number, value: number): void {
    if (this.kind === 'offset') view.setUint32(at, key);
    else view.setBigInt64(at, BigInt(key));
    view.setUint32(at + INDEX_ENTRY_BYTES[this.kind] - 4, value);
  }

  private grow(): void {
    const keys = new Float64Array(this.keys.length * 2);
    const values = new Float64Array(this.values.length * 2);
    keys.set(this.keys);
    values.set(this.values);
    this.keys = keys;
    this.values = values;
  }
}

/** The last `entryBytes` of an index file, or undefined if it is missing, empty or not whole entries. */
export async function readLastEntry(fs: FileSystem, path: string, entryBytes: number): Promise<DataView | undefined> {
  if (!(await fs.exists(path))) return undefined;
  const file = await fs.open(path, 'r');
  try {
    const size = await file.size();
    if (size === 0 || size % entryBytes !== 0) return undefined;
    const entry = new Uint8Array(entryBytes);
    const read = await file.readInto(entry, 0, entryBytes, size - entryBytes);
    return read === entryBytes ? new DataView(entry.buffer) : undefined;
  } finally {
    await file.close();
  }
}
