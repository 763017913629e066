/**
 * What `produce` accepts for one record, and its conversion to the codec's `RecordInput`:
 * strings become UTF-8, a missing timestamp becomes the broker clock's now. Anything else is
 * rejected with INVALID_REQUEST naming the record's position, before any byte is written.
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
 * `record`, the `position`-th of a produce, as the codec's input. `nowMs` is the timestamp of a
 * record without one: the broker reads its clock once per produce, so records sent together
 * share it (and a clock read per record was a measurable share of produce time).
 */
export function toRecordInput(record: ProduceRecord, position: number, nowMs: number): EncodableRecord {
  if (typeof record !== 'object' || record === null) throw invalidRecord(position, 'a record must be an object');
  const timestamp = recordTimestamp(record.timestamp, nowMs, position);
  checkRecordPartition(record.partition, position);
  if (record.value === undefined) throw invalidRecord(position, 'value must be a string, Uint8Array or null, got undefined');
  return {
    key: toRecordField(record.key, position, 'key'),
    value: toRecordField(record.value, position, 'value'),
    headers: record.headers === undefined ? undefined : toRecordHeaders(record.headers, position),
    timestamp,
  };
}
