/**
 * decodeStoredBatch's records, read the quick way when a batch has the shape Brook writes: offset
 * deltas 0, 1, 2, … with no gap, create-time timestamps within an int32 delta of the first. It
 * makes every bound check the full decoder (record-decoder.ts) makes, but has no message to build:
 * on anything it does not expect, good or bad, it returns undefined, and the full decoder reads the
 * batch again and says exactly what is wrong, if anything is. Headers are checked and skipped:
 * a record reads them from its bytes when asked (LazyStoredRecord), as the full decoder's do.
 *
 * Why a second reader: the delivery engine decodes each record once for every group reading its
 * partition, and the full decoder's per-field calls (a VarintReader, a bounds check with its
 * field's name, `place` on a subclass) cost ~100 ns a record in a batch of 25, about a tenth of
 * the end-to-end budget of a record in process. Here a field is a few local reads.
 *
 *   record       = length:varint attributes:int8 timestampDelta:varlong offsetDelta:varint
 *                  keyLength:varint key valueLength:varint value headerCount:varint
 *
 * (record-batch.ts has the whole grammar.)
 */
import type { BatchHeader } from './record-batch.js';
import { LazyStoredRecord } from './stored-record.js';

/** attributes, timestampDelta, offsetDelta, keyLength, valueLength, headerCount: a byte each. */
const MIN_RECORD_BODY_BYTES = 6;
/** Attribute bit 3: LogAppendTime, which this reader leaves to the full decoder. */
const LOG_APPEND_TIME_FLAG = 0x08;
/** What readZigZag returns for a varint it will not read (truncated, or longer than an int32). */
const UNREAD = 0x7fffffff + 1;

/**
 * Where readZigZag reads next. One cursor for the module: decoding never runs inside itself, and
 * a local cursor would need an object or a closure per batch.
 */
let cursor = 0;

/**
 * The records of the batch whose records run from `start` to `end` of `bytes`, or undefined if
 * it is not of the shape above (or not valid): then decode it with the full decoder.
 */
export function storedRecordsQuickly(bytes: Uint8Array, header: BatchHeader, start: number, end: number): LazyStoredRecord[] | undefined {
  const count = header.recordCount;
  if ((header.attributes & LOG_APPEND_TIME_FLAG) !== 0 || header.lastOffsetDelta !== count - 1) return undefined;
  const records: LazyStoredRecord[] = [];
  let offset = header.baseOffset;
  cursor = start;
  for (let index = 0; index < count; index++) {
    const recordStart = cursor;
    const length = readZigZag(bytes, end);
    if (length < MIN_RECORD_BODY_BYTES || length > end - cursor) return undefined;
    const recordEnd = cursor + length;
    cursor += 1; // attributes
    const timestampDelta = readZigZag(bytes, recordEnd);
    if (readZigZag(bytes, recordEnd) !== index || timestampDelta === UNREAD) return undefined;
    const timestamp = header.baseTimestamp + timestampDelta;
    const keyLength = readZigZag(bytes, recordEnd);
    if (keyLength < -1 || keyLength > recordEnd - cursor) return undefined;
    const keyAt = cursor;
    if (keyLength > 0) cursor += keyLength;
    const valueLength = readZigZag(bytes, recordEnd);
    if (valueLength < -1 || valueLength > recordEnd - cursor) return undefined;
    const valueAt = cursor;
    if (valueLength > 0) cursor += valueLength;
    const headersAt = cursor;
    if (bytes[cursor] === 0) cursor += 1; // headerCount 0, as most records have
    else if (!skipHeaders(bytes, recordEnd)) return undefined;
    if (cursor !== recordEnd || !Number.isSafeInteger(timestamp)) return undefined;
    records.push(new LazyStoredRecord(offset, timestamp, bytes, recordStart, recordEnd, keyAt, keyLength, valueAt, valueLength, headersAt));
    offset += 1n;
  }
  return cursor === end ? records : undefined;
}

/**
 * Moves the cursor past the headers at it, checking what the full decoder checks (a count each
 * header's two bytes at least can fill, key and value lengths within the record); false if any
 * check fails. The headers are read when a record's reader asks (LazyStoredRecord).
 */
function skipHeaders(bytes: Uint8Array, recordEnd: number): boolean {
  const count = readZigZag(bytes, recordEnd);
  if (count < 0 || count > (recordEnd - cursor) >> 1) return false;
  for (let i = 0; i < count; i++) {
    const keyLength = readZigZag(bytes, recordEnd);
    if (keyLength < 0 || keyLength > recordEnd - cursor) return false;
    cursor += keyLength;
    const valueLength = readZigZag(bytes, recordEnd);
    if (valueLength < -1 || valueLength > recordEnd - cursor) return false;
    if (valueLength > 0) cursor += valueLength;
  }
  return true;
}

/**
 * The zig-zag varint at `cursor` (moved past it), if it ends before `end` within five bytes and
 * holds an int32; else UNREAD. Non-minimal encodings are read like minimal ones, as the full
 * decoder reads them.
 */
function readZigZag(bytes: Uint8Array, end: number): number {
  let position = cursor;
  let unsigned = 0;
  for (let shift = 0; shift < 35; shift += 7) {
    if (position >= end) return UNREAD;
    const byte = bytes[position++]!;
    if (shift === 28 && byte > 0x0f) return UNREAD;
    unsigned |= (byte & 0x7f) << shift;
    if (byte < 0x80) {
      cursor = position;
      return (unsigned >>> 1) ^ -(unsigned & 1);
    }
  }
  return UNREAD;
}
