/**
 * What a partition remembers about one idempotent producer, and Kafka's rules for its next batch.
 *
 * A producer numbers its records per partition: a batch carries the sequence of its first record
 * (`baseSequence`); its last is `baseSequence + recordCount - 1`, wrapping from 2^31-1 to 0 as
 * Kafka's clients do. The partition keeps the producer's epoch and its last few batches (sequence
 * range and offsets): enough to recognise a retry of any batch a client may still have in flight,
 * and to answer it with the offsets the original got.
 */
import { BrookError, SEQUENCE_MAX, addToSequence, type BatchHeader } from '@brook/protocol';

export { SEQUENCE_MAX, addToSequence };

/** producerId of a batch from a producer that is not idempotent: appended without any check. */
export const NO_PRODUCER_ID = -1n;

/**
 * Batches remembered per producer (Kafka's 5). A client must keep at most this many batches in
 * flight to one partition, or a retry of the oldest may no longer be recognised.
 */
export const RECENT_BATCHES_PER_PRODUCER = 5;

/** producerEpoch is an int16. */
export const EPOCH_MAX = 0x7fff;

export interface RecentBatch {
  readonly firstSeq: number;
  readonly lastSeq: number;
  readonly baseOffset: bigint;
  readonly lastOffset: bigint;
}

export interface ProducerEntry {
  readonly epoch: number;
  /** Oldest first; never empty, at most RECENT_BATCHES_PER_PRODUCER. */
  readonly batches: readonly RecentBatch[];
}

/** The batch a header describes, at `baseOffset` (assigned by the log, or a placeholder until then). */
export function recentBatch(header: BatchHeader, baseOffset: bigint): RecentBatch {
  return {
    firstSeq: header.baseSequence,
    lastSeq: addToSequence(header.baseSequence, header.recordCount - 1),
    baseOffset,
    lastOffset: baseOffset + BigInt(header.lastOffsetDelta),
  };
}

/**
 * Applies Kafka's rules to a batch of `entry`'s producer. Returns the original of a duplicate
 * (same epoch, same first and last sequence as a remembered batch, or a run of sequences within
 * one: see partOf), or undefined if the batch is
 * next in sequence and must be appended. Throws:
 * - PRODUCER_FENCED for an epoch older than the entry's;
 * - OUT_OF_ORDER_SEQUENCE `{ expected, got }` for a newer epoch not starting at 0, or a sequence
 *   that is neither a remembered batch nor the next one;
 * - UNKNOWN_PRODUCER_ID for a producer the partition does not know, unless it starts at 0. Its
 *   state survives restarts, so not knowing it means it never wrote here or was forgotten: a
 *   sequence above 0 could be a retry of a batch whose fate is lost, and only the client can
 *   decide to start over.
 */
export function checkSequence(entry: ProducerEntry | undefined, header: BatchHeader): RecentBatch | undefined {
  const { producerId, producerEpoch, baseSequence } = header;
  if (entry === undefined) {
    if (baseSequence === 0) return undefined;
    throw new BrookError('UNKNOWN_PRODUCER_ID', `producer ${producerId} is unknown here and its batch starts at sequence ${baseSequence}, not 0`, {
      producerId, producerEpoch, baseSequence,
    });
  }
  if (producerEpoch < entry.epoch) {
    throw new BrookError('PRODUCER_FENCED', `producer ${producerId} epoch ${producerEpoch} is older than epoch ${entry.epoch}`, {
      producerId, producerEpoch, currentEpoch: entry.epoch,
    });
  }
  if (producerEpoch > entry.epoch) {
    if (baseSequence === 0) return undefined;
    throw outOfOrder(header, 0);
  }
  const retried = retriedBatch(entry, header);
  if (retried) return partOf(retried, baseSequence, header.recordCount);
  const expected = addToSequence(lastBatch(entry).lastSeq, 1);
  if (baseSequence === expected) return undefined;
  throw outOfOrder(header, expected);
}

/**
 * The remembered batch that `header`, of `entry`'s epoch, retries whole or in part (checkSequence
 * returns the part): the one whose outcome a retry of a batch still being appended waits for.
 */
export function retriedBatch(entry: ProducerEntry, header: BatchHeader): RecentBatch | undefined {
  return entry.batches.find((batch) => partOf(batch, header.baseSequence, header.recordCount) !== undefined);
}

/** How far `to` is past `from`, counting the wrap past SEQUENCE_MAX. */
function sequenceDistance(from: number, to: number): number {
  return to >= from ? to - from : SEQUENCE_MAX - from + to + 1;
}

/**
 * The part of `batch` that `recordCount` records from `firstSeq` are (all of it, or a run within
 * it), at their offsets: a retry of part of a batch is a duplicate too. A client splits a batch a
 * server refused as too large (one that came back with a lower frameBytesMax), and the whole may
 * have been appended by an attempt whose answer was lost. Its records sit at consecutive offsets
 * in sequence order, as a producer's batch has them: every batch the table holds spans as many
 * offsets as sequences (batch-input.ts checks lastOffsetDelta against recordCount, and the
 * snapshot's decoder checks each batch's span).
 */
function partOf(batch: RecentBatch, firstSeq: number, recordCount: number): RecentBatch | undefined {
  const start = sequenceDistance(batch.firstSeq, firstSeq);
  if (start + recordCount > sequenceDistance(batch.firstSeq, batch.lastSeq) + 1) return undefined;
  const baseOffset = batch.baseOffset + BigInt(start);
  return { firstSeq, lastSeq: addToSequence(firstSeq, recordCount - 1), baseOffset, lastOffset: baseOffset + BigInt(recordCount - 1) };
}

/** The entry after `batch` of `epoch` was appended: a new epoch starts a fresh history. */
export function withBatch(entry: ProducerEntry | undefined, epoch: number, batch: RecentBatch): ProducerEntry {
  const kept = entry !== undefined && entry.epoch === epoch ? entry.batches.slice(1 - RECENT_BATCHES_PER_PRODUCER) : [];
  return { epoch, batches: [...kept, batch] };
}

export function lastBatch(entry: ProducerEntry): RecentBatch {
  return entry.batches[entry.batches.length - 1]!;
}

function outOfOrder(header: BatchHeader, expected: number): BrookError {
  const { producerId, producerEpoch, baseSequence } = header;
  return new BrookError('OUT_OF_ORDER_SEQUENCE', `producer ${producerId} epoch ${producerEpoch}: expected sequence ${expected}, got ${baseSequence}`, {
    producerId, producerEpoch, expected, got: baseSequence,
  });
}
