/**
 * Kafka RecordBatch v2 (magic 2), uncompressed: Brook's one record format on disk, on the wire
 * and in the producer WAL's payloads. Brook writes exactly the bytes a Kafka client writes (the
 * golden test compares with kafkajs), so a Kafka-protocol listener can serve them as they are.
 *
 * Fixed-width integers are big-endian; varint / varlong are zig-zag (see varint.ts).
 *
 *   RecordBatch =>                           byte offset in the batch
 *     baseOffset            int64            0   first record's offset; outside the CRC
 *     batchLength           int32            8   bytes after this field: batch size = 12 + batchLength
 *     partitionLeaderEpoch  int32            12  outside the CRC
 *     magic                 int8             16  2
 *     crc                   uint32           17  CRC-32C of attributes .. end of batch
 *     attributes            int16            21  Brook writes 0: no compression, CreateTime, not
 *                                                transactional, not control
 *     lastOffsetDelta       int32            23  offsetDelta of the last record
 *     baseTimestamp         int64            27  first record's timestamp, ms since the epoch
 *     maxTimestamp          int64            35  largest record timestamp
 *     producerId            int64            43  -1: not an idempotent producer
 *     producerEpoch         int16            51
 *     baseSequence          int32            53  sequence number of the first record
 *     recordCount           int32            57
 *     records               Record × recordCount, from byte 61
 *
 *   Record =>
 *     length                varint           bytes after this field
 *     attributes            int8             0 (unused by Kafka)
 *     timestampDelta        varlong          timestamp - baseTimestamp
 *     offsetDelta           varint           offset - baseOffset
 *     keyLength             varint           -1: null key
 *     key                   keyLength bytes
 *     valueLength           varint           -1: null value
 *     value                 valueLength bytes
 *     headerCount           varint
 *     headers               Header × headerCount
 *
 *   Header =>
 *     keyLength             varint           never -1: header keys are not nullable
 *     key                   keyLength bytes of UTF-8
 *     valueLength           varint           -1: null value
 *     value                 valueLength bytes
 *
 * The CRC leaves out baseOffset and partitionLeaderEpoch so a broker can stamp both on append
 * without re-checksumming (setBaseOffset).
 */
import {
  ATTRIBUTES_AT, BASE_SEQUENCE_AT, BASE_TIMESTAMP_AT, BATCH_HEADER_BYTES, BATCH_LENGTH_AT, BATCH_LOG_OVERHEAD_BYTES, CRC_AT,
  LAST_OFFSET_DELTA_AT, MAGIC_AT, MAGIC_V2, MAX_INT64, MAX_TIMESTAMP_AT, MIN_INT64, PARTITION_LEADER_EPOCH_AT, PRODUCER_EPOCH_AT,
  PRODUCER_ID_AT, RECORD_COUNT_AT,
} from './batch-layout.js';
import { bufferView } from './buffer-view.js';
import { slabBytes } from './byte-slab.js';
import { crc32c } from './crc32c.js';
import { BrookError, assert } from './errors.js';
import { showValue } from './show-value.js';
import { setSafeInteger64 } from './int64.js';
import { MAX_INT32, batchTooLarge, bodySizes, sizeOfRecordBody, writeRecord } from './record-encoder.js';
import { sizeOfVarint } from './varint.js';

export { BATCH_HEADER_BYTES, BATCH_LOG_OVERHEAD_BYTES, DEFAULT_MAX_BATCH_BYTES } from './batch-layout.js';
export { checkBatch, decodeBatch, decodeStoredBatch, headerTimestampsMismatch, readBatchHeader, verifyBatch, verifyBatchRecords } from './batch-decoding.js';
export type { RecordTimestamps } from './record-decoder.js';

export interface RecordHeader {
  key: string;
  value: Uint8Array | null;
}

export interface RecordInput {
  key: Uint8Array | null;
  value: Uint8Array | null;
  headers?: readonly RecordHeader[];
  /** Milliseconds since the epoch; any safe integer. */
  timestamp: number;
}

declare const asciiTextBrand: unique symbol;

/**
 * Text whose UTF-8 bytes are its char codes, every one below 0x80 (toRecordField checks): the
 * encoder copies it a char at a time, so a short text key needs no byte array of its own.
 */
export type AsciiText = string & { readonly [asciiTextBrand]: true };

/** A key or value as encodeBatch takes it: bytes, ASCII text, or null. */
export type RecordField = Uint8Array | AsciiText | null;

/** A record as encodeBatch takes it: a RecordInput whose key and value may also be AsciiText. */
export interface EncodableRecord {
  key: RecordField;
  value: RecordField;
  headers?: readonly RecordHeader[];
  /** Milliseconds since the epoch; any safe integer. */
  timestamp: number;
}

/** A decoded record. `key`, `value` and header values are views into the decoded buffer, not
 * copies: they change if that buffer is reused, so copy them (`slice()`) to keep them longer. */
export interface LogRecord {
  offset: bigint;
  timestamp: number;
  key: Uint8Array | null;
  value: Uint8Array | null;
  headers: readonly RecordHeader[];
}

export interface BatchHeader {
  baseOffset: bigint;
  batchLength: number;
  partitionLeaderEpoch: number;
  magic: number;
  crc: number;
  attributes: number;
  lastOffsetDelta: number;
  baseTimestamp: number;
  maxTimestamp: number;
  producerId: bigint;
  producerEpoch: number;
  baseSequence: number;
  recordCount: number;
}


export interface EncodeBatchOptions {
  baseOffset?: bigint;
  producerId?: bigint;
  producerEpoch?: number;
  baseSequence?: number;
  partitionLeaderEpoch?: number;
}

export interface DecodeBatchOptions {
  /**
   * The caller ran checkBatch on exactly these bytes (CRC included) and they have not changed
   * since, e.g. a batch the log just read and verified: skip recomputing the CRC, the one check
   * that costs a pass over every byte. Length, magic, header and every record are still checked.
   */
  crcVerified?: boolean;
  /**
   * Largest batch accepted, as checkBatch's `maxBatchBytes` (default DEFAULT_MAX_BATCH_BYTES): for
   * a batch known to be larger by design, such as a fetch answer of up to fetchBytesMax.
   */
  batchBytesMax?: number;
}

export type BatchCheck =
  | { ok: true; size: number; header: BatchHeader }
  | { ok: false; reason: 'truncated' | 'bad-length' | 'bad-magic' | 'bad-crc'; detail: string };

/** Why decodeBatch rejected a batch: a checkBatch reason, a header it cannot decode, or records
 * that do not parse. Carried as `details.reason` of the CORRUPT_BATCH error. */
export type BatchDecodeFailure = Extract<BatchCheck, { ok: false }>['reason'] | 'bad-header' | 'bad-record';

// ---------------------------------------------------------------------------------------------
// Encoding

/**
 * Encodes records as one batch with offsetDeltas 0, 1, 2, …; baseTimestamp is the first record's
 * timestamp, maxTimestamp the largest. Sizes everything first, then writes into one buffer.
 * Throws BrookError INVALID_REQUEST for no records or out-of-range fields, MESSAGE_TOO_LARGE past
 * the int32 batchLength. Header keys are UTF-8 encoded; lone surrogates become U+FFFD.
 *
 * A batch of up to 32 KiB is a view into a shared slab (byte-slab.ts): it is the caller's alone
 * to read and patch, but its `byteOffset` need not be 0 and its `buffer` is shared, so read it
 * through the view and never transfer or detach that buffer.
 */
export function encodeBatch(records: readonly EncodableRecord[], options: EncodeBatchOptions = {}): Uint8Array {
  const resolved = resolveOptions(options);
  const first = records[0];
  if (first === undefined) throw new BrookError('INVALID_REQUEST', 'a batch needs at least one record', { recordCount: 0 });
  const baseTimestamp = first.timestamp;
  let maxTimestamp = baseTimestamp;
  const bodyBytes = bodySizes(records.length);
  let size = BATCH_HEADER_BYTES;
  for (let i = 0; i < records.length; i++) {
    const record = records[i]!;
    const timestampDelta = record.timestamp - baseTimestamp;
    if (!Number.isSafeInteger(record.timestamp) || !Number.isSafeInteger(timestampDelta)) {
      const message = `record ${i}: timestamp ${record.timestamp} is not a safe integer within 2^53 ms of the first`;
      throw new BrookError('INVALID_REQUEST', message, { index: i });
    }
    if (record.timestamp > maxTimestamp) maxTimestamp = record.timestamp;
    const body = sizeOfRecordBody(record, i, timestampDelta);
    // Keeps size within int32 + a length varint, so batchLength (size - 12) stays an int32.
    if (body > MAX_INT32 - size) throw batchTooLarge(size + body);
    bodyBytes[i] = body;
    size += sizeOfVarint(body) + body;
  }

  const bytes = slabBytes(size);
  const view = bufferView(bytes);
  const at = bytes.byteOffset;
  writeHeader(view, at, resolved, { size, recordCount: records.length, baseTimestamp, maxTimestamp });
  let position = BATCH_HEADER_BYTES;
  for (let i = 0; i < records.length; i++) {
    const record = records[i]!;
    position = writeRecord(bytes, position, record, i, record.timestamp - baseTimestamp, bodyBytes[i]!);
  }
  assert(position === size, 'encodeBatch wrote other than the size it computed', { size, position });
  view.setUint32(at + CRC_AT, crc32c(bytes, ATTRIBUTES_AT, size));
  return bytes;
}

type ResolvedOptions = Required<EncodeBatchOptions>;

/** What an empty options object resolves to: most batches (every produce call's) use it. */
const DEFAULT_OPTIONS: ResolvedOptions = Object.freeze({
  baseOffset: 0n, producerId: -1n, producerEpoch: -1, baseSequence: -1, partitionLeaderEpoch: 0,
});

function resolveOptions(options: EncodeBatchOptions): ResolvedOptions {
  if (options.baseOffset === undefined && options.producerId === undefined && options.producerEpoch === undefined
    && options.baseSequence === undefined && options.partitionLeaderEpoch === undefined) return DEFAULT_OPTIONS;
  return {
    baseOffset: requireBigInt('baseOffset', options.baseOffset ?? 0n, 0n),
    producerId: requireBigInt('producerId', options.producerId ?? -1n, MIN_INT64),
    producerEpoch: requireInteger('producerEpoch', options.producerEpoch ?? -1, -0x8000, 0x7fff),
    baseSequence: requireInteger('baseSequence', options.baseSequence ?? -1, -MAX_INT32 - 1, MAX_INT32),
    partitionLeaderEpoch: requireInteger('partitionLeaderEpoch', options.partitionLeaderEpoch ?? 0, -MAX_INT32 - 1, MAX_INT32),
  };
}

function requireBigInt(name: string, value: bigint, min: bigint): bigint {
  if (typeof value !== 'bigint' || value < min || value > MAX_INT64) {
    throw new BrookError('INVALID_REQUEST', `${name} ${showValue(value)} is not a bigint in ${min}..${MAX_INT64}`, { [name]: showValue(value) });
  }
  return value;
}

function requireInteger(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new BrookError('INVALID_REQUEST', `${name} ${showValue(value)} is not an integer in ${min}..${max}`, { [name]: value });
  }
  return value;
}

interface BatchShape {
  size: number;
  recordCount: number;
  baseTimestamp: number;
  maxTimestamp: number;
}

/** Writes the header of the batch at `at` in the view's buffer. */
function writeHeader(view: DataView, at: number, options: ResolvedOptions, batch: BatchShape): void {
  view.setBigInt64(at, options.baseOffset);
  view.setInt32(at + BATCH_LENGTH_AT, batch.size - BATCH_LOG_OVERHEAD_BYTES);
  view.setInt32(at + PARTITION_LEADER_EPOCH_AT, options.partitionLeaderEpoch);
  view.setInt8(at + MAGIC_AT, MAGIC_V2);
  view.setInt16(at + ATTRIBUTES_AT, 0);
  view.setInt32(at + LAST_OFFSET_DELTA_AT, batch.recordCount - 1);
  setSafeInteger64(view, at + BASE_TIMESTAMP_AT, batch.baseTimestamp);
  setSafeInteger64(view, at + MAX_TIMESTAMP_AT, batch.maxTimestamp);
  view.setBigInt64(at + PRODUCER_ID_AT, options.producerId);
  view.setInt16(at + PRODUCER_EPOCH_AT, options.producerEpoch);
  view.setInt32(at + BASE_SEQUENCE_AT, options.baseSequence);
  view.setInt32(at + RECORD_COUNT_AT, batch.recordCount);
}

/** Patches the baseOffset of the batch `bytes` starts with, in place (the CRC does not cover it). */
export function setBaseOffset(bytes: Uint8Array, baseOffset: bigint): void {
  requireBigInt('baseOffset', baseOffset, 0n);
  assert(bytes.length >= BATCH_HEADER_BYTES, 'no batch header to patch', { bytes: bytes.length });
  bufferView(bytes).setBigInt64(bytes.byteOffset, baseOffset);
}
