/**
 * What `produce` accepts for one record, and its conversion to the codec's `RecordInput`:
 * strings become UTF-8, a missing timestamp becomes the broker clock's now. Anything else is
 * rejected with INVALID_REQUEST naming the record's position, before any byte is written, and so
 * is a timestamp further ahead of the broker's clock than timestampAheadMsMax.
 */
import { checkRecordPartition, invalidRecord, recordTimestamp, toRecordField, toRecordHeaders, type EncodableRecord, type RecordBytes, type RecordHeadersInput } from '@brook/protocol';

export type { RecordBytes };

export interface ProduceRecord {
  key?: RecordBytes;
  value: RecordBytes;
  /** Header values may be null; header keys are strings (Kafka's rule). */
  headers?: RecordHeadersInput;
  /** Milliseconds since the epoch; defaults to the broker clock's now, read once per produce call. */
  timestamp?: number;
  /** Overrides the partitioner. */
  partition?: number;
}

/**
 * The broker's wall clock as a produce came (read once per produce: records sent together share
 * it, and a clock read per record was a measurable share of produce time), and the latest record
 * timestamp the produce may carry.
 */
export interface ProduceTime {
  readonly nowMs: number;
  /** nowMs + timestampAheadMsMax; Infinity for a copy of a record (dead letter, redrive), whose timestamp is the original's. */
  readonly latestMs: number;
}

/** The broker's time for a produce from a client, which timestampAheadMsMax holds its timestamps to. */
export function produceTime(nowMs: number, timestampAheadMsMax: number): ProduceTime {
  return { nowMs, latestMs: nowMs + timestampAheadMsMax };
}

/**
 * Refuses the timestamp of record `position` if it is past `time.latestMs`. Kafka's
 * message.timestamp.after.max.ms: maxAgeMs retention keeps a segment, and every later one,
 * until its newest record is old, so a record stamped far ahead would hold retention off.
 */
export function checkTimestampAhead(timestamp: number, position: number, time: ProduceTime): void {
  if (timestamp > time.latestMs) {
    throw invalidRecord(position, `timestamp ${timestamp} is ${timestamp - time.nowMs} ms ahead of the broker's clock, more than timestampAheadMsMax ${time.latestMs - time.nowMs}`);
  }
}

/** `record`, the `position`-th of a produce, as the codec's input; a record without a timestamp gets `time.nowMs`. */
export function toRecordInput(record: ProduceRecord, position: number, time: ProduceTime): EncodableRecord {
  if (typeof record !== 'object' || record === null) throw invalidRecord(position, 'a record must be an object');
  const timestamp = recordTimestamp(record.timestamp, time.nowMs, position);
  checkTimestampAhead(timestamp, position, time);
  checkRecordPartition(record.partition, position);
  if (record.value === undefined) throw invalidRecord(position, 'value must be a string, Uint8Array or null, got undefined');
  return {
    key: toRecordField(record.key, position, 'key'),
    value: toRecordField(record.value, position, 'value'),
    headers: record.headers === undefined ? undefined : toRecordHeaders(record.headers, position),
    timestamp,
  };
}
