/**
 * The checking and decoding half of the RecordBatch codec (record-batch.ts has the grammar and
 * the encoding half): batch-level checks here, records by record-decoder.ts, or for batches the
 * log stored in Brook's own shape by stored-records-quick.ts.
 */
import {
  ATTRIBUTES_AT, BASE_SEQUENCE_AT, BASE_TIMESTAMP_AT, BATCH_HEADER_BYTES, BATCH_LENGTH_AT, BATCH_LOG_OVERHEAD_BYTES, COMPRESSION_MASK,
  CRC_AT, DEFAULT_MAX_BATCH_BYTES, LAST_OFFSET_DELTA_AT, MAGIC_AT, MAGIC_V2, MAX_TIMESTAMP_AT, MIN_BATCH_LENGTH,
  PARTITION_LEADER_EPOCH_AT, PRODUCER_EPOCH_AT, PRODUCER_ID_AT, RECORD_COUNT_AT,
} from './batch-layout.js';
import { bufferView } from './buffer-view.js';
import { crc32c } from './crc32c.js';
import { BrookError, assert } from './errors.js';
import { getInt64AsNumber } from './int64.js';
import type { BatchCheck, BatchHeader, DecodeBatchOptions, LogRecord } from './record-batch.js';
import { BatchRecordDecoder, corruptBatch, type RecordTimestamps } from './record-decoder.js';
import type { StoredRecord } from './stored-record.js';
import { storedRecordsQuickly } from './stored-records-quick.js';

/**
 * Checks the batch starting at `position` within bytes[.. end): enough bytes to read batchLength
 * and for the whole batch ('truncated'), batchLength within MIN..maxBatchBytes ('bad-length'),
 * magic 2 ('bad-magic'), CRC-32C ('bad-crc'). Never throws on garbage bytes; a range outside
 * `bytes` is a caller bug and fails an assertion.
 */
export function checkBatch(
  bytes: Uint8Array,
  position = 0,
  end = bytes.length,
  maxBatchBytes = DEFAULT_MAX_BATCH_BYTES,
): BatchCheck {
  return inspectBatch(bytes, position, end, maxBatchBytes, true);
}

/** checkBatch, with the CRC comparison optional for decodeBatch's `crcVerified`. */
function inspectBatch(bytes: Uint8Array, position: number, end: number, maxBatchBytes: number, verifyCrc: boolean): BatchCheck {
  assert(
    Number.isInteger(position) && Number.isInteger(end) && position >= 0 && position <= end && end <= bytes.length,
    'checkBatch range outside the bytes',
    { position, end, bytes: bytes.length },
  );
  assert(Number.isInteger(maxBatchBytes) && maxBatchBytes >= MIN_BATCH_LENGTH, 'maxBatchBytes is below the minimum', { maxBatchBytes });
  const available = end - position;
  if (available < BATCH_LOG_OVERHEAD_BYTES) {
    return { ok: false, reason: 'truncated', detail: `${available} bytes left, too few to read batchLength` };
  }
  const view = bufferView(bytes);
  const at = bytes.byteOffset + position;
  const batchLength = view.getInt32(at + BATCH_LENGTH_AT);
  if (batchLength < MIN_BATCH_LENGTH || batchLength > maxBatchBytes) {
    return { ok: false, reason: 'bad-length', detail: `batchLength ${batchLength} outside ${MIN_BATCH_LENGTH}..${maxBatchBytes}` };
  }
  if (available > MAGIC_AT && bytes[position + MAGIC_AT] !== MAGIC_V2) {
    return { ok: false, reason: 'bad-magic', detail: `magic ${view.getInt8(at + MAGIC_AT)}, expected ${MAGIC_V2}` };
  }
  const size = BATCH_LOG_OVERHEAD_BYTES + batchLength;
  if (available < size) return { ok: false, reason: 'truncated', detail: `${available} bytes left, batch is ${size}` };
  if (verifyCrc) {
    const stored = view.getUint32(at + CRC_AT);
    const computed = crc32c(bytes, position + ATTRIBUTES_AT, position + size);
    if (stored !== computed) {
      return { ok: false, reason: 'bad-crc', detail: `stored CRC-32C ${hex(stored)}, computed ${hex(computed)}` };
    }
  }
  return { ok: true, size, header: readHeaderFields(view, at) };
}

function hex(value: number): string {
  return `0x${value.toString(16).padStart(8, '0')}`;
}

/** Reads the header fields only (no CRC check); throws BrookError CORRUPT_BATCH if fewer than
 * 61 bytes. Timestamps outside the safe integers come back rounded; decodeBatch rejects them. */
export function readBatchHeader(bytes: Uint8Array, position = 0): BatchHeader {
  assert(Number.isInteger(position) && position >= 0, 'readBatchHeader position must be a non-negative integer', { position });
  const available = bytes.length - position;
  if (available < BATCH_HEADER_BYTES) {
    const message = `${Math.max(available, 0)} bytes at ${position}, a batch header is ${BATCH_HEADER_BYTES}`;
    throw new BrookError('CORRUPT_BATCH', message, { reason: 'truncated', position });
  }
  return readHeaderFields(bufferView(bytes), bytes.byteOffset + position);
}

/** The header of the batch at `position` in the view's buffer. */
function readHeaderFields(view: DataView, position: number): BatchHeader {
  return {
    baseOffset: view.getBigInt64(position),
    batchLength: view.getInt32(position + BATCH_LENGTH_AT),
    partitionLeaderEpoch: view.getInt32(position + PARTITION_LEADER_EPOCH_AT),
    magic: view.getInt8(position + MAGIC_AT),
    crc: view.getUint32(position + CRC_AT),
    attributes: view.getInt16(position + ATTRIBUTES_AT),
    lastOffsetDelta: view.getInt32(position + LAST_OFFSET_DELTA_AT),
    baseTimestamp: getInt64AsNumber(view, position + BASE_TIMESTAMP_AT),
    maxTimestamp: getInt64AsNumber(view, position + MAX_TIMESTAMP_AT),
    producerId: view.getBigInt64(position + PRODUCER_ID_AT),
    producerEpoch: view.getInt16(position + PRODUCER_EPOCH_AT),
    baseSequence: view.getInt32(position + BASE_SEQUENCE_AT),
    recordCount: view.getInt32(position + RECORD_COUNT_AT),
  };
}

/**
 * Validates with checkBatch (without the CRC if `options.crcVerified`), then decodes every
 * record: offset = baseOffset + offsetDelta, timestamp = baseTimestamp + timestampDelta (or
 * maxTimestamp for a LogAppendTime batch). Keys, values and header values are views of `bytes`'
 * buffer, not copies (see LogRecord). Throws BrookError CORRUPT_BATCH with details
 * { reason: BatchDecodeFailure, position } on any problem, never a RangeError or TypeError.
 */
export function decodeBatch(
  bytes: Uint8Array,
  position = 0,
  options: DecodeBatchOptions = {},
): { header: BatchHeader; records: LogRecord[] } {
  const decoder = recordDecoder(bytes, position, options);
  return { header: decoder.header, records: decoder.decodeAll() };
}

/**
 * decodeBatch of a batch the log read and verified (`crcVerified`), each record with its source:
 * read by storedRecordsQuickly when it has the shape Brook writes, else by the full decoder.
 */
export function decodeStoredBatch(bytes: Uint8Array): { header: BatchHeader; records: StoredRecord[] } {
  const { header, size } = checkedBatch(bytes, 0, { crcVerified: true });
  const records = storedRecordsQuickly(bytes, header, BATCH_HEADER_BYTES, size)
    ?? new BatchRecordDecoder(bytes, 0, BATCH_HEADER_BYTES, size, header, true).decodeAll() as StoredRecord[];
  return { header, records };
}

/** Every check decodeBatch makes, with the same errors, without building the records: for a
 * batch that is stored or forwarded as it is. Returns its header. */
export function verifyBatch(bytes: Uint8Array, position = 0, options: DecodeBatchOptions = {}): BatchHeader {
  return verifyBatchRecords(bytes, position, options).header;
}

/** verifyBatch, also telling where its records' timestamps lie (what a produced batch's header must agree with). */
export function verifyBatchRecords(bytes: Uint8Array, position = 0, options: DecodeBatchOptions = {}): { header: BatchHeader; timestamps: RecordTimestamps } {
  const decoder = recordDecoder(bytes, position, options);
  const timestamps = decoder.checkAll();
  return { header: decoder.header, timestamps };
}

/**
 * Why a batch's header timestamps do not describe its records (verifyBatchRecords' `timestamps`),
 * or undefined: baseTimestamp must be its first record's timestamp, maxTimestamp its largest. The
 * log trusts them unread (the time index, maxAgeMs retention, segmentMsMax), so the broker refuses
 * a produced batch that fails this (CORRUPT_BATCH 'bad-header'), and `brook verify` reports a
 * stored one.
 */
export function headerTimestampsMismatch(header: BatchHeader, timestamps: RecordTimestamps): string | undefined {
  if (header.baseTimestamp === timestamps.first && header.maxTimestamp === timestamps.max) return undefined;
  return `baseTimestamp ${header.baseTimestamp} and maxTimestamp ${header.maxTimestamp} are not `
    + `its first record's timestamp ${timestamps.first} and its largest ${timestamps.max}`;
}

/** The batch-level checks of decodeBatch, then a decoder positioned at its first record. */
function recordDecoder(bytes: Uint8Array, position: number, options: DecodeBatchOptions): BatchRecordDecoder {
  const { header, size } = checkedBatch(bytes, position, options);
  return new BatchRecordDecoder(bytes, position, position + BATCH_HEADER_BYTES, position + size, header);
}

/** The batch-level checks of decodeBatch: its header and size, or CORRUPT_BATCH. */
function checkedBatch(bytes: Uint8Array, position: number, options: DecodeBatchOptions): { header: BatchHeader; size: number } {
  const check = inspectBatch(bytes, position, bytes.length, options.batchBytesMax ?? DEFAULT_MAX_BATCH_BYTES, options.crcVerified !== true);
  if (!check.ok) throw corruptBatch(check.reason, position, check.detail);
  const { header } = check;
  const codec = header.attributes & COMPRESSION_MASK;
  if (codec !== 0) throw corruptBatch('bad-header', position, `compression codec ${codec}: Brook reads uncompressed batches only`);
  if (header.recordCount < 0) throw corruptBatch('bad-header', position, `recordCount ${header.recordCount}`);
  if (!Number.isSafeInteger(header.baseTimestamp) || !Number.isSafeInteger(header.maxTimestamp)) {
    throw corruptBatch('bad-header', position, 'timestamps beyond 2^53 ms are not supported');
  }
  return check;
}
