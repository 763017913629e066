/**
 * What one event costs a group: work that must grow with the event, not with everything else the
 * group or the broker holds. Counted, not timed (records looked at, steps run).
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Delivery } from './delivery.js';
import { engineFixture, parking } from './group-fixture.js';
import { PartitionWindow } from './partition-window.js';

afterEach(() => {
  vi.restoreAllMocks();
});

describe('the cost of one event', () => {
  // A go-back looked at every record of the window: failures in reverse offset order (the last
  // delivered failing first, as handlers running together may) cost O(n^2), 24 s for 32,000.
  it("'partition': a go-back looks only at the records between the failed one and the cursor: n failures in reverse order cost O(n)", async () => {
    const { broker, settle } = await engineFixture();
    await broker.createTopic('back-many');
    const count = 2000;
    await broker.produce('back-many', Array.from({ length: count }, (_, i) => ({ value: `m${i}` })));
    const { held, handler } = parking();
    await broker.subscribe({ topic: 'back-many', group: 'g', ordering: 'partition', maxInFlight: count }, handler);
    await settle();
    expect(held).toHaveLength(count);
    const lookedAt = recordsLookedAt();
    for (const delivery of [...held].reverse()) void delivery.nack({ delayMs: 60_000 });
    expect(lookedAt()).toBeLessThanOrEqual(2 * count);
    expect(held.some((d: Delivery) => d.stale)).toBe(false); // each failed after those above it: none taken back
  });
});

/** Counts the records a window hands out from here on, one by one (at) or all at once (entries). */
function recordsLookedAt(): () => number {
  let count = 0;
  const { at, entries } = PartitionWindow.prototype;
  vi.spyOn(PartitionWindow.prototype, 'at').mockImplementation(function (this: PartitionWindow, seq) {
    count += 1;
    return at.call(this, seq);
  });
  vi.spyOn(PartitionWindow.prototype, 'entries').mockImplementation(function (this: PartitionWindow) {
    const found = entries.call(this);
    count += found.length;
    return found;
  });
  return () => count;
}
