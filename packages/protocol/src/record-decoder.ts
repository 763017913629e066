/**
 * The record half of decodeBatch (batch-decoding.ts; record-batch.ts has the grammar): walks the records of a batch
 * whose length, magic and CRC already checked out, or of a DELIVER frame. The CRC only proves the bytes are the ones
 * the writer wrote, not that the writer wrote a valid batch, so every length and count is still
 * bounded against the bytes that are there before it is used.
 */
import { BrookError } from './errors.js';
import type { BatchDecodeFailure, BatchHeader, LogRecord, RecordHeader } from './record-batch.js';
import { LazyStoredRecord, NO_RECORD_HEADERS, headerKeyText } from './stored-record.js';
import { VarintReader } from './varint.js';

/** Attribute bit 3: the broker stamped one time for the whole batch, maxTimestamp. */
const LOG_APPEND_TIME_FLAG = 0x08;
/** attributes, timestampDelta, offsetDelta, keyLength, valueLength, headerCount: a byte each. */
const MIN_RECORD_BODY_BYTES = 6;

export function corruptBatch(
  reason: BatchDecodeFailure,
  position: number,
  detail: string,
  extra: Record<string, unknown> = {},
): BrookError {
  return new BrookError('CORRUPT_BATCH', `batch at ${position}: ${detail}`, { reason, position, ...extra });
}

/**
 * The timestamps of a run of records: the first's, the lowest with the index of the first record
 * to have it (a refusal names it), and the highest (none: NaN, Infinity and -1, -Infinity).
 */
export interface RecordTimestamps {
  first: number;
  min: number;
  minAt: number;
  max: number;
}

function noteTimestamp(timestamps: RecordTimestamps, timestamp: number, index: number): void {
  if (index === 0) timestamps.first = timestamp;
  if (timestamp < timestamps.min) {
    timestamps.min = timestamp;
    timestamps.minAt = index;
  }
  if (timestamp > timestamps.max) timestamps.max = timestamp;
}

/**
 * Walks a run of records: decodes them (decodeAll) or only checks them (checkAll). Both make the
 * same checks, and every failure throws CORRUPT_BATCH 'bad-record' naming the record's index and
 * position. Where a record sits (its offset and timestamp) is the subclass's business: a batch
 * derives it from its header and each record's deltas (BatchRecordDecoder); a DELIVER frame's
 * records were copied from whatever batches stored them, so its entry table says
 * (wire/deliveries.ts).
 */
export abstract class RecordDecoder {
  protected readonly reader: VarintReader;
  private readonly buffer: ArrayBufferLike;
  private readonly byteOffset: number;
  protected index = 0;
  private recordPosition: number;
  /** Set by place() for the record being decoded. */
  protected offset = 0n;
  protected timestamp = 0;

  constructor(
    protected readonly bytes: Uint8Array,
    /** Where the batch (or frame data) starts: errors name it. */
    private readonly batchPosition: number,
    recordsStart: number,
    private readonly recordsEnd: number,
    private readonly recordCount: number,
    /** Decoded records also say where their bytes are (StoredRecord). */
    private readonly sourced = false,
  ) {
    this.recordPosition = recordsStart;
    this.reader = new VarintReader(bytes, recordsStart, recordsEnd);
    this.buffer = bytes.buffer;
    this.byteOffset = bytes.byteOffset;
  }

  decodeAll(): LogRecord[] {
    const records: LogRecord[] = [];
    this.walk(records);
    return records;
  }

  /** decodeAll's checks without building a record, bigint or view: for a batch that is only
   * validated before it is stored as it is (a produce batch). Returns where its records' timestamps
   * lie, which such a batch's header must agree with. */
  checkAll(): RecordTimestamps {
    const timestamps = { first: Number.NaN, min: Number.POSITIVE_INFINITY, minAt: -1, max: Number.NEGATIVE_INFINITY };
    this.walk(null, timestamps);
    return timestamps;
  }

  /**
   * Sets `offset` and `timestamp` for record `index` from its deltas (offset: only when `build`),
   * failing on deltas its kind of run does not allow.
   */
  protected abstract place(offsetDelta: number, timestampDelta: number, build: boolean): void;

  private walk(records: LogRecord[] | null, timestamps?: RecordTimestamps): void {
    for (; this.index < this.recordCount; this.index++) {
      this.recordPosition = this.reader.position;
      const record = this.decodeRecord(records !== null);
      if (records !== null) records.push(record!);
      if (timestamps) noteTimestamp(timestamps, this.timestamp, this.index);
    }
    if (this.reader.position !== this.recordsEnd) {
      this.recordPosition = this.reader.position;
      this.fail(`${this.recordsEnd - this.reader.position} bytes left after recordCount ${this.recordCount} records`);
    }
  }

  /** The record at the reader's position, or null after the same checks when not `build`. */
  private decodeRecord(build: boolean): LogRecord | null {
    const { reader } = this;
    const start = this.recordPosition;
    const length = this.length('record length', MIN_RECORD_BODY_BYTES, this.recordsEnd);
    const recordEnd = reader.position + length;
    reader.position++; // record attributes: unused
    const timestampDelta = reader.varlong();
    this.checkVarint('timestampDelta');
    const offsetDelta = reader.varint();
    this.checkVarint('offsetDelta');
    this.place(offsetDelta, timestampDelta, build);
    const { offset, timestamp } = this;
    if (!Number.isSafeInteger(timestamp)) this.fail(`timestamp ${timestamp} beyond 2^53 ms`);
    const keyLength = this.fieldLength('key', recordEnd);
    const keyAt = reader.position - Math.max(0, keyLength);
    const valueLength = this.fieldLength('value', recordEnd);
    const valueAt = reader.position - Math.max(0, valueLength);
    const headersAt = reader.position;
    // A stored record reads its headers from the bytes when asked (LazyStoredRecord): check them only.
    const headers = this.headers(recordEnd, build && !this.sourced);
    if (reader.position !== recordEnd) this.fail(`record length says it ends at ${recordEnd}, its fields end at ${reader.position}`);
    if (!build) return null;
    if (this.sourced) return new LazyStoredRecord(offset, timestamp, this.bytes, start, recordEnd, keyAt, keyLength, valueAt, valueLength, headersAt);
    return { offset, timestamp, key: this.bytesView(keyAt, keyLength), value: this.bytesView(valueAt, valueLength), headers };
  }

  private headers(recordEnd: number, build: boolean): readonly RecordHeader[] {
    // Each header takes at least two bytes, which bounds a garbage count before looping on it.
    const count = this.length('headerCount', 0, recordEnd, 2);
    // Most records have none: they share one frozen empty list instead of an array each.
    if (count === 0) return NO_RECORD_HEADERS;
    const headers: RecordHeader[] = [];
    for (let i = 0; i < count; i++) {
      const keyBytes = this.length('header key length', 0, recordEnd);
      const keyStart = this.reader.position;
      this.reader.position += keyBytes;
      const key = build ? headerKeyText(this.bytes, keyStart, keyBytes) : '';
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

  /** A varint length (-1 = null), checked against the bytes there are, and the reader moved past
   * that many bytes; returns the length. */
  private fieldLength(field: string, recordEnd: number): number {
    const length = this.reader.varint();
    // Not checkVarint(`${field} length`): that would build the string for every field read.
    if (this.reader.failure !== null) this.fail(`${field} length: ${this.reader.failure} varint`);
    if (length === -1) return -1;
    const start = this.reader.position;
    if (length < -1 || length > recordEnd - start) this.fail(`${field} length ${length} outside -1..${recordEnd - start}`);
    this.reader.position = start + length;
    return length;
  }

  /** A varint length (-1 = null) and that many bytes, as a view into the batch (null when not `build`). */
  private nullableBytes(field: string, recordEnd: number, build: boolean): Uint8Array | null {
    const length = this.fieldLength(field, recordEnd);
    return build ? this.bytesView(this.reader.position - Math.max(0, length), length) : null;
  }

  /** `length` bytes from `at` as a view into the batch, or null for length -1. */
  private bytesView(at: number, length: number): Uint8Array | null {
    // A view made with the constructor, not subarray(): about half the cost per call (subarray
    // looks up the species constructor), and always a plain Uint8Array even if `bytes` is a Buffer.
    return length < 0 ? null : new Uint8Array(this.buffer, this.byteOffset + at, length);
  }

  private checkVarint(field: string): void {
    if (this.reader.failure !== null) this.fail(`${field}: ${this.reader.failure} varint`);
  }

  protected fail(detail: string): never {
    throw corruptBatch('bad-record', this.batchPosition, `record ${this.index} at ${this.recordPosition}: ${detail}`, {
      recordIndex: this.index,
      recordPosition: this.recordPosition,
    });
  }
}

/** A batch's records: offsets from baseOffset and each offsetDelta (rising, up to lastOffsetDelta), timestamps from the header. */
export class BatchRecordDecoder extends RecordDecoder {
  private readonly logAppendTime: boolean;
  private previousOffsetDelta = -1;
  /** The previous record's offset: the next one is usually it + 1 (see offsetOf). */
  private previousOffset: bigint;

  constructor(bytes: Uint8Array, batchPosition: number, recordsStart: number, batchEnd: number, readonly header: BatchHeader, sourced = false) {
    super(bytes, batchPosition, recordsStart, batchEnd, header.recordCount, sourced);
    this.logAppendTime = (header.attributes & LOG_APPEND_TIME_FLAG) !== 0;
    this.previousOffset = header.baseOffset - 1n;
  }

  protected place(offsetDelta: number, timestampDelta: number, build: boolean): void {
    const { header } = this;
    // Offsets only grow inside a batch, up to lastOffsetDelta (compaction may leave gaps).
    if (offsetDelta <= this.previousOffsetDelta || offsetDelta > header.lastOffsetDelta) {
      this.fail(`offsetDelta ${offsetDelta} outside ${this.previousOffsetDelta + 1}..lastOffsetDelta ${header.lastOffsetDelta}`);
    }
    this.offset = build ? this.offsetOf(offsetDelta) : 0n;
    this.previousOffsetDelta = offsetDelta;
    this.timestamp = this.logAppendTime ? header.maxTimestamp : header.baseTimestamp + timestampDelta;
  }

  /** baseOffset + offsetDelta, with one BigInt allocation instead of two when the offsets run on
   * without a gap (always, for batches Brook writes). Called before previousOffsetDelta moves on. */
  private offsetOf(offsetDelta: number): bigint {
    const offset = offsetDelta === this.previousOffsetDelta + 1 ? this.previousOffset + 1n : this.header.baseOffset + BigInt(offsetDelta);
    this.previousOffset = offset;
    return offset;
  }
}
