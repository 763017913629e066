/**
 * A WAL RECORD frame's body: the record as a RecordBatch v2 of one record, baseOffset = its
 * record sequence. Reusing the batch codec means one record format (and its CRC and decoder)
 * everywhere, and gives the exact size the record will take in the batch the producer sends.
 */
import {
  BATCH_HEADER_BYTES, BrookError, assert, decodeBatch, encodeBatch, setBaseOffset, sizeOfVarint, sizeOfVarlong,
  type RecordHeader, type RecordInput,
} from '@brook/protocol';
import { FRAME_HEADER_BYTES, FrameKind, encodeFrame } from './frame-codec.js';

/** What put() takes: the record fields, timestamp defaulting to the buffer's clock. */
export interface WalRecordInput {
  key?: Uint8Array | null;
  value: Uint8Array | null;
  headers?: readonly RecordHeader[];
  /** Milliseconds since the epoch, 0 .. 2^52 (so any two differ by a safe integer). */
  timestamp?: number;
}

/** A record in the buffer: what put() took, its sequence, and its sizes. */
export interface BufferedRecord {
  readonly record: RecordInput;
  readonly sequence: number;
  /** Size of the record alone as a one-record batch (both deltas 0). */
  readonly singleBatchBytes: number;
  /** Size of its WAL frame: what it counts against walBytesMax. */
  readonly frameBytes: number;
}

const TIMESTAMP_MAX_MS = 2 ** 52;

export function toRecordInput(input: WalRecordInput, nowMs: number): RecordInput {
  const timestamp = input.timestamp ?? nowMs;
  if (!Number.isSafeInteger(timestamp) || timestamp < 0 || timestamp > TIMESTAMP_MAX_MS) {
    throw new BrookError('INVALID_REQUEST', `timestamp must be an integer in 0..2^52 ms, got ${timestamp}`, { timestamp });
  }
  const record: RecordInput = { key: input.key ?? null, value: input.value, timestamp };
  return input.headers === undefined || input.headers.length === 0 ? record : { ...record, headers: input.headers };
}

/** A record encoded before it has a sequence: sizes are known, so put() can check them first. */
export interface EncodedRecord {
  readonly record: RecordInput;
  readonly single: Uint8Array;
  readonly frameBytes: number;
}

/** Throws INVALID_REQUEST for fields the batch codec refuses. */
export function encodeRecord(record: RecordInput): EncodedRecord {
  const single = encodeBatch([record]);
  return { record, single, frameBytes: FRAME_HEADER_BYTES + single.length };
}

/** Stamps the record's sequence (baseOffset, outside the batch CRC) and frames it. */
export function frameRecord(encoded: EncodedRecord, sequence: number): { buffered: BufferedRecord; frame: Uint8Array } {
  setBaseOffset(encoded.single, BigInt(sequence));
  const frame = encodeFrame(FrameKind.RECORD, encoded.single);
  const buffered = { record: encoded.record, sequence, singleBatchBytes: encoded.single.length, frameBytes: frame.length };
  return { buffered, frame };
}

/**
 * Decodes a RECORD frame's body, copying key, value and headers out of the read buffer so a
 * recovered record does not pin a whole segment chunk in memory. Throws CORRUPT_BATCH.
 */
export function decodeRecord(body: Uint8Array, frameBytes: number): BufferedRecord {
  const { header, records } = decodeBatch(body);
  const decoded = records[0];
  if (records.length !== 1 || decoded === undefined) {
    throw new BrookError('CORRUPT_BATCH', `a WAL record frame holds ${records.length} records`, { reason: 'bad-record' });
  }
  const headers = decoded.headers.map((h) => ({ key: h.key, value: h.value?.slice() ?? null }));
  const record: RecordInput = { key: decoded.key?.slice() ?? null, value: decoded.value?.slice() ?? null, timestamp: decoded.timestamp };
  return {
    record: headers.length === 0 ? record : { ...record, headers },
    sequence: Number(header.baseOffset),
    singleBatchBytes: body.length,
    frameBytes,
  };
}

/**
 * Exact bytes a record adds to a batch at `offsetDelta` with `timestampDelta`, derived from its
 * one-record batch, where both deltas are 0 and take one varint byte each. The record there is
 * `length varint + body`; body + sizeOfVarint(body) grows strictly with body, so exactly one
 * varint width gives a consistent split.
 */
export function recordBytesInBatch(singleBatchBytes: number, offsetDelta: number, timestampDelta: number): number {
  const framed = singleBatchBytes - BATCH_HEADER_BYTES;
  let body0 = -1;
  for (let width = 1; width <= 5 && body0 < 0; width++) if (sizeOfVarint(framed - width) === width) body0 = framed - width;
  assert(body0 > 0, 'no varint split of the record', { framed });
  const body = body0 - 2 + sizeOfVarint(offsetDelta) + sizeOfVarlong(timestampDelta);
  return sizeOfVarint(body) + body;
}
