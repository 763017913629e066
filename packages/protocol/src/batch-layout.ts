/**
 * Where the fields of a RecordBatch header lie (record-batch.ts has the grammar), for the encoding
 * and the decoding halves of the codec.
 */

/** Bytes before the first record. */
export const BATCH_HEADER_BYTES = 61;
/** baseOffset + batchLength, which batchLength does not count: batch size = 12 + batchLength. */
export const BATCH_LOG_OVERHEAD_BYTES = 12;
/** checkBatch's default bound on batchLength: larger means a corrupt length field. */
export const DEFAULT_MAX_BATCH_BYTES = 64 * 1024 * 1024;

// Byte offsets of the header fields (see the grammar in record-batch.ts).
export const BATCH_LENGTH_AT = 8;
export const PARTITION_LEADER_EPOCH_AT = 12;
export const MAGIC_AT = 16;
export const CRC_AT = 17;
export const ATTRIBUTES_AT = 21;
export const LAST_OFFSET_DELTA_AT = 23;
export const BASE_TIMESTAMP_AT = 27;
export const MAX_TIMESTAMP_AT = 35;
export const PRODUCER_ID_AT = 43;
export const PRODUCER_EPOCH_AT = 51;
export const BASE_SEQUENCE_AT = 53;
export const RECORD_COUNT_AT = 57;

export const MAGIC_V2 = 2;
export const MIN_BATCH_LENGTH = BATCH_HEADER_BYTES - BATCH_LOG_OVERHEAD_BYTES;
export const MAX_INT64 = (1n << 63n) - 1n;
export const MIN_INT64 = -(1n << 63n);
export const COMPRESSION_MASK = 0x07;
