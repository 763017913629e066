import { describe, expect, it } from 'vitest';
import { VirtualClock } from '@brook/protocol';
import { DeadlineQueue } from './deadline-queue.js';
import { LeaseQueue, type Lease } from './lease-queue.js';

interface TestLease extends Lease {
  readonly id: number;
}

function newLeases(count: number): TestLease[] {
  return Array.from({ length: count }, (_, id) => ({ id, deadlineMs: 0, live: false, extension: undefined }));
}

/** The FIFO's length, ended leases included: what it keeps reachable. */
function fifoLength(queue: LeaseQueue<TestLease>): number {
  return (queue as unknown as { queue: unknown[] }).queue.length;
}

describe('LeaseQueue', () => {
  it('expires exactly the live leases, in grant order, and does not keep the ended ones until then', () => {
    const clock = new VirtualClock({ startMs: 0 });
    const expired: number[] = [];
    const queue = new LeaseQueue<TestLease>(clock, new DeadlineQueue(clock), (lease) => expired.push(lease.id));
    const leases = newLeases(10_000);
    for (const lease of leases) {
      queue.grant(lease, 1000 + Math.floor(lease.id / 100));
      // Most end right away (acked), as on a busy group.
      if (lease.id % 7 !== 0) queue.end(lease);
    }
    // The timer waits for the oldest live lease; until it fires, only the sweep drops ended ones.
    expect(fifoLength(queue)).toBeLessThan(4000);
    queue.extend(leases[7]!, 5000);
    clock.advance(1100);
    expect(expired).toEqual(leases.filter((l) => l.id % 7 === 0 && l.id !== 7).map((l) => l.id));
    clock.advance(4000);
    expect(expired.at(-1)).toBe(7);
    expect(clock.pendingTimers()).toBe(0);
  });

  // A lease holds its Flight, and the Flight its member (down to a closed connection's session)
  // and the batch bytes its record came from: an ended one must not stay reachable for long.
  it('lets go of every ended lease as soon as no lease is live, before its timer fires', () => {
    const clock = new VirtualClock({ startMs: 0 });
    const queue = new LeaseQueue<TestLease>(clock, new DeadlineQueue(clock), () => {});
    const leases = newLeases(100);
    for (const lease of leases) queue.grant(lease, 30_000);
    for (const lease of leases.slice(0, 99)) queue.end(lease);
    expect(fifoLength(queue)).toBe(100);
    queue.end(leases[99]!);
    expect(fifoLength(queue)).toBe(0);
    // Its pending timer finds nothing; a later grant is still expired on time.
    const [next] = newLeases(1);
    queue.grant(next!, 40_000);
    clock.advance(39_999);
    expect(next!.live).toBe(true);
    clock.advance(1);
    expect(next!.live).toBe(false);
    expect(clock.pendingTimers()).toBe(0);
  });

  it('lets go of the ended leases its timer passed, however short the FIFO', () => {
    const clock = new VirtualClock({ startMs: 0 });
    const expired: number[] = [];
    const queue = new LeaseQueue<TestLease>(clock, new DeadlineQueue(clock), (lease) => expired.push(lease.id));
    const leases = newLeases(100);
    for (const lease of leases) queue.grant(lease, 1000 + lease.id);
    for (const lease of leases.slice(1, 99)) queue.end(lease);
    clock.advance(1000);
    expect(expired).toEqual([0]);
    expect(fifoLength(queue)).toBe(1);
    clock.advance(99);
    expect(expired).toEqual([0, 99]);
    expect(fifoLength(queue)).toBe(0);
  });

  it('counts an expired lease as ended: once the rest end, nothing is kept', () => {
    const clock = new VirtualClock({ startMs: 0 });
    const queue = new LeaseQueue<TestLease>(clock, new DeadlineQueue(clock), () => {});
    const [early, extended, late] = newLeases(3);
    queue.grant(early!, 1000);
    queue.grant(extended!, 1000);
    queue.grant(late!, 2000);
    queue.extend(extended!, 1500);
    clock.advance(1500);
    expect([early!.live, extended!.live]).toEqual([false, false]);
    queue.end(late!);
    expect(fifoLength(queue)).toBe(0);
  });
});
