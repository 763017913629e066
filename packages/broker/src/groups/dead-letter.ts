/**
 * The dead-letter record: the original key, value and headers, plus headers naming where it came
 * from and why it was given up on. Redrive reads the origin headers back and restores the record
 * without them.
 *
 *   brook.origin.topic / brook.origin.partition / brook.origin.offset / brook.origin.timestamp
 *   brook.group / brook.delivery-count / brook.reason
 */
import { BrookError, type LogRecord, type RecordHeader } from '@brook/protocol';
import type { ProduceRecord } from '../topics/record-input.js';

export const DEAD_LETTER_HEADERS = Object.freeze({
  topic: 'brook.origin.topic',
  partition: 'brook.origin.partition',
  offset: 'brook.origin.offset',
  timestamp: 'brook.origin.timestamp',
  group: 'brook.group',
  deliveryCount: 'brook.delivery-count',
  reason: 'brook.reason',
});

export interface DeadLetterOrigin {
  readonly topic: string;
  readonly partition: number;
  readonly offset: bigint;
  readonly group: string;
  readonly deliveryCount: number;
  readonly reason: string;
}

const utf8 = new TextEncoder();
const text = new TextDecoder();
const OWN_HEADERS = new Set<string>(Object.values(DEAD_LETTER_HEADERS));

export const deadLetterRecord = {
  build(record: LogRecord, origin: DeadLetterOrigin): ProduceRecord {
    const headers: RecordHeader[] = [
      ...record.headers,
      { key: DEAD_LETTER_HEADERS.topic, value: utf8.encode(origin.topic) },
      { key: DEAD_LETTER_HEADERS.partition, value: utf8.encode(String(origin.partition)) },
      { key: DEAD_LETTER_HEADERS.offset, value: utf8.encode(origin.offset.toString()) },
      { key: DEAD_LETTER_HEADERS.timestamp, value: utf8.encode(String(record.timestamp)) },
      { key: DEAD_LETTER_HEADERS.group, value: utf8.encode(origin.group) },
      { key: DEAD_LETTER_HEADERS.deliveryCount, value: utf8.encode(String(origin.deliveryCount)) },
      { key: DEAD_LETTER_HEADERS.reason, value: utf8.encode(origin.reason) },
    ];
    return { key: record.key, value: record.value, headers };
  },

  /** Where a dead-lettered record came from; CORRUPT_BATCH if its origin headers are missing. */
  origin(record: LogRecord): { topic: string; partition: number } {
    const read = (key: string) => {
      const value = record.headers.find((h) => h.key === key)?.value;
      if (!value) throw new BrookError('INVALID_REQUEST', `record ${record.offset} has no ${key} header: not a dead-letter record`, { offset: record.offset, header: key });
      return text.decode(value);
    };
    return { topic: read(DEAD_LETTER_HEADERS.topic), partition: Number(read(DEAD_LETTER_HEADERS.partition)) };
  },

  /** The record as it was before it was dead-lettered (origin headers removed), with its original timestamp. */
  restore(record: LogRecord): ProduceRecord {
    const timestamp = record.headers.find((h) => h.key === DEAD_LETTER_HEADERS.timestamp)?.value;
    return {
      key: record.key,
      value: record.value,
      headers: record.headers.filter((h) => !OWN_HEADERS.has(h.key)),
      ...(timestamp ? { timestamp: Number(text.decode(timestamp)) } : {}),
    };
  },
};
