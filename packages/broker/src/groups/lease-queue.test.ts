import { describe, expect, it } from 'vitest';
import { VirtualClock } from '@brook/protocol';
import { DeadlineQueue } from './deadline-queue.js';
import { LeaseQueue, type Lease } from './lease-queue.js';

interface TestLease extends Lease {
  readonly id: number;
}

describe('LeaseQueue', () => {
  it('expires exactly the live leases, in grant order, and does not keep the ended ones until then', () => {
    const clock = new VirtualClock({ startMs: 0 });
    const expired: number[] = [];
    const queue = new LeaseQueue<TestLease>(clock, new DeadlineQueue(clock), (lease) => expired.push(lease.id));
    const leases: TestLease[] = Array.from({ length: 10_000 }, (_, id) => ({ id, deadlineMs: 0, live: false, extension: undefined }));
    for (const lease of leases) {
      queue.grant(lease, 1000 + Math.floor(lease.id / 100));
      // Most end right away (acked), as on a busy group.
      if (lease.id % 7 !== 0) queue.end(lease);
    }
    // The timer waits for the oldest live lease; until it fires, only the sweep drops ended ones.
    expect((queue as unknown as { queue: unknown[] }).queue.length).toBeLessThan(4000);
    queue.extend(leases[7]!, 5000);
    clock.advance(1100);
    expect(expired).toEqual(leases.filter((l) => l.id % 7 === 0 && l.id !== 7).map((l) => l.id));
    clock.advance(4000);
    expect(expired.at(-1)).toBe(7);
    expect(clock.pendingTimers()).toBe(0);
  });
});
