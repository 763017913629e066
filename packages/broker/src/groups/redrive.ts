/**
 * Redrive: moving what a dead-letter topic holds back to the topics its records came from, each
 * record once, oldest first. Progress is the ackFloor of an internal group on the dead-letter
 * topic that never has members: records are read from its floor and acked here directly, with no
 * deliveries or leases, so a redrive survives restarts like any group's position.
 */
import { BrookError, decodeBatch } from '@brook/protocol';
import type { PartitionLog } from '../log/partition-log.js';
import type { ProduceRecord } from '../topics/record-input.js';
import { deadLetterRecord } from './dead-letter.js';
import type { Group } from './group.js';

/** The internal group that remembers how far a dead-letter topic has been redriven. */
export const REDRIVE_GROUP = 'brook.redrive';

export type ProduceBack = (topic: string, records: ProduceRecord[]) => Promise<unknown>;

/**
 * Redrives up to `maxRecords`. Only what the dead-letter topic holds when called is moved:
 * records dead-lettered during the redrive wait for the next one.
 */
export async function redrive(
  group: Group, logs: readonly PartitionLog[], fetchBytes: number, maxRecords: number, produceBack: ProduceBack,
): Promise<number> {
  const endOffsets = logs.map((log) => log.endOffset);
  let moved = 0;
  for (const window of group.windows) {
    const log = logs[window.partition]!;
    const end = endOffsets[window.partition]!;
    while (moved < maxRecords && window.ack.ackFloor < end) {
      const batches = await log.read(window.ack.ackFloor, { maxBytes: fetchBytes });
      for (const batch of batches) {
        for (const record of decodeBatch(batch.bytes, 0, { crcVerified: true }).records) {
          if (moved === maxRecords || record.offset < window.ack.ackFloor || record.offset >= end) continue;
          const parsed = deadLetterRecord.parse(record);
          if (!parsed) throw new BrookError('INVALID_REQUEST', `record ${record.offset} is not a dead-letter record`, { offset: record.offset });
          await produceBack(parsed.origin.topic, [{ ...parsed.record, partition: parsed.origin.partition }]);
          await group.ackDirectly(window.partition, record.offset);
          moved += 1;
        }
      }
    }
  }
  return moved;
}
