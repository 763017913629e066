/**
 * One producer's batches, checked and handed to a partition log together, in one synchronous step.
 *
 * Checking and appending in the same step is what keeps the check order equal to the log order:
 * the log's queue is FIFO, and nothing else can run in between. The checks run against a working
 * copy of the producer's entry that already counts the group's earlier batches, so a producer can
 * pipeline several batches, and a retry of a batch of this very group waits for that batch and
 * gets its offsets.
 *
 * The table learns about the group only when the log has acknowledged it (`settle` commits the
 * working copy), so a failed append never leaves the table believing it was written. This relies
 * on PartitionLog's contract that appends queued together are written in one round, which
 * resolves or rejects as a whole: the group either went in entirely or not at all. (After a failed
 * round that had written part of its bytes, the log refuses appends until it is reopened, and the
 * reopen rebuilds the table from what the log really holds.)
 */
import { assert, type BatchHeader } from '@brook/protocol';
import type { AppendResult, PartitionLog } from '../log/partition-log.js';
import { checkSequence, recentBatch, retriedBatch, withBatch, type ProducerEntry, type RecentBatch } from './producer-entry.js';

export interface IdempotentAppendResult {
  readonly baseOffset: bigint;
  readonly lastOffset: bigint;
  /** True if the batch was a retry: nothing was appended, these are the original's offsets. */
  readonly duplicate: boolean;
}

/**
 * A batch the broker's own checks let in. Released once it is in the log's queue or will never
 * be (a fenced epoch, a sequence gap): room held for it under discard 'new' is the
 * log's to count from then on, or free again.
 */
export interface Admission {
  release(): void;
}

export interface WaitingBatch {
  readonly header: BatchHeader;
  readonly bytes: Uint8Array;
  /** The broker's own checks before an append (room under discard 'new'); not asked for a retry (AppendGroup.admit). */
  readonly admit: () => Promise<Admission>;
  readonly resolve: (result: IdempotentAppendResult) => void;
  readonly reject: (error: unknown) => void;
}

/** Throws PRODUCER_FENCED or UNKNOWN_PRODUCER_ID for an epoch the broker has fenced or never issued. */
export type EpochCheck = (producerId: bigint, epoch: number) => void;

/** Offsets of a batch the log has not acknowledged yet; replaced when it has. */
const PENDING_OFFSET = -1n;

/** The admission of a batch judged a retry before its room was taken: none was (see admit). */
const NO_ROOM_TAKEN: Admission = { release: () => undefined };

interface Answer {
  readonly item: WaitingBatch;
  /** The pending batch whose outcome answers `item`: its own, or the original it retries. */
  readonly batch: RecentBatch;
  /** `item`'s records, at their place in `batch` (pending offsets): all of it, or the part retried. */
  readonly part: RecentBatch;
  readonly duplicate: boolean;
}

export class AppendGroup {
  private working: ProducerEntry | undefined;
  private readonly appends = new Map<RecentBatch, Promise<AppendResult>>();
  private readonly answers: Answer[] = [];

  constructor(
    entry: ProducerEntry | undefined,
    private readonly log: PartitionLog,
    private readonly checkEpoch: EpochCheck,
  ) {
    this.working = entry;
  }

  /**
   * Runs the broker's checks (`admit`, in order) for the batches the group will append, and only
   * for them: a retry, of a batch the table holds or of an earlier one of the group, appends
   * nothing, so under discard 'new' it must neither hold room another producer's batch would fit
   * in nor be refused TOPIC_FULL (it is answered `duplicate` with its original's offsets). Judged
   * as offer judges, counting the group's earlier batches in. That changes at offer only if one
   * of them is refused: a retry of it is the next batch then, and takes its refusal (no room of
   * its own); a batch out of order here may be next then, so it is admitted like any.
   */
  admit(items: readonly WaitingBatch[]): Promise<PromiseSettledResult<Admission>[]> {
    let planned = this.working;
    const admissions = new Map<RecentBatch, Promise<Admission>>();
    return Promise.allSettled(items.map(({ header, admit }) => {
      let retried: RecentBatch | undefined;
      try {
        if (checkSequence(planned, header)) retried = retriedBatch(planned!, header)!;
      } catch {
        return admit();
      }
      if (retried) return admissions.get(retried)?.then(() => NO_ROOM_TAKEN) ?? Promise.resolve(NO_ROOM_TAKEN);
      const batch = recentBatch(header, PENDING_OFFSET);
      planned = withBatch(planned, header.producerEpoch, batch);
      const admission = admit();
      admissions.set(batch, admission);
      return admission;
    }));
  }

  /** Checks `item` and appends it, answers it as a duplicate, or rejects it. `admission`: admit's for it. */
  offer(item: WaitingBatch, admission: PromiseSettledResult<Admission>): void {
    const { header } = item;
    try {
      this.checkEpoch(header.producerId, header.producerEpoch);
      const part = checkSequence(this.working, header);
      if (part) {
        this.answerRetry(item, part);
      } else {
        if (admission.status === 'rejected') throw admission.reason;
        // Only a retry went without room, and offer finds it one too (admit): nothing goes in without room.
        assert(admission.value !== NO_ROOM_TAKEN, 'a batch judged a retry before its room check is to be appended', { producerId: header.producerId, baseSequence: header.baseSequence });
        const batch = recentBatch(header, PENDING_OFFSET);
        this.working = withBatch(this.working, header.producerEpoch, batch);
        this.appends.set(batch, this.log.append(item.bytes));
        this.answers.push({ item, batch, part: batch, duplicate: false });
      }
    } catch (error) {
      item.reject(error);
    } finally {
      // In the log's queue now, or never to be: in the same step, so its room is never counted twice nor missed.
      if (admission.status === 'fulfilled') admission.value.release();
    }
  }

  /**
   * A retry of a batch of this group, whole or in part, waits for it and takes its outcome (its
   * records' offsets once written); one of a batch the table holds is answered at once.
   */
  private answerRetry(item: WaitingBatch, part: RecentBatch): void {
    const original = retriedBatch(this.working!, item.header)!;
    if (this.appends.has(original)) this.answers.push({ item, batch: original, part, duplicate: true });
    else item.resolve({ baseOffset: part.baseOffset, lastOffset: part.lastOffset, duplicate: true });
  }

  /**
   * Waits for the log; if it took the group, hands the producer's new entry to `commit` before
   * answering anyone (so a client that hears of its ack can only ever meet a table that knows
   * it); if not, answers everyone with the failure. Never rejects, bar a broken invariant.
   */
  async settle(commit: (entry: ProducerEntry) => void): Promise<void> {
    if (this.appends.size === 0) return;
    const pending = [...this.appends.keys()];
    const results = await Promise.allSettled(this.appends.values());
    const outcomes = new Map<RecentBatch, PromiseSettledResult<AppendResult>>(pending.map((batch, i) => [batch, results[i]!]));
    const failed = results.filter((result) => result.status === 'rejected').length;
    assert(failed === 0 || failed === results.length, 'the log acknowledged only some of the appends queued together', { appends: results.length, failed });
    const acknowledged = new Map<RecentBatch, RecentBatch>();
    for (const [batch, outcome] of outcomes) {
      if (outcome.status === 'fulfilled') acknowledged.set(batch, { ...batch, baseOffset: outcome.value.baseOffset, lastOffset: outcome.value.lastOffset });
    }
    if (failed === 0) {
      const working = this.working!;
      commit({ epoch: working.epoch, batches: working.batches.map((batch) => acknowledged.get(batch) ?? batch) });
    }
    for (const { item, batch, part, duplicate } of this.answers) {
      const outcome = outcomes.get(batch)!;
      if (outcome.status === 'rejected') {
        item.reject(outcome.reason);
      } else {
        // The records sit as far into the written batch as `part` does into the pending one.
        const shift = acknowledged.get(batch)!.baseOffset - batch.baseOffset;
        item.resolve({ baseOffset: part.baseOffset + shift, lastOffset: part.lastOffset + shift, duplicate });
      }
    }
  }
}
