/**
 * Checks and conversions that every entry point taking records from a caller shares (the
 * broker's produce, the client's send): keys and header values as bytes, headers as a list,
 * timestamps as timestamps.ts says. A bad field fails with INVALID_REQUEST naming the
 * record's position, before any byte is written or sent.
 */
import { slabAsciiBytes } from './byte-slab.js';
import { BrookError } from './errors.js';
import { showValue } from './show-value.js';
import type { AsciiText, RecordField, RecordHeader } from './record-batch.js';
import { isTimestampMs } from './timestamps.js';

/** A key, or a header value: text (UTF-8 encoded), bytes, or null. */
export type RecordBytes = string | Uint8Array | null;

/** Headers as an object (one value per key) or as a list (duplicates and order kept). */
export type RecordHeadersInput = Readonly<Record<string, RecordBytes>> | readonly RecordHeader[];

/** Longest string kept as text (toRecordField) or copied into a slab as ASCII (toRecordBytes, byte-slab.ts). */
const SHORT_ASCII_MAX = 64;

export function invalidRecord(position: number, message: string, options?: ErrorOptions): BrookError {
  return new BrookError('INVALID_REQUEST', `record ${position}: ${message}`, { record: position }, options);
}

/**
 * A key or value as the encoder takes it; undefined counts as null (an absent key). A short ASCII
 * string stays text (AsciiText), which the encoder and the partitioner read a char at a time: a
 * byte array per record, even a view into a slab, cost ~20 ns and ~70 bytes of heap each, for
 * keys that are mostly such strings. Other strings become their UTF-8 bytes.
 */
export function toRecordField(value: unknown, position: number, field: string): RecordField {
  if (typeof value === 'string') return isShortAscii(value) ? (value as AsciiText) : Buffer.from(value, 'utf8');
  return toRecordBytes(value, position, field);
}

/** A field's bytes, for code that keeps or hands out bytes (AsciiText's chars are its bytes). */
export function recordFieldBytes(field: RecordField): Uint8Array | null {
  return typeof field === 'string' ? Buffer.from(field, 'latin1') : field;
}

function isShortAscii(text: string): boolean {
  if (text.length > SHORT_ASCII_MAX) return false;
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0x7f) return false;
  return true;
}

/** Bytes of a header value, or of a key or value that is not text; undefined counts as null. */
export function toRecordBytes(value: unknown, position: number, field: string): Uint8Array | null {
  if (value === null || value === undefined) return null;
  // A short ASCII string is copied into a slab: even Buffer.from costs ~150 ns a call for it
  // (7 % of in-process produce-and-consume time when keys went this way). Others go to
  // Buffer.from, not TextEncoder.encode: the same bytes (a lone surrogate becomes U+FFFD either
  // way) at less than half the cost for strings up to a few hundred bytes.
  if (typeof value === 'string') return slabAsciiBytes(value, SHORT_ASCII_MAX) ?? Buffer.from(value, 'utf8');
  if (value instanceof Uint8Array) return value;
  throw invalidRecord(position, `${field} must be a string, Uint8Array or null, got ${typeof value}`);
}

export function toRecordHeaders(headers: RecordHeadersInput, position: number): RecordHeader[] {
  if (Array.isArray(headers)) {
    return headers.map((header: RecordHeader) => {
      if (typeof header?.key !== 'string') throw invalidRecord(position, 'header keys must be strings');
      return { key: header.key, value: toRecordBytes(header.value, position, `header ${header.key}`) };
    });
  }
  if (typeof headers !== 'object' || headers === null) throw invalidRecord(position, 'headers must be an object or an array');
  return Object.entries(headers).map(([key, value]) => ({ key, value: toRecordBytes(value, position, `header ${key}`) }));
}

/** The record's timestamp, or `nowMs` without one; anything outside timestamps.ts's rule fails. */
export function recordTimestamp(timestamp: unknown, nowMs: number, position: number): number {
  const resolved = timestamp ?? nowMs;
  if (!isTimestampMs(resolved)) throw invalidRecord(position, `timestamp must be an integer in 0..2^53-1, got ${showValue(timestamp)}`);
  return resolved;
}

/**
 * A record's explicit partition, if any: a non-negative integer, else INVALID_REQUEST (a partition
 * the topic does not have is UNKNOWN_PARTITION, told once the topic is known). Shared by
 * Broker.produce and the client's producers so a bad one gets the same code from both.
 */
export function checkRecordPartition(partition: unknown, position: number): void {
  if (partition !== undefined && (!Number.isInteger(partition) || (partition as number) < 0)) {
    throw invalidRecord(position, `partition must be a non-negative integer, got ${showValue(partition)}`);
  }
}

/** text() keeps a leading byte-order mark: the value's bytes, all of them, as a string. */
const utf8 = new TextDecoder('utf-8', { ignoreBOM: true });
/** json() skips one, as JSON.parse would not accept it and JSON files often start with one. */
const utf8WithoutBom = new TextDecoder();

/**
 * The ways a consumer reads a record, shared by the broker's Delivery and the client's Message so
 * both behave alike: the value as UTF-8 text or parsed JSON (null for a null value), a header by key.
 */
export const recordReading = {
  text(value: Uint8Array | null): string | null {
    return value === null ? null : utf8.decode(value);
  },
  /**
   * A value that is not JSON is INVALID_REQUEST (reading it as JSON asks what it cannot give; the
   * record itself is fine, text() reads it), with the SyntaxError as `cause`.
   */
  json<T>(value: Uint8Array | null): T {
    try {
      return JSON.parse(value === null ? 'null' : utf8WithoutBom.decode(value)) as T;
    } catch (error) {
      throw new BrookError('INVALID_REQUEST', `the value is not JSON: ${(error as Error).message}`, { bytes: value!.length }, { cause: error });
    }
  },
  /** The value of the first header named `key`: undefined if absent, null if its value is null. */
  header(headers: readonly RecordHeader[], key: string): Uint8Array | null | undefined {
    return headers.find((header) => header.key === key)?.value;
  },
};
