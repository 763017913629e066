/**
 * A group's leases. A lease is granted for ackTimeoutMs, the same for every delivery of a
 * group, so leases expire in the order they were granted: a FIFO is enough, with O(1) grant and
 * no per-lease timer or closure. A lease that ends early (ack, nack, revoke) is only marked dead
 * and skipped when reached. One clock timer is armed for the oldest live lease. An extension can
 * ask for any duration, so an extended lease moves to the broker's DeadlineQueue heap and the
 * FIFO skips it (extensions are rare next to grants). So does a grant due before the last one
 * granted: after a reconfigure that shortened ackTimeoutMs, until the longer leases are gone.
 *
 * The lease fields live on the caller's own object (a Flight), so a grant allocates nothing.
 * An ended lease still holds its Flight, and through it the member (down to a closed
 * connection's session) and the batch bytes its record was decoded from, so the FIFO lets go of
 * ended leases three ways: all at once when no lease is live (an idle group keeps nothing); those
 * its timer has passed, each time it fires; and the rest by a sweep whenever the FIFO doubles,
 * since the timer waits for the oldest live lease, ackTimeoutMs away, and a busy group may end
 * thousands of leases before then.
 */
import { assert, type Clock, type Timer } from '@brook/protocol';
import type { Deadline, DeadlineQueue } from './deadline-queue.js';

export interface Lease {
  /** On `clock.monotonicMs()`, so that a step of the wall clock neither stretches nor ends it. */
  deadlineMs: number;
  /** False once the lease ended (settled, revoked or expired). */
  live: boolean;
  /** Set once extended: the lease is then due in the heap, and the FIFO passes it over. */
  extension: Deadline | undefined;
}

const SWEEP_MIN_LENGTH = 1024;

export class LeaseQueue<L extends Lease> {
  private queue: L[] = [];
  private head = 0;
  private timer: Timer | undefined;
  /** Leases granted and not yet ended, in the FIFO or extended out of it. */
  private liveCount = 0;
  /** The latest deadline in the FIFO: a grant due before it goes to the heap. */
  private lastGrantMs = Number.NEGATIVE_INFINITY;
  /** Sweep when the FIFO reaches this length. */
  private sweepAtLength = SWEEP_MIN_LENGTH;

  constructor(
    private readonly clock: Clock,
    private readonly deadlines: DeadlineQueue,
    private readonly onExpiry: (lease: L) => void,
  ) {}

  /** Starts a lease of the group's duration, in the FIFO; one due before an earlier grant's, in the heap. */
  grant(lease: L, deadlineMs: number): void {
    assert(!lease.live, 'a lease is granted once');
    lease.deadlineMs = deadlineMs;
    lease.live = true;
    this.liveCount += 1;
    lease.extension = undefined;
    if (deadlineMs >= this.lastGrantMs) this.lastGrantMs = deadlineMs;
    // A reconfigure that shortened ackTimeoutMs: behind the longer leases granted before, the
    // FIFO would expire it only after theirs. Queued all the same, extended from the start, so
    // that clear() finds it.
    else lease.extension = this.deadlines.schedule(deadlineMs, () => this.expire(lease));
    this.queue.push(lease);
    if (this.queue.length >= this.sweepAtLength) this.sweep();
    if (this.timer === undefined) this.arm();
  }

  /** Renews a live lease until `deadlineMs`, in the heap. */
  extend(lease: L, deadlineMs: number): void {
    if (!lease.live) return;
    lease.extension?.cancel();
    lease.deadlineMs = deadlineMs;
    lease.extension = this.deadlines.schedule(deadlineMs, () => this.expire(lease));
  }

  end(lease: L): void {
    if (!lease.live) return;
    lease.extension?.cancel();
    this.ended(lease);
  }

  clear(): void {
    for (let i = this.head; i < this.queue.length; i++) this.queue[i]!.extension?.cancel();
    this.queue = [];
    this.head = 0;
    this.liveCount = 0;
    this.timer?.cancel();
    this.timer = undefined;
  }

  private expire(lease: L): void {
    if (!lease.live) return;
    this.ended(lease);
    this.onExpiry(lease);
  }

  /**
   * The last live lease ended: every lease in the FIFO is dead, so it is emptied. The timer is
   * left to fire on nothing rather than cancelled: a group with one record in flight at a time
   * would otherwise set a clock timer for every record.
   */
  private ended(lease: L): void {
    lease.live = false;
    this.liveCount -= 1;
    if (this.liveCount > 0) return;
    this.queue.length = 0;
    this.head = 0;
  }

  private arm(): void {
    while (this.head < this.queue.length && this.passesOver(this.queue[this.head]!)) this.head += 1;
    // Amortized O(1) a grant still: each lease the head passed pays for one it keeps.
    if (this.head * 2 > this.queue.length) this.sweep();
    const next = this.queue[this.head];
    if (!next) return;
    this.timer = this.clock.setTimer(Math.max(0, next.deadlineMs - this.clock.monotonicMs()), () => this.fire());
  }

  private fire(): void {
    this.timer = undefined;
    const now = this.clock.monotonicMs();
    while (this.head < this.queue.length) {
      const lease = this.queue[this.head]!;
      if (!this.passesOver(lease) && lease.deadlineMs > now) break;
      this.head += 1;
      if (!this.passesOver(lease)) this.expire(lease);
    }
    this.arm();
  }

  /** Dead or extended: not the FIFO's to expire. */
  private passesOver(lease: L): boolean {
    return !lease.live || lease.extension !== undefined;
  }

  /** Keeps only the live leases the FIFO still has to expire, in order: amortized O(1) a grant. */
  private sweep(): void {
    const kept: L[] = [];
    for (let i = this.head; i < this.queue.length; i++) if (!this.passesOver(this.queue[i]!)) kept.push(this.queue[i]!);
    this.queue = kept;
    this.head = 0;
    this.sweepAtLength = Math.max(SWEEP_MIN_LENGTH, kept.length * 2);
  }
}
