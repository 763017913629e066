/**
 * The dead-letter record: the original key, value and headers, followed by a trailer of headers
 * naming where it came from and why it was given up on, always these seven in this order:
 *
 *   brook.origin.topic / brook.origin.partition / brook.origin.offset / brook.origin.timestamp
 *   brook.group / brook.delivery-count / brook.reason
 *
 * Redrive reads the origin from that trailer and restores the record by cutting exactly the
 * trailer off: the record's own headers stay, even ones that happen to use the same names.
 */
import { assert, deadLetterReasonBytes, type LogRecord } from '@brook/protocol';
import type { ProduceRecord } from '../topics/record-input.js';
import { LIMITS } from '../config/defaults.js';

/** The reason's bound, and its cut, are the protocol's: the client cuts what it sends the same way. */
export { DEAD_LETTER_REASON_BYTES_MAX } from '@brook/protocol';

/** A header key or value length under 2^13 takes at most this many bytes as a zigzag varint. */
const MAX_VARINT_BYTES = 2;

/** In trailer order: `build` appends them in this (insertion) order and `parse` expects it. */
export const DEAD_LETTER_HEADERS = Object.freeze({
  topic: 'brook.origin.topic',
  partition: 'brook.origin.partition',
  offset: 'brook.origin.offset',
  timestamp: 'brook.origin.timestamp',
  group: 'brook.group',
  deliveryCount: 'brook.delivery-count',
  reason: 'brook.reason',
});

type TrailerField = keyof typeof DEAD_LETTER_HEADERS;
const TRAILER = Object.keys(DEAD_LETTER_HEADERS) as TrailerField[];

export interface DeadLetterOrigin {
  readonly topic: string;
  readonly partition: number;
  readonly offset: bigint;
  readonly group: string;
  readonly deliveryCount: number;
  readonly reason: string;
}

/** A dead-letter record taken apart: where it goes back to, and what goes back. */
export interface ParsedDeadLetter {
  readonly origin: { readonly topic: string; readonly partition: number };
  /** The record as it was before it was dead-lettered, with its original timestamp. */
  readonly record: ProduceRecord;
}

const utf8 = new TextEncoder();
const text = new TextDecoder();

/**
 * The most the trailer adds to a record, in encoded bytes: names and values of seven headers,
 * topic and group at most 249 characters of ASCII, the reason at most DEAD_LETTER_REASON_BYTES_MAX.
 * A record the broker took in a batch within batchBytesMax can always be copied in one within
 * batchBytesMax plus this (Broker's dead-letter appends allow it).
 */
export const DEAD_LETTER_TRAILER_BYTES_MAX = 2048;

/**
 * The batch limit for dead-letter copies of `records` (and for redrive's copies back): batchBytesMax
 * plus the trailer's bound for each trailer a record carries, at least one. A record given up on
 * in a dead-letter topic (a group reading it rejects it) gets a second trailer behind its first:
 * with one trailer's allowance its copy never fitted, and was tried again for ever. Never above
 * the format's own bound (LIMITS.batchBytesMax.max).
 */
export function copyBatchBytesMax(batchBytesMax: number, records: readonly ProduceRecord[]): number {
  let trailers = 1;
  for (const { headers } of records) {
    if (!Array.isArray(headers)) continue; // trailers are only ever in header lists (build, parse)
    trailers = Math.max(trailers, headers.filter((header: { key: string }) => header.key === DEAD_LETTER_HEADERS.reason).length);
  }
  return Math.min(LIMITS.batchBytesMax.max, batchBytesMax + trailers * DEAD_LETTER_TRAILER_BYTES_MAX);
}

export const deadLetterRecord = {
  build(record: LogRecord, origin: DeadLetterOrigin): ProduceRecord {
    const values: Record<Exclude<TrailerField, 'reason'>, string> = {
      topic: origin.topic,
      partition: String(origin.partition),
      offset: origin.offset.toString(),
      timestamp: String(record.timestamp),
      group: origin.group,
      deliveryCount: String(origin.deliveryCount),
    };
    const trailer = TRAILER.map((field) => ({ key: DEAD_LETTER_HEADERS[field], value: field === 'reason' ? deadLetterReasonBytes(origin.reason) : utf8.encode(values[field]) }));
    let trailerBytes = 0;
    for (const header of trailer) trailerBytes += header.key.length + header.value.length + 2 * MAX_VARINT_BYTES;
    assert(trailerBytes <= DEAD_LETTER_TRAILER_BYTES_MAX, 'dead-letter trailer over its bound', { trailerBytes });
    return { key: record.key, value: record.value, headers: [...record.headers, ...trailer] };
  },

  /**
   * Takes a dead-letter record apart; undefined if it is not one (its headers do not end with the
   * trailer `build` appends, or the trailer's partition or timestamp is not a number).
   */
  parse(record: LogRecord): ParsedDeadLetter | undefined {
    const start = record.headers.length - TRAILER.length;
    if (start < 0) return undefined;
    const values = new Map<TrailerField, string>();
    for (const [i, field] of TRAILER.entries()) {
      const header = record.headers[start + i]!;
      if (header.key !== DEAD_LETTER_HEADERS[field] || header.value === null) return undefined;
      values.set(field, text.decode(header.value));
    }
    const partition = wholeNumber(values.get('partition')!);
    const timestamp = wholeNumber(values.get('timestamp')!);
    if (partition === undefined || timestamp === undefined) return undefined;
    return {
      origin: { topic: values.get('topic')!, partition },
      record: { key: record.key, value: record.value, headers: record.headers.slice(0, start), timestamp },
    };
  },
};

function wholeNumber(digits: string): number | undefined {
  return /^\d{1,15}$/.test(digits) ? Number(digits) : undefined;
}

/** Where dead-letter copies go: the broker's topics. */
export interface DeadLetterTarget {
  /** Creates the dead-letter topic with default settings on first use. */
  ensureTopic(topic: string): Promise<void>;
  partitions(topic: string): readonly unknown[];
  produce(topic: string, records: ProduceRecord[]): Promise<{ partition: number; offset: bigint }[]>;
}

/**
 * Copies `record` to `deadLetterTopic` with its trailer; resolves with the copy's offset. The copy
 * goes to the dead-letter partition of its origin partition's number (modulo their count), not by
 * its key: redrive reads one dead-letter partition after another, so the records of one origin
 * partition (every record of a key among them) go back in the order they were given up on.
 */
export async function copyToDeadLetterTopic(target: DeadLetterTarget, deadLetterTopic: string, record: LogRecord, origin: DeadLetterOrigin): Promise<bigint> {
  await target.ensureTopic(deadLetterTopic);
  const partition = origin.partition % target.partitions(deadLetterTopic).length;
  const [result] = await target.produce(deadLetterTopic, [{ ...deadLetterRecord.build(record, origin), partition }]);
  return result!.offset;
}
