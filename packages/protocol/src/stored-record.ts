/**
 * A record decoded from stored batch bytes (decodeStoredBatch), with where its encoding (the
 * Record grammar of record-batch.ts, length included) lies in them: the server copies those bytes
 * into DELIVER frames as they are instead of encoding the record again. Its key, value and header
 * values are copies the reader owns at each read (LazyStoredRecord); `source` must never be written.
 */
import { slabBytes } from './byte-slab.js';
import { assert } from './errors.js';
import { VarintReader } from './varint.js';
import type { LogRecord, RecordHeader } from './record-batch.js';

/** The headers of every record without any: one frozen list for all, not an array each. */
export const NO_RECORD_HEADERS: readonly RecordHeader[] = Object.freeze([]);

export interface StoredRecord extends LogRecord {
  readonly source: Uint8Array;
  readonly sourceStart: number;
  readonly sourceEnd: number;
  /**
   * The key's bytes as a string of one char per byte (null for a null key), made without a copy
   * of the bytes: distinct keys give distinct strings, so 'key' ordering uses it as the key's id.
   */
  keyLatin1(): string | null;
}

/**
 * A StoredRecord as the delivery engine gets it from decodeStoredBatch. Its key and value are
 * made when read, not when decoded: the engine reads the key only for 'key' ordering, the server
 * copies a delivered record's stored bytes (source, sourceStart, sourceEnd) into DELIVER frames
 * without reading either field, and a handler may read neither. Two Uint8Array views per record
 * made eagerly were a tenth of what consuming a record allocated. Each read is a copy the reader
 * owns: the source may be the log's own bytes, shared by every reader (a `shared` read), and
 * nothing that reaches it through a record may write them.
 */
export class LazyStoredRecord implements StoredRecord {
  constructor(
    readonly offset: bigint,
    readonly timestamp: number,
    readonly source: Uint8Array,
    readonly sourceStart: number,
    readonly sourceEnd: number,
    /** Where the key's bytes start in `source`, and how many (-1: a null key). */
    private readonly keyAt: number,
    private readonly keyLength: number,
    private readonly valueAt: number,
    private readonly valueLength: number,
    /** Where the record's headerCount is in `source`; the headers after it were checked by the decoder. */
    private readonly headersAt: number,
  ) {}

  /**
   * Read from the bytes at each read, like key and value: keys as strings, values as copies the
   * reader owns. The server never reads them (a DELIVER frame copies the record's bytes whole), so
   * neither decoder spends a TextDecoder call per header on them.
   */
  get headers(): readonly RecordHeader[] {
    return this.source[this.headersAt] === 0 ? NO_RECORD_HEADERS : checkedHeaders(this.source, this.headersAt, this.sourceEnd);
  }

  get key(): Uint8Array | null {
    return fieldCopy(this.source, this.keyAt, this.keyLength);
  }

  get value(): Uint8Array | null {
    return fieldCopy(this.source, this.valueAt, this.valueLength);
  }

  keyLatin1(): string | null {
    return this.keyLength < 0 ? null : latin1Of(this.source, this.keyAt, this.keyLength);
  }
}

const latin1 = new TextDecoder('latin1');
// ignoreBOM keeps a leading U+FEFF in a header key instead of silently dropping it.
const utf8 = new TextDecoder('utf-8', { ignoreBOM: true });

/**
 * A header key's text. Invalid UTF-8 is replaced, never refused, so a decoder checking a record
 * needs no call of this.
 */
export function headerKeyText(source: Uint8Array, at: number, length: number): string {
  if (length === lastKeyLength && sameBytes(source, at, lastKeyBytes, length)) return lastKeyText;
  const text = utf8.decode(source.subarray(at, at + length));
  if (length <= KEY_MEMO_BYTES_MAX) {
    lastKeyBytes.set(source.subarray(at, at + length));
    lastKeyLength = length;
    lastKeyText = text;
  }
  return text;
}

/**
 * The last header key decoded, as bytes and text. Records mostly carry the same keys (every
 * string or JSON value from the client has a content-type header), and comparing a short key's
 * bytes costs a tenth of a TextDecoder call, which was most of what a header cost a decoder
 * (~180 ns a record). Strings are immutable, so handing the same one out again is safe.
 */
const KEY_MEMO_BYTES_MAX = 64;
const lastKeyBytes = new Uint8Array(KEY_MEMO_BYTES_MAX);
let lastKeyLength = -1;
let lastKeyText = '';

function sameBytes(source: Uint8Array, at: number, memo: Uint8Array, length: number): boolean {
  for (let i = 0; i < length; i++) if (source[at + i] !== memo[i]) return false;
  return true;
}

/**
 * The headers whose headerCount is at `at`, from bytes a decoder already checked (every length in
 * bounds, the section ending by `end`). Asserted as they are read, all the same: a failure here
 * is a bug in a decoder, not bad input.
 */
function checkedHeaders(source: Uint8Array, at: number, end: number): readonly RecordHeader[] {
  const reader = new VarintReader(source, at, end);
  const count = reader.varint();
  // A zero count padded (0x80 0x00, as a client's batch may write it) is still no headers: the
  // shared list, as decodeBatch gives, not an array each read (Delivery hands it out as it is).
  if (count === 0 && reader.failure === null) return NO_RECORD_HEADERS;
  const headers: RecordHeader[] = [];
  for (let i = 0; i < count; i++) {
    const keyLength = reader.varint();
    const keyAt = reader.position;
    reader.position = keyAt + keyLength;
    const valueLength = reader.varint();
    const valueAt = reader.position;
    assert(reader.failure === null && keyLength >= 0 && valueLength >= -1 && valueAt + Math.max(0, valueLength) <= end, 'stored record headers out of bounds');
    headers.push({ key: headerKeyText(source, keyAt, keyLength), value: fieldCopy(source, valueAt, valueLength) });
    reader.position = valueAt + Math.max(0, valueLength);
  }
  assert(reader.failure === null, 'stored record headerCount out of bounds');
  return headers;
}

/** Up to this many bytes a loop beats TextDecoder's call (keys are mostly short). */
const SHORT_LATIN1_BYTES_MAX = 16;

/**
 * One char per byte. A short string and a long one differ in length, so the two ways never give
 * one string for different bytes (TextDecoder's 'latin1' is windows-1252, which maps 0x80-0x9f
 * to other chars than the loop does, but one to one).
 */
function latin1Of(source: Uint8Array, at: number, length: number): string {
  if (length > SHORT_LATIN1_BYTES_MAX) return latin1.decode(source.subarray(at, at + length));
  let text = '';
  for (let i = at; i < at + length; i++) text += String.fromCharCode(source[i]!);
  return text;
}

/** A copy of `length` bytes of `source` from `at`, or null for a null field (length -1). */
function fieldCopy(source: Uint8Array, at: number, length: number): Uint8Array | null {
  if (length < 0) return null;
  const copy = slabBytes(length);
  copy.set(source.subarray(at, at + length));
  return copy;
}
