/**
 * Reading one partition by offset, with no group: the client's side of the `fetch` request, and
 * the same call as Broker.fetch in process. Nothing is acked or remembered; a reader keeps its own
 * position (the next offset is the last record's + 1).
 */
import { BrookError, DEFAULT_MAX_BATCH_BYTES, checkFetchRequest, decodeBatch, showValue, type FetchRequest, type LogRecord } from '@brook/protocol';
import type { Connection } from './connection.js';

/**
 * Up to maxRecords consecutive records from `offset`: empty at endOffset, OFFSET_OUT_OF_RANGE
 * below startOffset or beyond endOffset, INVALID_REQUEST for a limit out of range or an offset
 * that is not a bigint in 0..2^63-1, INVALID_CONFIG for an unknown key (as in process:
 * checkFetchRequest). Keys, values and headers are views into the response.
 */
export async function fetchRecords(connection: Pick<Connection, 'request'>, request: FetchRequest): Promise<LogRecord[]> {
  checkFetchRequest(request);
  const { topic, partition, maxRecords, maxBytes } = request;
  const { json, data } = await connection.request('fetch', {
    topic, partition, offset: request.offset.toString(), ...(maxRecords !== undefined && { maxRecords }), ...(maxBytes !== undefined && { maxBytes }),
  });
  if (json.count === 0) return [];
  // One batch of everything read, so up to the broker's fetchBytesMax (256 MiB at most) and more
  // than a produced batch may be: bounded by the answer it arrived in, not by the batch default.
  const { records } = decodeBatch(data, 0, { batchBytesMax: Math.max(DEFAULT_MAX_BATCH_BYTES, data.length) });
  if (records.length !== json.count || records[0]!.offset !== request.offset) {
    throw new BrookError('INVALID_REQUEST', `fetch response: ${showValue(json.count)} records announced, ${records.length} from offset ${records[0]?.offset} decoded`, {
      count: json.count, decoded: records.length,
    });
  }
  return records;
}
