/**
 * Which partition each record of a send goes to, shared by the plain and the WAL producer:
 * `record.partition` if given; else murmur2 of the key, like Kafka's default partitioner (so a
 * key lands on the same partition as with a Kafka client); else one partition for all unkeyed
 * records of a send() call, the next one round-robin for the next call (sticky: a call's records
 * stay in one batch).
 */
import { BrookError, partitionForKey, type RecordInput } from '@brook/protocol';
import type { ProducerRecord } from '../values.js';

export class Partitioner {
  private readonly nextUnkeyed = new Map<string, number>();

  /** Throws UNKNOWN_PARTITION for an explicit partition the topic does not have. */
  partitionsFor(topic: string, partitionCount: number, records: readonly ProducerRecord[], inputs: readonly RecordInput[]): number[] {
    let unkeyed: number | undefined;
    return records.map((record, position) => {
      const explicit = record.partition;
      if (explicit !== undefined) {
        if (!Number.isInteger(explicit) || explicit < 0 || explicit >= partitionCount) {
          throw new BrookError('UNKNOWN_PARTITION', `record ${position}: topic ${topic} has no partition ${String(explicit)}`, { topic, partition: explicit, record: position });
        }
        return explicit;
      }
      const key = inputs[position]!.key;
      if (key !== null) return partitionForKey(key, partitionCount);
      unkeyed ??= this.takeUnkeyedPartition(topic, partitionCount);
      return unkeyed;
    });
  }

  private takeUnkeyedPartition(topic: string, partitionCount: number): number {
    const next = this.nextUnkeyed.get(topic) ?? 0;
    this.nextUnkeyed.set(topic, (next + 1) % partitionCount);
    return next % partitionCount;
  }
}
