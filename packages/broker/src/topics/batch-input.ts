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
 */
import { BATCH_LOG_OVERHEAD_BYTES, BrookError, corruptBatch, encodeBatch, verifyBatch, type BatchHeader, type EncodableRecord } from '@brook/protocol';

export interface BatchLimits {
  readonly batchBytesMax: number;
  readonly batchRecordsMax: number;
}

/** Attribute bits 4 and 5. */
const TRANSACTIONAL_OR_CONTROL = 0x30;

/** Checks a client-encoded batch; returns its header. */
export function checkBatchInput(batch: unknown, limits: BatchLimits): BatchHeader {
  if (!(batch instanceof Uint8Array)) throw new BrookError('INVALID_REQUEST', 'batch must be a Uint8Array', {});
  if (batch.length > limits.batchBytesMax) {
    throw new BrookError('MESSAGE_TOO_LARGE', `batch of ${batch.length} bytes exceeds batchBytesMax ${limits.batchBytesMax}`, {
      bytes: batch.length, limit: limits.batchBytesMax,
    });
  }
  const header = verifyBatch(batch);
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
  if ((header.attributes & TRANSACTIONAL_OR_CONTROL) !== 0) {
    throw new BrookError('INVALID_REQUEST', `batch attributes ${header.attributes}: transactional and control batches are not supported`, {
      attributes: header.attributes,
    });
  }
  return header;
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
