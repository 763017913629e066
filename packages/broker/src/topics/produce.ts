/**
 * `broker.produce`: records to the partitions they map to, one batch per partition, each held to
 * the batch limits before any is appended, so a refused produce writes nothing.
 */
import { BrookError } from '@brook/protocol';
import type { AppendResult } from '../log/partition-log.js';
import { encodeBatchInput, type BatchLimits } from './batch-input.js';
import { produceTime, type ProduceRecord } from './record-input.js';
import type { ProduceResult } from './requests.js';
import type { Topic } from './topic.js';

export interface ProduceContext {
  /** The clock's now(), for records without a timestamp. */
  now(): number;
  /** Appends the batches, in call order per partition, making room first under discard 'new' (RetentionRunner). */
  appendWithRoom(topic: Topic, batches: readonly { partition: number; batch: Uint8Array }[]): Promise<AppendResult>[];
  /** A batch is in the log: groups and events learn of it. */
  appended(topic: string, partition: number, baseOffset: bigint, lastOffset: bigint): void;
  /** An append's failure as the caller sees it (UNKNOWN_TOPIC if the topic went meanwhile). */
  failure(topic: Topic, error: unknown): unknown;
}

/**
 * Resolves, in input order, with each record's partition and offset once every batch is
 * persisted. A record stamped more than `timestampAheadMsMax` after the broker's clock is refused.
 */
export async function produceRecords(
  context: ProduceContext, topic: Topic, records: readonly ProduceRecord[], limits: BatchLimits, timestampAheadMsMax: number,
): Promise<ProduceResult[]> {
  if (!Array.isArray(records) || records.length === 0) {
    throw new BrookError('INVALID_REQUEST', 'produce needs a non-empty array of records', { topic: topic.name });
  }
  const byPartition = topic.splitByPartition(records, produceTime(context.now(), timestampAheadMsMax));
  // Every batch is encoded (and held to the batch limits) before any is appended, so a refused
  // produce writes nothing, not the share of the partitions checked before the bad one.
  const batches = [...byPartition].map(([partition, group]) => ({
    partition, group, batch: encodeBatchInput(topic.name, partition, group.inputs, limits),
  }));
  const results = new Array<ProduceResult>(records.length);
  const appends = context.appendWithRoom(topic, batches);
  const appending = Promise.all(batches.map(async ({ partition, group }, i) => {
    const { baseOffset, lastOffset } = await appends[i]!;
    context.appended(topic.name, partition, baseOffset, lastOffset);
    let offset = baseOffset; // a running sum: one BigInt per record, not two (BigInt(i) + base)
    for (const position of group.positions) {
      results[position] = { partition, offset };
      offset += 1n;
    }
  }));
  try {
    await appending;
  } catch (error) {
    throw context.failure(topic, error);
  }
  return results;
}

/**
 * produceRecords for a copy that moves a record (a dead letter, a redrive back): fsynced before
 * it resolves, whatever the fsync policy. The move is finished by an ack in the group's journal,
 * another file: under 'never' or { intervalMs } a power cut could keep that ack and lose the
 * copy, and the record would be in neither place. (Under 'always' the append is durable already.)
 * A copy keeps its record's timestamp, which was held to timestampAheadMsMax when it was produced:
 * not again, since a wall clock stepped back since then must not stop a record from being moved.
 */
export async function produceCopies(
  context: ProduceContext, topic: Topic, records: readonly ProduceRecord[], limits: BatchLimits, appendsDurable: boolean,
): Promise<ProduceResult[]> {
  const results = await produceRecords(context, topic, records, limits, Number.POSITIVE_INFINITY);
  if (!appendsDurable) {
    const written = new Set(results.map((result) => result.partition));
    try {
      await Promise.all([...written].map((partition) => topic.partitions[partition]!.flush()));
    } catch (error) {
      throw context.failure(topic, error);
    }
  }
  return results;
}
