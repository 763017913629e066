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
import { assert, deadLetterReasonBytes, type LogRecord, type RecordHeader } from '@brook/protocol';
import type { ProduceRecord } from '../topics/record-input.js';
import { STORED_BATCH_BYTES_MAX } from '../config/defaults.js';

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
  readonly record: DeadLetterCopy & { timestamp: number };
}

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
 * plus the trailer's bound for each trailer a record carries (a copy carries the one it is given).
 * A record given up on in a dead-letter topic (a group reading it rejects it) gets a second trailer
 * behind its first: with one trailer's allowance its copy never fitted, and was tried again for
 * ever. A copy back carries one trailer fewer (redrive cuts its last off), usually none: it gets no
 * allowance for the trailer it no longer has, so an origin whose batchBytesMax was lowered below it
 * refuses it (MESSAGE_TOO_LARGE), as it would the record. Never above what a log holds
 * (STORED_BATCH_BYTES_MAX), which batchBytesMax's max leaves room under.
 */
export function copyBatchBytesMax(batchBytesMax: number, records: readonly ProduceRecord[]): number {
  let trailers = 0;
  for (const { headers } of records) {
    if (!Array.isArray(headers)) continue; // trailers are only ever in header lists (build, parse)
    let reasons = 0; // a count, not a filter: this runs for every record of a write of copies
    for (const header of headers as { key: string }[]) if (header.key === DEAD_LETTER_HEADERS.reason) reasons += 1;
    trailers = Math.max(trailers, reasons);
  }
  return Math.min(STORED_BATCH_BYTES_MAX, batchBytesMax + trailers * DEAD_LETTER_TRAILER_BYTES_MAX);
}

/** A dead-letter copy as build makes it: a ProduceRecord whose fields are bytes, so it can be sized as it will be encoded. */
export interface DeadLetterCopy extends ProduceRecord {
  key: Uint8Array | null;
  value: Uint8Array | null;
  headers: RecordHeader[];
}

export const deadLetterRecord = {
  build(record: LogRecord, origin: DeadLetterOrigin): DeadLetterCopy {
    const values: Record<Exclude<TrailerField, 'reason'>, string> = {
      topic: origin.topic,
      partition: String(origin.partition),
      offset: origin.offset.toString(),
      timestamp: String(record.timestamp),
      group: origin.group,
      deliveryCount: String(origin.deliveryCount),
    };
    const trailer = TRAILER.map((field) => ({ key: DEAD_LETTER_HEADERS[field], value: field === 'reason' ? deadLetterReasonBytes(origin.reason) : asciiBytes(values[field]) }));
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

/**
 * The bytes of a trailer value other than the reason: digits, or a topic or group name, which are
 * ASCII by their naming rule. A loop: TextEncoder.encode cost a dead-letter copy more than its
 * whole batch encoding did.
 */
function asciiBytes(text: string): Uint8Array {
  const bytes = new Uint8Array(text.length);
  let units = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    units |= unit;
    bytes[i] = unit;
  }
  assert(units < 0x80, 'dead-letter trailer value is not ASCII', { text });
  return bytes;
}

/**
 * Up to 2^53-1, as a produce takes a timestamp (16 digits): with 15 at most, a record produced
 * with a timestamp of 10^15 or more (microseconds, say) was no dead letter to redrive, and waited
 * skipped for ever.
 */
function wholeNumber(digits: string): number | undefined {
  if (!/^\d{1,16}$/.test(digits)) return undefined;
  const number = Number(digits);
  return Number.isSafeInteger(number) ? number : undefined;
}

/** Where dead-letter copies go: the broker's topics. */
export interface DeadLetterTarget {
  /** Creates the dead-letter topic with default settings on first use. */
  ensureTopic(topic: string): Promise<void>;
  partitions(topic: string): readonly unknown[];
  produce(topic: string, records: ProduceRecord[]): Promise<{ partition: number; offset: bigint }[]>;
}
