/**
 * A record decoded from stored batch bytes (decodeStoredBatch), with where its encoding (the
 * Record grammar of record-batch.ts, length included) lies in them: the server copies those bytes
 * into DELIVER frames as they are instead of encoding the record again.
 */
export interface StoredRecord extends LogRecord {
  readonly source: Uint8Array;
  readonly sourceStart: number;
  readonly sourceEnd: number;
}

/**
 * A StoredRecord as the delivery engine gets it from decodeStoredBatch. Its
 * key and value views are made when read, not when decoded: the engine reads the key only for
 * 'key' ordering, the server copies a delivered record's stored bytes (source, sourceStart,
 * sourceEnd) into DELIVER frames without reading either field, and a handler may read neither.
 * Two Uint8Array views per record made eagerly were a tenth of what consuming a record allocated.
 * Each read makes a new view of the same bytes.
 */
import type { LogRecord, RecordHeader } from './record-batch.js';

export class LazyStoredRecord implements StoredRecord {
  constructor(
    readonly offset: bigint,
    readonly timestamp: number,
    readonly headers: readonly RecordHeader[],
    readonly source: Uint8Array,
    readonly sourceStart: number,
    readonly sourceEnd: number,
    /** Where the key's bytes start in `source`, and how many (-1: a null key). */
    private readonly keyAt: number,
    private readonly keyLength: number,
    private readonly valueAt: number,
    private readonly valueLength: number,
  ) {}

  get key(): Uint8Array | null {
    return fieldView(this.source, this.keyAt, this.keyLength);
  }

  get value(): Uint8Array | null {
    return fieldView(this.source, this.valueAt, this.valueLength);
  }
}

/** A view of `length` bytes of `source` from `at`, or null for a null field (length -1). */
function fieldView(source: Uint8Array, at: number, length: number): Uint8Array | null {
  // The constructor, not subarray(): a plain Uint8Array even when `source` is a Buffer.
  return length < 0 ? null : new Uint8Array(source.buffer, source.byteOffset + at, length);
}
