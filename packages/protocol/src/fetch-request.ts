/**
 * A read of one partition by offset, with no group: the argument of Broker.fetch in process and
 * of Client.fetch over either transport (the `fetch` request on the wire), so both take the same,
 * and refuse the same with the same code (checkFetchRequest); and the search for the offset of
 * a time, Broker.offsetForTimestamp and the client's admin.offsetForTimestamp (checkOffsetForTimestamp);
 * and a list of offsets (checkOffsetList).
 */
import { BrookError } from './errors.js';
import { checkOptionKeys, type OptionKeys } from './option-keys.js';
import { checkPartitionField, checkStringFields, invalidField } from './request-fields.js';
import { isTimestampMs } from './timestamps.js';

export interface FetchRequest {
  topic: string;
  partition: number;
  /** The first offset wanted: at least the partition's startOffset, at most its endOffset. */
  offset: bigint;
  /** Default and most: the broker's fetchRecordsMax (10 000). */
  maxRecords?: number;
  /** Log bytes to read at most; default and most: the broker's fetchBytesMax (4 MiB). At least one batch comes back if there is one. */
  maxBytes?: number;
}

const FETCH_KEYS: OptionKeys<FetchRequest> = { topic: true, partition: true, offset: true, maxRecords: true, maxBytes: true };
const OFFSET_MAX = (1n << 63n) - 1n;

/**
 * What Broker.fetch and Client.fetch both check before anything else: an unknown key is
 * INVALID_CONFIG (`{ maxRecord: 10 }` would read the default maximum); a topic that is not a
 * string, a partition that is not a non-negative integer, an offset that is not a bigint in
 * 0..2^63-1 (what the wire carries) INVALID_REQUEST naming the field. An offset in that range but
 * outside the partition's is the broker's OFFSET_OUT_OF_RANGE.
 */
export function checkFetchRequest(request: FetchRequest): void {
  checkOptionKeys(request, FETCH_KEYS);
  checkStringFields({ topic: request.topic });
  checkPartitionField(request.partition);
  const { offset } = request as { offset: unknown };
  if (typeof offset !== 'bigint' || offset < 0n || offset > OFFSET_MAX) {
    // A bigint out of range is a detail as every offset in an error's details is (a bigint; over the
    // wire in bigintDetails); a value of another type is named by `field` and shown in the message.
    const details = typeof offset === 'bigint' ? { field: 'offset', offset } : { field: 'offset' };
    throw new BrookError('INVALID_REQUEST', `offset must be a bigint in 0..2^63-1, got ${String(offset)}`, details);
  }
}

/**
 * A list of offsets, each a bigint in 0..2^63-1 (redrive's `endOffsets`): checked alike by
 * Broker.redrive and the client's admin.redrive before anything is sent, INVALID_REQUEST naming
 * the field. A hole counts as a bad entry (every() would skip it): JSON sends it as null, which
 * the server refuses.
 */
export function checkOffsetList(field: string, value: unknown): void {
  const isOffset = (offset: unknown) => typeof offset === 'bigint' && offset >= 0n && offset <= OFFSET_MAX;
  if (!Array.isArray(value) || !Array.from(value).every(isOffset)) throw invalidField(field, 'an array of bigints in 0..2^63-1', value);
}

/**
 * What Broker.offsetForTimestamp and the client's admin.offsetForTimestamp both check before the
 * broker looks anything up: a topic that is not a string, a partition that is not a non-negative
 * integer, a timestamp outside timestamps.ts's rule (an integer in 0..2^53-1 ms since the epoch;
 * NaN and Infinity, which JSON could not even carry, among what it refuses) are INVALID_REQUEST
 * naming the field.
 * Whether the topic and partition exist is the broker's UNKNOWN_TOPIC / UNKNOWN_PARTITION.
 */
export function checkOffsetForTimestamp(topic: unknown, partition: unknown, timestampMs: unknown): void {
  checkStringFields({ topic });
  checkPartitionField(partition);
  if (!isTimestampMs(timestampMs)) {
    throw new BrookError('INVALID_REQUEST', `timestampMs must be an integer in 0..2^53-1 (ms since the epoch), got ${String(timestampMs)}`, { field: 'timestampMs' });
  }
}
