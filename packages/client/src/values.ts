/**
 * What a producer accepts as a record, and its encoding into the codec's RecordInput:
 *
 *   value: string      → UTF-8 bytes, header content-type: text/plain
 *          Uint8Array  → the bytes as they are, no content-type
 *          null        → a null value (a tombstone)
 *          anything else JSON-able → fast-json-stable-stringify (stable key order, so equal
 *                        objects give equal bytes), header content-type: application/json
 *
 * A content-type the caller sets in `headers` wins. Records without headers of their own share
 * one frozen header array: the hot path allocates nothing per record beyond the bytes.
 */
import stableStringify from 'fast-json-stable-stringify';
import {
  BrookError, checkRecordPartition, checkStringFields, invalidRecord, recordTimestamp, toRecordField, toRecordHeaders, type EncodableRecord, type RecordBytes, type RecordField, type RecordHeader, type RecordHeadersInput, type SessionLimits,
} from '@brook/protocol';

export type { RecordBytes };

/** A value: bytes, text, or any JSON-able value (objects, arrays, numbers, booleans). */
export type RecordValue = RecordBytes | object | number | boolean;

export interface ProducerRecord {
  key?: RecordBytes;
  value: RecordValue;
  /** Header values may be null; keys are strings. An array keeps duplicates and order. */
  headers?: RecordHeadersInput;
  /** Milliseconds since the epoch; default: the client clock's now when send() is called. */
  timestamp?: number;
  /** Overrides the partitioner. */
  partition?: number;
}

/**
 * What both producers' send() check first: a topic that is a string (INVALID_REQUEST naming it,
 * as Broker.produce says, not a lookup's complaint about describeTopic's `name`), a non-empty
 * array of records.
 */
export function checkSendArguments(topic: unknown, records: unknown): void {
  checkStringFields({ topic });
  if (!Array.isArray(records) || records.length === 0) throw new BrookError('INVALID_REQUEST', 'send needs a non-empty array of records', { topic });
}

export const CONTENT_TYPE = 'content-type';
const JSON_HEADERS: readonly RecordHeader[] = Object.freeze([Object.freeze({ key: CONTENT_TYPE, value: Buffer.from('application/json') })]);
const TEXT_HEADERS: readonly RecordHeader[] = Object.freeze([Object.freeze({ key: CONTENT_TYPE, value: Buffer.from('text/plain') })]);
const NO_HEADERS: readonly RecordHeader[] = Object.freeze([]);

/** A send's records as the codec's inputs, with the partitions they name (undefined: the partitioner's choice). */
export interface SendInputs {
  readonly inputs: EncodableRecord[];
  readonly partitions: (number | undefined)[];
}

/**
 * `records` as a send's inputs, taken at once: the caller may reuse its array, its records and
 * their JSON values as soon as send() returns, even while the send still waits for its topic's
 * partition count. Uint8Array keys, values and headers are not copied (that would cost every
 * send a copy): they are read when the batch is encoded, so they must stay as they are until
 * the send settles.
 */
export function toSendInputs(records: readonly ProducerRecord[], nowMs: number, server: SessionLimits): SendInputs {
  // Array.from, not map: map skips the holes of a sparse array, which must fail as non-records.
  const inputs = Array.from(records, (record, position) => toRecordInput(record, position, nowMs));
  checkTimestampsAhead(inputs, nowMs, server.timestampAheadMsMax);
  return { inputs, partitions: Array.from(records, (record) => record.partition) };
}

/**
 * The broker refuses a batch whole if a record is stamped more than its timestampAheadMsMax after
 * its clock: one record found there would fail every send its batch holds (a WAL producer's whole
 * part). So a send is held to it here, on this client's clock, and fails alone. (A clock ahead
 * of the broker's still lets through a record the broker refuses.) No limit from a broker before it.
 */
function checkTimestampsAhead(inputs: readonly EncodableRecord[], nowMs: number, aheadMsMax: number | undefined): void {
  if (aheadMsMax === undefined) return;
  const position = inputs.findIndex((input) => input.timestamp > nowMs + aheadMsMax);
  if (position >= 0) {
    throw invalidRecord(position, `timestamp ${inputs[position]!.timestamp} is more than the broker's timestampAheadMsMax ${aheadMsMax} ms ahead of this client's clock (${nowMs})`);
  }
}

/** `record`, the `position`-th of a send, as the codec's input; `nowMs` stamps records without a timestamp. */
export function toRecordInput(record: ProducerRecord, position: number, nowMs: number): EncodableRecord {
  if (typeof record !== 'object' || record === null) throw invalidRecord(position, 'a record must be an object');
  const timestamp = recordTimestamp(record.timestamp, nowMs, position);
  checkRecordPartition(record.partition, position);
  const { value } = record;
  let bytes: RecordField;
  let typeHeaders: readonly RecordHeader[];
  if (value === null || value instanceof Uint8Array) {
    bytes = value;
    typeHeaders = NO_HEADERS;
  } else if (typeof value === 'string') {
    bytes = toRecordField(value, position, 'value');
    typeHeaders = TEXT_HEADERS;
  } else if (value === undefined || typeof value === 'function' || typeof value === 'symbol' || typeof value === 'bigint') {
    throw invalidRecord(position, `value must be a string, Uint8Array, null or JSON-able, got ${typeof value}`);
  } else if (value instanceof ArrayBuffer || ArrayBuffer.isView(value)) {
    // JSON would make an ArrayBuffer `{}` and an Int16Array an object of indexes: bytes meant as
    // bytes, silently lost. Only a Uint8Array is sent as bytes.
    throw invalidRecord(position, `value is a ${value.constructor.name}: send bytes as a Uint8Array (new Uint8Array(buffer, offset, length))`);
  } else {
    bytes = Buffer.from(toJson(value, position), 'utf8');
    typeHeaders = JSON_HEADERS;
  }
  return { key: toRecordField(record.key, position, 'key'), value: bytes, headers: withHeaders(record.headers, typeHeaders, position), timestamp };
}

/**
 * A circular value, a bigint inside one, a toJSON that throws or gives nothing JSON can hold
 * (undefined, a function) is bad input like any other: INVALID_REQUEST, not a TypeError.
 */
function toJson(value: object | number | boolean, position: number): string {
  let json: string | undefined;
  try {
    json = stableStringify(value);
  } catch (error) {
    throw invalidRecord(position, `value is not JSON-able: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  if (json === undefined) throw invalidRecord(position, 'value is not JSON-able: its toJSON gives no JSON value');
  return json;
}

function withHeaders(headers: ProducerRecord['headers'], typeHeaders: readonly RecordHeader[], position: number): readonly RecordHeader[] {
  if (headers === undefined) return typeHeaders;
  const own = toRecordHeaders(headers, position);
  if (typeHeaders.length === 0 || own.some((header) => header.key.toLowerCase() === CONTENT_TYPE)) return own;
  return [...typeHeaders, ...own];
}
