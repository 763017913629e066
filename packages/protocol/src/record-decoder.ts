/**
 * The record half of decodeBatch (record-batch.ts has the grammar): walks the records of a batch
 * whose length, magic and CRC already checked out. The CRC only proves the bytes are the ones
 * the writer wrote, not that the writer wrote a valid batch, so every length and count is still
 * bounded against the bytes that are there before it is used.
 */
import { BrookError } from './errors.js';
import type { BatchDecodeFailure, BatchHeader, LogRecord, RecordHeader } from './record-batch.js';
import { VarintReader } from './varint.js';

/** Attribute bit 3: the broker stamped one time for the whole batch, maxTimestamp. */
const LOG_APPEND_TIME_FLAG = 0x08;
/** attributes, timestampDelta, offsetDelta, keyLength, valueLength, headerCount: a byte each. */
const MIN_RECORD_BODY_BYTES = 6;
// ignoreBOM keeps a leading U+FEFF in a header key instead of silently dropping it.
const utf8Decoder = new TextDecoder('utf-8', { ignoreBOM: true });
const NO_HEADERS: readonly RecordHeader[] = Object.freeze([]);

export function corruptBatch(
  reason: BatchDecodeFailure,
  position: number,
  detail: string,
  extra: Record<string, unknown> = {},
): BrookError {
  return new BrookError('CORRUPT_BATCH', `batch at ${position}: ${detail}`, { reason, position, ...extra });
}

/** Decodes (decodeAll) or only checks (checkAll) the records of a batch that passed checkBatch;
 * both make the same checks, and every failure throws CORRUPT_BATCH 'bad-record' naming the
 * record's index and position. */
export class RecordDecoder {
  private readonly reader: VarintReader;
  private readonly logAppendTime: boolean;
  private readonly buffer: ArrayBufferLike;
  private readonly byteOffset: number;
  private index = 0;
  private recordPosition: number;
  private previousOffsetDelta = -1;
  /** The previous record's offset: the next one is usually it + 1 (see offsetOf). */
  private previousOffset: bigint;

  constructor(
    private readonly bytes: Uint8Array,
    private readonly batchPosition: number,
    recordsStart: number,
    private readonly batchEnd: number,
    readonly header: BatchHeader,
  ) {
    this.recordPosition = recordsStart;
    this.reader = new VarintReader(bytes, recordsStart, batchEnd);
    this.logAppendTime = (header.attributes & LOG_APPEND_TIME_FLAG) !== 0;
    this.buffer = bytes.buffer;
    this.byteOffset = bytes.byteOffset;
    this.previousOffset = header.baseOffset - 1n;
  }

  decodeAll(): LogRecord[] {
    const records: LogRecord[] = [];
    this.walk(records);
    return records;
  }

  /** decodeAll's checks without building a record, bigint or view: for a batch that is only
   * validated before it is stored as it is (a produce batch). */
  checkAll(): void {
    this.walk(null);
  }

  private walk(records: LogRecord[] | null): void {
    for (; this.index < this.header.recordCount; this.index++) {
      this.recordPosition = this.reader.position;
      const record = this.decodeRecord(records !== null);
      if (records !== null) records.push(record!);
    }
    if (this.reader.position !== this.batchEnd) {
      this.recordPosition = this.reader.position;
      this.fail(`${this.batchEnd - this.reader.position} bytes left after recordCount ${this.header.recordCount} records`);
    }
  }

  /** The record at the reader's position, or null after the same checks when not `build`. */
  private decodeRecord(build: boolean): LogRecord | null {
    const { reader, header } = this;
    const length = this.length('record length', MIN_RECORD_BODY_BYTES, this.batchEnd);
    const recordEnd = reader.position + length;
    reader.position++; // record attributes: unused
    const timestampDelta = reader.varlong();
    this.checkVarint('timestampDelta');
    const offsetDelta = reader.varint();
    this.checkVarint('offsetDelta');
    // Offsets only grow inside a batch, up to lastOffsetDelta (compaction may leave gaps).
    if (offsetDelta <= this.previousOffsetDelta || offsetDelta > header.lastOffsetDelta) {
      this.fail(`offsetDelta ${offsetDelta} outside ${this.previousOffsetDelta + 1}..lastOffsetDelta ${header.lastOffsetDelta}`);
    }
    const offset = build ? this.offsetOf(offsetDelta) : 0n;
    this.previousOffsetDelta = offsetDelta;
    const timestamp = this.logAppendTime ? header.maxTimestamp : header.baseTimestamp + timestampDelta;
    if (!Number.isSafeInteger(timestamp)) this.fail(`timestamp ${timestamp} beyond 2^53 ms`);
    const key = this.nullableBytes('key', recordEnd, build);
    const value = this.nullableBytes('value', recordEnd, build);
    const headers = this.headers(recordEnd, build);
    if (reader.position !== recordEnd) this.fail(`record length says it ends at ${recordEnd}, its fields end at ${reader.position}`);
    return build ? { offset, timestamp, key, value, headers } : null;
  }

  /** baseOffset + offsetDelta, with one BigInt allocation instead of two when the offsets run on
   * without a gap (always, for batches Brook writes). Called before previousOffsetDelta moves on. */
  private offsetOf(offsetDelta: number): bigint {
    const offset = offsetDelta === this.previousOffsetDelta + 1 ? this.previousOffset + 1n : this.header.baseOffset + BigInt(offsetDelta);
    this.previousOffset = offset;
    return offset;
  }

  private headers(recordEnd: number, build: boolean): readonly RecordHeader[] {
    // Each header takes at least two bytes, which bounds a garbage count before looping on it.
    const count = this.length('headerCount', 0, recordEnd, 2);
    // Most records have none: they share one frozen empty list instead of an array each.
    if (count === 0) return NO_HEADERS;
    const headers: RecordHeader[] = [];
    for (let i = 0; i < count; i++) {
      const keyBytes = this.length('header key length', 0, recordEnd);
      const keyStart = this.reader.position;
      this.reader.position += keyBytes;
      // The decoder replaces invalid UTF-8 rather than failing, so checking needs no decode.
      const key = build ? utf8Decoder.decode(this.bytes.subarray(keyStart, keyStart + keyBytes)) : '';
      const value = this.nullableBytes('header value', recordEnd, build);
      if (build) headers.push({ key, value });
    }
    return headers;
  }

  /** A varint count of `unitBytes`-sized items, at least `min` and fitting before `end`. */
  private length(field: string, min: number, end: number, unitBytes = 1): number {
    const value = this.reader.varint();
    this.checkVarint(field);
    const max = Math.floor((end - this.reader.position) / unitBytes);
    if (value < min || value > max) this.fail(`${field} ${value} outside ${min}..${max}`);
    return value;
  }

  /** A varint length (-1 = null) and that many bytes, as a view into the batch (null when not
   * `build`). */
  private nullableBytes(field: string, recordEnd: number, build: boolean): Uint8Array | null {
    const length = this.reader.varint();
    // Not checkVarint(`${field} length`): that would build the string for every field read.
    if (this.reader.failure !== null) this.fail(`${field} length: ${this.reader.failure} varint`);
    if (length === -1) return null;
    const start = this.reader.position;
    if (length < -1 || length > recordEnd - start) this.fail(`${field} length ${length} outside -1..${recordEnd - start}`);
    this.reader.position = start + length;
    if (!build) return null;
    // A view made with the constructor, not subarray(): about half the cost per call (subarray
    // looks up the species constructor), and always a plain Uint8Array even if `bytes` is a Buffer.
    return new Uint8Array(this.buffer, this.byteOffset + start, length);
  }

  private checkVarint(field: string): void {
    if (this.reader.failure !== null) this.fail(`${field}: ${this.reader.failure} varint`);
  }

  private fail(detail: string): never {
    throw corruptBatch('bad-record', this.batchPosition, `record ${this.index} at ${this.recordPosition}: ${detail}`, {
      recordIndex: this.index,
      recordPosition: this.recordPosition,
    });
  }
}
