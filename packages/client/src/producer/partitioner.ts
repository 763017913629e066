/**
 * Which partition each record of a send goes to, shared by the plain and the WAL producer:
 * `record.partition` if given; else murmur2 of the key, like Kafka's default partitioner (so a
 * key lands on the same partition as with a Kafka client); else round-robin, record by record,
 * as the in-process Broker.produce does.
 *
 * Why per record and not Kafka's sticky partitioner (one partition per batch): a send is often
 * a whole input (`brook produce` sends up to a thousand lines at once), and sticky would put
 * all of it on one partition. Per record, a send of n records spreads over min(n, partitions)
 * batches, one per partition lane, and lanes send in parallel, so little is lost.
 *
 * The rotation starts at a random partition per producer and topic (from the client's injected
 * Random, so a seeded test is reproducible): every short-lived producer would otherwise put its
 * first record, and a one-record producer all of its, on partition 0.
 */
import { BrookError, partitionForKey, type Random } from '@brook/protocol';
import type { SendInputs } from '../values.js';
import type { TopicPartitions } from './topic-partitions.js';

export class Partitioner {
  /** Per topic, where the next record without a key goes. */
  private readonly nextUnkeyed = new Map<string, number>();

  constructor(
    private readonly random: Random,
    private readonly topics: Pick<TopicPartitions, 'forget'>,
  ) {}

  /**
   * Throws UNKNOWN_PARTITION for an explicit partition the topic does not have (toRecordInput
   * checked it is a non-negative integer). The count may be stale (the topic made again with
   * more partitions), so the next send looks it up again, as after the broker's UNKNOWN_PARTITION.
   */
  partitionsFor(topic: string, partitionCount: number, { inputs, partitions }: SendInputs): number[] {
    return partitions.map((explicit, position) => {
      if (explicit !== undefined) {
        if (explicit >= partitionCount) {
          this.topics.forget(topic);
          throw new BrookError('UNKNOWN_PARTITION', `record ${position}: topic ${topic} has no partition ${String(explicit)}`, { topic, partition: explicit, record: position });
        }
        return explicit;
      }
      const key = inputs[position]!.key;
      return key === null ? this.takeUnkeyedPartition(topic, partitionCount) : partitionForKey(key, partitionCount);
    });
  }

  private takeUnkeyedPartition(topic: string, partitionCount: number): number {
    // Modulo: the topic may have been recreated with fewer partitions since.
    const next = (this.nextUnkeyed.get(topic) ?? this.random.int(partitionCount)) % partitionCount;
    this.nextUnkeyed.set(topic, (next + 1) % partitionCount);
    return next;
  }
}
