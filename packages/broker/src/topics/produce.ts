/**
 * `broker.produce`: records to the partitions they map to, one batch per partition, each held to
 * the batch limits before any is appended, so a refused produce writes nothing. And
 * `broker.produceBatch`: one batch a client encoded, checked in full, through the partition's
 * idempotence table.
 */
import { BrookError, type BatchHeader } from '@brook/protocol';
import type { AppendResult } from '../log/partition-log.js';
import type { Admission, IdempotentAppendResult } from '../producers/append-group.js';
import type { PartitionTarget } from '../producers/producers.js';
import { checkBatchAhead, checkBatchInput, encodeBatchInput, type BatchLimits } from './batch-input.js';
import { produceTime, type ProduceRecord } from './record-input.js';
import type { ProduceBatchRequest, ProduceResult } from './requests.js';
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
 * What produceBatch needs besides: the batch's topic and partition (the broker open, the partition
 * there), the idempotence table's append (Producers.append), and room made under discard 'new'.
 */
export interface BatchProduceContext extends ProduceContext {
  batchTarget(request: ProduceBatchRequest): { topic: Topic; target: PartitionTarget };
  appendBatch(target: PartitionTarget, header: BatchHeader, bytes: Uint8Array, incarnation: string | undefined, admit: () => Promise<Admission>): Promise<IdempotentAppendResult>;
  makeRoom(topic: Topic, partition: number, bytes: number): Promise<Admission>;
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

/**
 * One client-encoded batch, checked in full first (batch-input.ts), then appended through its
 * partition's idempotence table. Its timestamps are held to timestampAheadMsMax at its admission,
 * which the resend of a batch the log holds skips: that is answered as the duplicate it is even
 * after the broker's wall clock stepped back.
 */
export async function produceClientBatch(
  context: BatchProduceContext, request: ProduceBatchRequest, limits: BatchLimits & { readonly timestampAheadMsMax: number },
): Promise<IdempotentAppendResult> {
  // The broker's own checks too, in here: one async function as produceBatch always was, so its
  // answer comes at the same turn (a seeded simulation's trace, the WAL demo's, depends on it).
  const { topic, target } = context.batchTarget(request);
  const header = checkBatchInput(request.batch, limits);
  const admit = async (): Promise<Admission> => {
    checkBatchAhead(request.batch, header, produceTime(context.now(), limits.timestampAheadMsMax));
    return context.makeRoom(topic, request.partition, request.batch.length);
  };
  let result: IdempotentAppendResult;
  try {
    result = await context.appendBatch(target, header, request.batch, request.incarnation, admit);
  } catch (error) {
    throw context.failure(topic, error);
  }
  if (!result.duplicate) context.appended(topic.name, request.partition, result.baseOffset, result.lastOffset);
  return result;
}
