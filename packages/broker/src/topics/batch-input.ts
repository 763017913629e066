/**
 * What `produceBatch` accepts: one record batch a client encoded (the WebSocket server passes
 * them on as they arrive). It is checked in full before any byte is written, because a bad batch
 * in the log would fail every consumer that reads past it:
 *
 * - a Uint8Array, at most batchBytesMax bytes (MESSAGE_TOO_LARGE)
 * - length, magic, CRC-32C, every record parses (CORRUPT_BATCH, with the codec's reason)
 * - exactly one batch: batchLength matches the bytes (CORRUPT_BATCH 'bad-length')
 * - 1 to batchRecordsMax records (CORRUPT_BATCH 'bad-header' / MESSAGE_TOO_LARGE), offset deltas
 *   0..recordCount-1, since the log gives a batch recordCount consecutive offsets
 * - not transactional, not a control batch: Brook has no transactions (INVALID_REQUEST)
 * - not LogAppendTime: a record's timestamp is the one its producer gave (create time), never one
 *   a client says the broker stamped (INVALID_REQUEST)
 * - every record's timestamp in 0..2^53-1, as Broker.produce's (INVALID_REQUEST naming the record)
 * - baseTimestamp the first record's timestamp, maxTimestamp the largest (CORRUPT_BATCH
 *   'bad-header'): the log trusts them, unread, for the time index, maxAgeMs retention and segmentMsMax
 *
 * and, when it is to be appended (not for the resend of a batch the log holds: checkBatchAhead),
 * no record stamped more than timestampAheadMsMax after the broker's clock.
 */
import {
  BATCH_LOG_OVERHEAD_BYTES, BrookError, corruptBatch, decodeBatch, encodeBatch, headerTimestampsMismatch, invalidRecord, verifyBatchRecords, type BatchHeader,
  type EncodableRecord, type RecordTimestamps,
} from '@brook/protocol';
import { checkTimestampAhead, type ProduceTime } from './record-input.js';

export interface BatchLimits {
  readonly batchBytesMax: number;
  readonly batchRecordsMax: number;
}

/** Attribute bits 3 (LogAppendTime), 4 (transactional) and 5 (control). */
const UNSUPPORTED_ATTRIBUTES = 0x38;

/** Checks a client-encoded batch; returns its header. */
export function checkBatchInput(batch: unknown, limits: BatchLimits): BatchHeader {
  if (!(batch instanceof Uint8Array)) throw new BrookError('INVALID_REQUEST', 'batch must be a Uint8Array', {});
  if (batch.length > limits.batchBytesMax) {
    throw new BrookError('MESSAGE_TOO_LARGE', `batch of ${batch.length} bytes exceeds batchBytesMax ${limits.batchBytesMax}`, {
      bytes: batch.length, limit: limits.batchBytesMax,
    });
  }
  const { header, timestamps } = verifyBatchRecords(batch);
  if (BATCH_LOG_OVERHEAD_BYTES + header.batchLength !== batch.length) {
    throw corruptBatch('bad-length', 0, `batchLength ${header.batchLength} does not match ${batch.length} bytes`);
  }
  if (header.recordCount < 1 || header.lastOffsetDelta !== header.recordCount - 1) {
    throw corruptBatch('bad-header', 0, `recordCount ${header.recordCount} with lastOffsetDelta ${header.lastOffsetDelta}`);
  }
  if (header.recordCount > limits.batchRecordsMax) {
    throw new BrookError('MESSAGE_TOO_LARGE', `${header.recordCount} records exceed batchRecordsMax ${limits.batchRecordsMax}`, {
      records: header.recordCount, limit: limits.batchRecordsMax,
    });
  }
  if ((header.attributes & UNSUPPORTED_ATTRIBUTES) !== 0) {
    throw new BrookError('INVALID_REQUEST', `batch attributes ${header.attributes}: LogAppendTime, transactional and control batches are not supported`, {
      attributes: header.attributes,
    });
  }
  checkBatchTimestamps(header, timestamps);
  return header;
}

/**
 * Refuses a batch checkBatchInput passed if a record is stamped past `time.latestMs` (its header's
 * maxTimestamp, which that check held to its records), naming the first such record. Asked when
 * the batch is to be appended, not of the resend of one the log holds: that is answered as the
 * duplicate it is even if the wall clock stepped back since its timestamps were taken.
 */
export function checkBatchAhead(batch: Uint8Array, header: BatchHeader, time: ProduceTime): void {
  if (header.maxTimestamp <= time.latestMs) return;
  // Only a refusal reads the records, to name the one.
  const position = decodeBatch(batch, 0, { crcVerified: true }).records.findIndex((record) => record.timestamp === header.maxTimestamp);
  checkTimestampAhead(header.maxTimestamp, position, time);
}

function checkBatchTimestamps(header: BatchHeader, timestamps: RecordTimestamps): void {
  if (timestamps.min < 0) throw invalidRecord(timestamps.minAt, `timestamp must be an integer in 0..2^53-1, got ${timestamps.min}`);
  const mismatch = headerTimestampsMismatch(header, timestamps);
  if (mismatch !== undefined) throw corruptBatch('bad-header', 0, mismatch);
}

/** Encodes what `produce` was given for one partition, within the same limits as a client batch. */
export function encodeBatchInput(topic: string, partition: number, inputs: readonly EncodableRecord[], limits: BatchLimits): Uint8Array {
  if (inputs.length > limits.batchRecordsMax) {
    throw new BrookError('MESSAGE_TOO_LARGE', `${inputs.length} records for ${topic}/${partition} exceed batchRecordsMax ${limits.batchRecordsMax}`, {
      topic, partition, records: inputs.length, limit: limits.batchRecordsMax,
    });
  }
  const batch = encodeBatch(inputs);
  if (batch.length > limits.batchBytesMax) {
    throw new BrookError('MESSAGE_TOO_LARGE', `batch of ${batch.length} bytes for ${topic}/${partition} exceeds batchBytesMax ${limits.batchBytesMax}`, {
      topic, partition, bytes: batch.length, limit: limits.batchBytesMax,
    });
  }
  return batch;
}
