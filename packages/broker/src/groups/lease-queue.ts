/**
 * A group's leases. A lease is granted for ackTimeoutMs, the same for every delivery of a
 * group, so leases expire in the order they were granted: a FIFO is enough, with O(1) grant and
 * no per-lease timer. A lease that ends early (ack, nack, revoke) is only marked dead and skipped
 * when reached. One clock timer is armed for the oldest live lease. An extension can ask for any
 * duration, so an extended lease leaves the FIFO for the broker's DeadlineQueue heap (extensions
 * are rare next to grants).
 */
import type { Clock, Timer } from '@brook/protocol';
import type { Deadline, DeadlineQueue } from './deadline-queue.js';

export interface Lease {
  readonly deadlineMs: number;
  /** False once the lease ended (settled, revoked, expired, or replaced by an extension). */
  live: boolean;
  readonly onExpiry: () => void;
  /** Set for an extended lease, which lives in the heap instead of the FIFO. */
  readonly extended?: Deadline;
}

export class LeaseQueue {
  private queue: Lease[] = [];
  private head = 0;
  private timer: Timer | undefined;

  constructor(
    private readonly clock: Clock,
    private readonly deadlines: DeadlineQueue,
  ) {}

  /** A lease of the group's uniform duration: its deadline is never before an earlier grant's. */
  grant(deadlineMs: number, onExpiry: () => void): Lease {
    const last = this.queue[this.queue.length - 1];
    // A wall clock stepping back must not break the FIFO's order: such a lease ends a little late.
    const lease: Lease = { deadlineMs: last && last.deadlineMs > deadlineMs ? last.deadlineMs : deadlineMs, live: true, onExpiry };
    this.queue.push(lease);
    if (this.timer === undefined) this.arm();
    return lease;
  }

  /** Renews a lease until `deadlineMs`: the old one dies, the new one lives in the heap. */
  extend(lease: Lease, deadlineMs: number): Lease {
    if (!lease.live) return lease;
    this.end(lease);
    const renewed: { -readonly [K in keyof Lease]: Lease[K] } = { deadlineMs, live: true, onExpiry: lease.onExpiry };
    renewed.extended = this.deadlines.schedule(deadlineMs, () => {
      if (!renewed.live) return;
      renewed.live = false;
      renewed.onExpiry();
    });
    return renewed;
  }

  end(lease: Lease): void {
    lease.live = false;
    lease.extended?.cancel();
  }

  clear(): void {
    this.queue = [];
    this.head = 0;
    this.timer?.cancel();
    this.timer = undefined;
  }

  private arm(): void {
    while (this.head < this.queue.length && !this.queue[this.head]!.live) this.head += 1;
    this.compact();
    const next = this.queue[this.head];
    if (!next) return;
    this.timer = this.clock.setTimer(Math.max(0, next.deadlineMs - this.clock.now()), () => this.fire());
  }

  private fire(): void {
    this.timer = undefined;
    const now = this.clock.now();
    while (this.head < this.queue.length) {
      const lease = this.queue[this.head]!;
      if (lease.live && lease.deadlineMs > now) break;
      this.head += 1;
      if (lease.live) {
        lease.live = false;
        lease.onExpiry();
      }
    }
    this.arm();
  }

  /** Drops the consumed front of the array once it is most of it. */
  private compact(): void {
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  }
}
