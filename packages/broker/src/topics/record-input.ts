/**
 * What `produce` accepts for one record, and its conversion to the codec's `RecordInput`:
 * strings become UTF-8, a missing timestamp becomes the broker clock's now. Anything else is
 * rejected with INVALID_REQUEST naming the record's position, before any byte is written.
 */
import { BrookError, type RecordHeader, type RecordInput } from '@brook/protocol';

export type RecordBytes = string | Uint8Array | null;

export interface ProduceRecord {
  key?: RecordBytes;
  value: RecordBytes;
  /** Header values may be null; header keys are strings (Kafka's rule). */
  headers?: Readonly<Record<string, RecordBytes>> | readonly RecordHeader[];
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
export function toRecordInput(record: ProduceRecord, position: number, nowMs: number): RecordInput {
  if (typeof record !== 'object' || record === null) throw invalid(position, 'a record must be an object');
  const timestamp = record.timestamp ?? nowMs;
  if (!Number.isSafeInteger(timestamp) || timestamp < 0) throw invalid(position, `timestamp must be a non-negative integer, got ${String(record.timestamp)}`);
  if (record.partition !== undefined && (!Number.isInteger(record.partition) || record.partition < 0)) {
    throw invalid(position, `partition must be a non-negative integer, got ${String(record.partition)}`);
  }
  return {
    key: toBytes(record.key ?? null, position, 'key'),
    value: toBytes(record.value, position, 'value'),
    headers: record.headers === undefined ? undefined : toHeaders(record.headers, position),
    timestamp,
  };
}

function toBytes(value: unknown, position: number, field: string): Uint8Array | null {
  if (value === null) return null;
  // Buffer.from, not TextEncoder.encode: the same bytes (a lone surrogate becomes U+FFFD either
  // way) at less than half the cost for strings up to a few hundred bytes, which Node carves
  // from a shared pool instead of allocating a buffer each.
  if (typeof value === 'string') return Buffer.from(value, 'utf8');
  if (value instanceof Uint8Array) return value;
  throw invalid(position, `${field} must be a string, Uint8Array or null, got ${value === undefined ? 'undefined' : typeof value}`);
}

function toHeaders(headers: NonNullable<ProduceRecord['headers']>, position: number): RecordHeader[] {
  if (Array.isArray(headers)) {
    return headers.map((header: RecordHeader) => {
      if (typeof header?.key !== 'string') throw invalid(position, 'header keys must be strings');
      return { key: header.key, value: toBytes(header.value, position, `header ${header.key}`) };
    });
  }
  if (typeof headers !== 'object' || headers === null) throw invalid(position, 'headers must be an object or an array');
  return Object.entries(headers).map(([key, value]) => ({ key, value: toBytes(value, position, `header ${key}`) }));
}

function invalid(position: number, message: string): BrookError {
  return new BrookError('INVALID_REQUEST', `record ${position}: ${message}`, { record: position });
}
