/**
 * One partition's idempotence table: producerId -> ProducerEntry, holding only batches the log
 * has acknowledged (batches still being appended live in their AppendGroup until they resolve).
 *
 * Bounded by producersPerPartitionMax: storing an entry beyond it forgets the least recently
 * used producer (a Map keeps insertion order, and every use re-inserts). A forgotten producer's
 * next batch is UNKNOWN_PRODUCER_ID unless it starts at sequence 0.
 */
import type { BatchHeader } from '@brook/protocol';
import { NO_PRODUCER_ID, addToSequence, lastBatch, recentBatch, withBatch, type ProducerEntry } from './producer-entry.js';

export class ProducerStateTable {
  /** Least recently used first. */
  private readonly entries = new Map<bigint, ProducerEntry>();

  constructor(readonly producersMax: number) {}

  get size(): number {
    return this.entries.size;
  }

  get(producerId: bigint): ProducerEntry | undefined {
    return this.entries.get(producerId);
  }

  /** Stores `entry` as the most recently used, forgetting the least recently used beyond the bound. */
  set(producerId: bigint, entry: ProducerEntry): void {
    this.entries.delete(producerId);
    this.entries.set(producerId, entry);
    if (this.entries.size > this.producersMax) this.entries.delete(this.entries.keys().next().value!);
  }

  /** Marks a producer as just used (a duplicate or a rejected batch is use too). */
  touch(producerId: bigint): void {
    const entry = this.entries.get(producerId);
    if (entry) this.set(producerId, entry);
  }

  /**
   * Applies a batch read back from the log. The log is the truth, so nothing is checked; a batch
   * the entry already holds (a snapshot may include batches past its replay offset) is skipped.
   * A batch of the entry's epoch that does not follow its last one was appended to a producer the
   * table had forgotten (checkSequence let it start over at 0): it starts a fresh history, as it
   * did then. Kept, the forgotten batches would answer the new ones' sequences as duplicates.
   */
  replay(header: BatchHeader): void {
    if (header.producerId === NO_PRODUCER_ID) return;
    const entry = this.entries.get(header.producerId);
    if (entry && lastBatch(entry).lastOffset >= header.baseOffset) return;
    const follows = entry !== undefined && header.baseSequence === addToSequence(lastBatch(entry).lastSeq, 1);
    this.set(header.producerId, withBatch(follows ? entry : undefined, header.producerEpoch, recentBatch(header, header.baseOffset)));
  }

  /** Every entry, least recently used first (the order a snapshot must keep). */
  [Symbol.iterator](): IterableIterator<[bigint, ProducerEntry]> {
    return this.entries.entries();
  }
}
