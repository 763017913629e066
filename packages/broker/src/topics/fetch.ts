/**
 * `broker.fetch`: records of one partition from an offset on, without a group (no acks, no
 * leases), as `brook consume --from` without `--group` and the wire's fetch read them.
 */
import { BrookError, showValue, decodeBatch } from '@brook/protocol';
import type { PartitionLog } from '../log/partition-log.js';
import type { FetchRequest, FetchedRecord } from './requests.js';

export interface FetchLimits {
  readonly fetchRecordsMax: number;
  readonly fetchBytesMax: number;
}

/**
 * Records at offsets >= `request.offset`, oldest first, at most maxRecords / about maxBytes; the
 * request's keys and offset are checked already (checkFetchRequest).
 * `failure` turns a read error into the topic's answer (e.g. UNKNOWN_TOPIC if it was deleted meanwhile).
 */
export async function fetchRecords(log: PartitionLog, request: FetchRequest, limits: FetchLimits, failure: (error: unknown) => unknown): Promise<FetchedRecord[]> {
  const maxRecords = request.maxRecords === undefined ? limits.fetchRecordsMax : checkRange('maxRecords', request.maxRecords, limits.fetchRecordsMax);
  const maxBytes = request.maxBytes === undefined ? limits.fetchBytesMax : checkRange('maxBytes', request.maxBytes, limits.fetchBytesMax);
  let batches: Awaited<ReturnType<typeof log.read>>;
  try {
    batches = await log.read(request.offset, { maxBytes, maxRecords });
  } catch (error) {
    throw failure(error);
  }
  const records: FetchedRecord[] = [];
  for (const batch of batches) {
    // The log checked each batch, CRC included, as it read it (ReadBatch): no second CRC pass.
    for (const record of decodeBatch(batch.bytes, 0, { crcVerified: true }).records) {
      if (record.offset < request.offset) continue;
      if (records.length === maxRecords) return records;
      records.push(record);
    }
  }
  return records;
}

function checkRange(name: string, value: unknown, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > max) {
    throw new BrookError('INVALID_REQUEST', `${name} must be an integer in [1, ${max}], got ${showValue(value)}`, { option: name, value, max });
  }
  return value;
}
