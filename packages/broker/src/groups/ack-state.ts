/**
 * A group's progress on one partition: the durable part of the delivery engine's state.
 *
 *   ackFloor   every offset below it is acked (or dead-lettered, which counts as acked)
 *   acked      offsets at or above ackFloor that are acked, as ranges
 *   attempts   delivery attempts so far for unacked offsets (deliveryCount of the last delivery)
 *
 * What is in flight, waiting on a backoff or blocked behind a key is the dispatcher's business and
 * is not stored here: after a restart every unacked offset is simply delivered again, with
 * deliveryCount = attempts + 1.
 *
 * Attempts are kept as ranges of offsets tried at least once, plus a map only for counts other
 * than one (retries, attempts given back): most records are delivered once and acked, and then
 * they cost a range extension each instead of a map entry set and deleted per record.
 */
import { assert } from '@brook/protocol';
import { OffsetRanges } from './offset-ranges.js';

export interface AckStateSnapshot {
  readonly ackFloor: bigint;
  readonly acked: readonly (readonly [bigint, bigint])[];
  readonly attempts: readonly (readonly [bigint, number])[];
}

export class AckState {
  private floor: bigint;
  private readonly acked: OffsetRanges;
  /** Offsets tried at least once (acked ones linger until the floor passes them). */
  private tried = new OffsetRanges();
  /** Attempt counts that differ from what `tried` says: above one, or given back to zero. */
  private readonly counts = new Map<bigint, number>();

  constructor(ackFloor: bigint, acked = new OffsetRanges()) {
    this.floor = ackFloor;
    this.acked = acked;
    this.acked.dropBelow(ackFloor);
    this.absorbAcked();
  }

  get ackFloor(): bigint {
    return this.floor;
  }

  /** Acked offsets at or above the floor (they do not count as lag). */
  get ackedAboveFloor(): bigint {
    return this.acked.size;
  }

  /** One past the highest offset this state says is acked: at least the ackFloor (acked ranges lie above it). */
  get ackedEnd(): bigint {
    return this.acked.lastEnd ?? this.floor;
  }

  /** Offsets in [ackFloor, offset) that are not acked, `offset` above the ackFloor: what skipping to it would lose. */
  unackedBelow(offset: bigint): bigint {
    return offset - this.floor - this.acked.countBelow(offset);
  }

  isAcked(offset: bigint): boolean {
    return offset < this.floor || this.acked.has(offset);
  }

  /** The first offset at or after `offset` that is not acked. */
  firstUnackedFrom(offset: bigint): bigint {
    return this.acked.firstAbsentFrom(offset < this.floor ? this.floor : offset);
  }

  /** Delivery attempts made so far for `offset` (0 if never delivered, or acked). */
  attempts(offset: bigint): number {
    return this.isAcked(offset) ? 0 : this.unackedAttempts(offset);
  }

  /**
   * Counts a new delivery attempt and returns its deliveryCount (1 for the first). `nextOffset`
   * is offset + 1, which a caller that has it made already passes (Entry.nextOffset).
   */
  recordAttempt(offset: bigint, nextOffset = offset + 1n): number {
    assert(!this.isAcked(offset), 'attempt on an acked offset', { offset });
    const count = this.unackedAttempts(offset) + 1;
    this.restoreAttempts(offset, count, nextOffset);
    return count;
  }

  /** Sets the attempt count, as read back from the journal. */
  restoreAttempts(offset: bigint, count: number, nextOffset = offset + 1n): void {
    if (this.isAcked(offset)) return;
    if (count === 1) {
      this.tried.add(offset, nextOffset);
      if (this.counts.size > 0) this.counts.delete(offset);
    } else {
      this.counts.set(offset, count);
    }
  }

  /** Acks `offset` (`nextOffset`: offset + 1, as recordAttempt), if it is not yet. Moves the floor over any run of acks. */
  ack(offset: bigint, nextOffset = offset + 1n): void {
    if (offset === this.floor) {
      // In order, the usual case: the floor moves, no range is touched.
      this.floor = nextOffset;
    } else {
      if (this.isAcked(offset)) return;
      this.acked.add(offset, nextOffset);
    }
    if (this.counts.size > 0) this.counts.delete(offset);
    this.absorbAcked();
    // Forget tried ranges once the floor has passed them whole: memory stays bounded by the window.
    if (this.tried.firstEnd !== undefined && this.tried.firstEnd <= this.floor) this.tried.dropBelow(this.floor);
  }

  /**
   * Moves the floor to `offset`, forgetting acks and attempts: a replay (reset to an earlier
   * offset) or a skip (retention took the records below startOffset, or reset to a later offset).
   */
  resetTo(offset: bigint): void {
    this.floor = offset;
    this.acked.clear();
    this.tried = new OffsetRanges();
    this.counts.clear();
  }

  /**
   * Retention took every offset below `offset`: the floor moves there, and what was known of the
   * offsets above it (acks, attempts) stays, since those records are still in the log.
   */
  skipTo(offset: bigint): void {
    if (offset <= this.floor) return;
    this.floor = offset;
    this.acked.dropBelow(offset);
    this.tried.dropBelow(offset);
    for (const counted of this.counts.keys()) if (counted < offset) this.counts.delete(counted);
    this.absorbAcked();
  }

  snapshot(): AckStateSnapshot {
    const attempts: [bigint, number][] = [];
    for (const [start, end] of this.tried.toArray()) {
      for (let offset = start < this.floor ? this.floor : start; offset < end; offset++) {
        if (!this.acked.has(offset) && !this.counts.has(offset)) attempts.push([offset, 1]);
      }
    }
    for (const [offset, count] of this.counts) if (count > 0 && !this.isAcked(offset)) attempts.push([offset, count]);
    return { ackFloor: this.floor, acked: this.acked.toArray(), attempts: attempts.sort((a, b) => (a[0] < b[0] ? -1 : 1)) };
  }

  static restore(snapshot: AckStateSnapshot): AckState {
    const state = new AckState(snapshot.ackFloor, OffsetRanges.fromArray(snapshot.acked));
    for (const [offset, count] of snapshot.attempts) state.restoreAttempts(offset, count);
    return state;
  }

  /** Keeps the invariant that no acked range starts at the floor: the floor moves over it. */
  private absorbAcked(): void {
    if (this.acked.firstStart === this.floor) {
      this.floor = this.acked.firstEnd!;
      this.acked.dropBelow(this.floor);
    }
  }

  private unackedAttempts(offset: bigint): number {
    const count = this.counts.size > 0 ? this.counts.get(offset) : undefined;
    if (count !== undefined) return count;
    return this.tried.has(offset) ? 1 : 0;
  }
}
