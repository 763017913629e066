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
  private readonly attemptCounts = new Map<bigint, number>();

  constructor(ackFloor: bigint, acked = new OffsetRanges()) {
    this.floor = ackFloor;
    this.acked = acked;
    this.acked.dropBelow(ackFloor);
  }

  get ackFloor(): bigint {
    return this.floor;
  }

  /** Acked offsets at or above the floor (they do not count as lag). */
  get ackedAboveFloor(): bigint {
    return this.acked.size;
  }

  /** Offsets in [ackFloor, offset) that are not acked: what skipping to `offset` would lose. */
  unackedBelow(offset: bigint): bigint {
    return offset <= this.floor ? 0n : offset - this.floor - this.acked.countBelow(offset);
  }

  isAcked(offset: bigint): boolean {
    return offset < this.floor || this.acked.has(offset);
  }

  /** Delivery attempts made so far for `offset` (0 if never delivered, or acked). */
  attempts(offset: bigint): number {
    return this.attemptCounts.get(offset) ?? 0;
  }

  /** Counts a new delivery attempt and returns its deliveryCount (1 for the first). */
  recordAttempt(offset: bigint): number {
    assert(!this.isAcked(offset), `attempt on acked offset ${offset}`);
    const count = this.attempts(offset) + 1;
    this.attemptCounts.set(offset, count);
    return count;
  }

  /** Sets the attempt count, as read back from the journal. */
  restoreAttempts(offset: bigint, count: number): void {
    if (!this.isAcked(offset)) this.attemptCounts.set(offset, count);
  }

  /** Acks `offset`; returns false if it already was. Moves the floor over any run of acks. */
  ack(offset: bigint): boolean {
    if (this.isAcked(offset)) return false;
    this.acked.add(offset);
    this.attemptCounts.delete(offset);
    const first = this.acked.first();
    if (first && first.start === this.floor) {
      this.floor = first.end;
      this.acked.dropBelow(this.floor);
    }
    return true;
  }

  /**
   * Moves the floor to `offset`, forgetting acks and attempts: a replay (reset to an earlier
   * offset) or a skip (retention took the records below startOffset, or reset to a later offset).
   */
  resetTo(offset: bigint): void {
    this.floor = offset;
    this.acked.clear();
    this.attemptCounts.clear();
  }

  snapshot(): AckStateSnapshot {
    return {
      ackFloor: this.floor,
      acked: this.acked.toArray(),
      attempts: [...this.attemptCounts].sort((a, b) => (a[0] < b[0] ? -1 : 1)),
    };
  }

  static restore(snapshot: AckStateSnapshot): AckState {
    const state = new AckState(snapshot.ackFloor, OffsetRanges.fromArray(snapshot.acked));
    for (const [offset, count] of snapshot.attempts) state.restoreAttempts(offset, count);
    return state;
  }
}
