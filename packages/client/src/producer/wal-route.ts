/**
 * Where a WAL record goes, fixed when it is put: its topic and partition travel in the WAL as
 * the record's first header, `brook-wal-route` = "<partition>:<topic>", and are stripped again
 * before the record is sent. So the partitioner runs once per record, at put time: a null-key
 * record's round-robin partition (or a partition count that changed) is never re-decided after
 * a crash, and the resend of a WAL batch carries exactly the records of the first send.
 *
 * The header counts against the FileBuffer's maxBytes, so what is sent is a little smaller than
 * the WAL batch: it never exceeds maxBytes either.
 */
import { BrookError, recordFieldBytes, type EncodableRecord, type RecordHeader, type RecordInput } from '@brook/protocol';
import type { WalRecordInput } from '../wal/record-codec.js';
import { routeKey } from './wal-state.js';

export const ROUTE_HEADER = 'brook-wal-route';

export interface RoutedGroup {
  readonly topic: string;
  readonly partition: number;
  /** routeKey(topic, partition). */
  readonly key: string;
  /** In WAL order, without the route header. */
  readonly records: RecordInput[];
}

export function routed(record: EncodableRecord, topic: string, partition: number): WalRecordInput {
  const route: RecordHeader = { key: ROUTE_HEADER, value: Buffer.from(routeKey(topic, partition), 'utf8') };
  // The WAL keeps records as bytes (newestUnsent hands them out): text keys and values become bytes here.
  return { key: recordFieldBytes(record.key), value: recordFieldBytes(record.value), timestamp: record.timestamp, headers: [route, ...(record.headers ?? [])] };
}

/**
 * A WAL batch's records grouped by destination, each group in WAL order, groups in the order of
 * their first record. Throws CORRUPT_BATCH for a record without a route (a directory written by
 * a plain FileBuffer, not by a WAL producer).
 */
export function groupByRoute(records: readonly RecordInput[]): RoutedGroup[] {
  const groups = new Map<string, RoutedGroup>();
  for (const record of records) {
    const [route, ...headers] = record.headers ?? [];
    if (route?.key !== ROUTE_HEADER || route.value === null) {
      throw new BrookError('CORRUPT_BATCH', `a WAL record has no ${ROUTE_HEADER} header: the directory was not written by a WAL producer`, { reason: 'no-route' });
    }
    const key = Buffer.from(route.value).toString('utf8');
    let group = groups.get(key);
    if (!group) {
      const colon = key.indexOf(':');
      group = { topic: key.slice(colon + 1), partition: Number(key.slice(0, colon)), key, records: [] };
      groups.set(key, group);
    }
    const plain: RecordInput = { key: record.key, value: record.value, timestamp: record.timestamp };
    group.records.push(headers.length === 0 ? plain : { ...plain, headers });
  }
  return [...groups.values()];
}
