/**
 * The record half of encodeBatch (record-batch.ts has the grammar): sizing and writing one
 * record. encodeBatch sizes every record first, allocates the batch once, then writes them, so
 * the two halves here must agree byte for byte (encodeBatch asserts they did).
 */
import { BrookError, assert } from './errors.js';
import type { EncodableRecord, RecordField, RecordHeader } from './record-batch.js';
import { VARINT_MAX_BYTES, VARLONG_MAX_BYTES, sizeOfVarint, sizeOfVarlong, writeVarint, writeVarlong } from './varint.js';

export const MAX_INT32 = 0x7fffffff;

const utf8Encoder = new TextEncoder();

export function batchTooLarge(size: number): BrookError {
  return new BrookError('MESSAGE_TOO_LARGE', `batch of ${size} bytes exceeds the format's int32 length`, { size });
}

let bodySizesScratch = new Int32Array(1024);

/**
 * An array for the record sizes encodeBatch computes before writing, kept from call to call: a
 * fresh Int32Array of more than 16 records would be a malloc per batch. encodeBatch never runs
 * inside itself, so one array serves every call; only its first `records` slots are meaningful.
 */
export function bodySizes(records: number): Int32Array {
  if (bodySizesScratch.length < records) bodySizesScratch = new Int32Array(Math.max(records, 2 * bodySizesScratch.length));
  return bodySizesScratch;
}

/** What a record's size depends on besides its deltas (not its timestamp: that is a delta in the batch). */
type SizedRecord = Pick<EncodableRecord, 'key' | 'value' | 'headers'>;

/**
 * Bytes of a record after its length varint.
 *
 * This and writeRecord run once per record of every batch, so their varints go through the two
 * small helpers at the end of this file, which V8 inlines whole, rather than varint.ts's asserted
 * sizeOfVarint / writeVarint: a chain of those calls outgrew V8's inlining budget for
 * encodeBatch's loops, and the calls left standing cost more than the writing (255 ns a 100 B
 * record in a batch of 25, 2.5x a loop with the varints inlined). The values are int32 by
 * construction (lengths checked below, offset deltas under batchRecordsMax, timestamp deltas
 * routed to the varlong path unless int32), and encodeBatch asserts that what was written is
 * exactly what was sized.
 */
export function sizeOfRecordBody(record: SizedRecord, offsetDelta: number, timestampDelta: number): number {
  const timestampBytes = timestampDelta === (timestampDelta | 0) ? zigZagBytes(timestampDelta) : sizeOfVarlong(timestampDelta);
  const size = 1 + timestampBytes + zigZagBytes(offsetDelta) + sizeOfBytes(record.key) + sizeOfBytes(record.value);
  const headers = record.headers;
  // Most records have no headers: keeping the header loop out of this function keeps it small
  // enough for V8 to inline into encodeBatch's loop.
  return headers === undefined || headers.length === 0 ? size + 1 : size + sizeOfHeaders(headers);
}

/**
 * The most bytes `record` can take in any batch, its length varint included: its body sized with
 * the widest offset and timestamp deltas, which depend on its place in the batch. A producer adds
 * these up to keep a batch under batchBytesMax before the batch is laid out.
 */
export function sizeOfRecordMax(record: SizedRecord): number {
  const body = sizeOfRecordBody(record, 0, 0) + (VARLONG_MAX_BYTES - 1) + (VARINT_MAX_BYTES - 1);
  return sizeOfVarint(body) + body;
}

function sizeOfHeaders(headers: readonly RecordHeader[]): number {
  let size = sizeOfVarint(headers.length);
  for (const header of headers) {
    const keyBytes = utf8Length(header.key);
    size += sizeOfVarint(keyBytes) + keyBytes + sizeOfBytes(header.value);
  }
  return size;
}

function sizeOfBytes(bytes: RecordField): number {
  if (bytes === null) return 1;
  // AsciiText: one byte a char, and short (toRecordField), so within any length limit.
  const length = bytes.length;
  if (length > MAX_INT32) throw batchTooLarge(length);
  return zigZagBytes(length) + length;
}

/** Writes the record (its length varint first) at `start`; returns the position after it. */
export function writeRecord(
  bytes: Uint8Array,
  start: number,
  record: EncodableRecord,
  offsetDelta: number,
  timestampDelta: number,
  bodyBytes: number,
): number {
  let position = putZigZag(bytes, start, bodyBytes);
  bytes[position++] = 0; // record attributes
  position = timestampDelta === (timestampDelta | 0) ? putZigZag(bytes, position, timestampDelta) : writeVarlong(bytes, position, timestampDelta);
  position = putZigZag(bytes, position, offsetDelta);
  position = writeBytes(bytes, position, record.key);
  position = writeBytes(bytes, position, record.value);
  const headers = record.headers;
  if (headers === undefined || headers.length === 0) {
    bytes[position] = 0; // headerCount 0 (see sizeOfRecordBody)
    return position + 1;
  }
  return writeHeaders(bytes, position, headers);
}

function writeHeaders(bytes: Uint8Array, start: number, headers: readonly RecordHeader[]): number {
  let position = writeVarint(bytes, start, headers.length);
  for (const header of headers) {
    const { key } = header;
    const keyBytes = utf8Length(key);
    position = writeVarint(bytes, position, keyBytes);
    if (keyBytes === key.length) {
      // ASCII (one byte a UTF-8 unit): most header keys. Written a char at a time, as an AsciiText
      // field: encodeInto and its subarray cost more than the copy for a key this short.
      for (let i = 0; i < keyBytes; i++) bytes[position + i] = key.charCodeAt(i);
    } else {
      const { written } = utf8Encoder.encodeInto(key, bytes.subarray(position, position + keyBytes));
      assert(written === keyBytes, 'header key encoded to a different UTF-8 length than measured');
    }
    position = writeBytes(bytes, position + keyBytes, header.value);
  }
  return position;
}

function writeBytes(bytes: Uint8Array, position: number, field: RecordField): number {
  if (field === null) {
    bytes[position] = 1; // length -1
    return position + 1;
  }
  const length = field.length;
  position = putZigZag(bytes, position, length);
  if (typeof field === 'string') {
    for (let i = 0; i < length; i++) bytes[position + i] = field.charCodeAt(i);
    return position + length;
  }
  // TypedArray.prototype.set costs tens of ns before it copies a byte: a short field (most
  // keys) is copied faster a byte at a time.
  if (length <= SHORT_COPY_MAX) for (let i = 0; i < length; i++) bytes[position + i] = field[i]!;
  else bytes.set(field, position);
  return position + length;
}

const SHORT_COPY_MAX = 16;

/**
 * The last header key measured and its UTF-8 length. Records of a batch mostly carry the same
 * header keys (the client's content-type on every string or JSON value), and each key is measured
 * three times (the producer's size bound, then sizing and writing the batch).
 */
let measuredKey = '';
let measuredKeyBytes = 0;

function utf8Length(text: string): number {
  if (text === measuredKey) return measuredKeyBytes;
  measuredKeyBytes = utf8LengthScanned(text);
  measuredKey = text;
  return measuredKeyBytes;
}

/** UTF-8 length of `text` as TextEncoder encodes it (a lone surrogate becomes 3-byte U+FFFD),
 * without encoding it. */
function utf8LengthScanned(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) bytes += 1;
    else if (unit < 0x800) bytes += 2;
    else if ((unit & 0xfc00) === 0xd800 && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}

/** Bytes of the zig-zag varint of an int32 (unchecked: see sizeOfRecordBody). */
function zigZagBytes(value: number): number {
  const unsigned = ((value << 1) ^ (value >> 31)) >>> 0;
  return unsigned < 0x80 ? 1 : unsigned < 0x4000 ? 2 : unsigned < 0x200000 ? 3 : unsigned < 0x10000000 ? 4 : 5;
}

/** Writes the zig-zag varint of an int32 at `position`; returns the position after it (unchecked: see sizeOfRecordBody). */
function putZigZag(bytes: Uint8Array, position: number, value: number): number {
  let unsigned = ((value << 1) ^ (value >> 31)) >>> 0;
  while (unsigned >= 0x80) {
    bytes[position++] = (unsigned & 0x7f) | 0x80;
    unsigned >>>= 7;
  }
  bytes[position] = unsigned;
  return position + 1;
}
