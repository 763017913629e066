/**
 * What one event costs a group: work that must grow with the event, not with everything else the
 * group or the broker holds. Counted, not timed (records looked at, steps run).
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Delivery } from './delivery.js';
import { engineFixture, parking } from './group-fixture.js';
import { Group } from './group.js';
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

  // Every group of the topic ran a pump step at each produce, members or not: a dev broker whose
  // test runs each made a group on a shared topic paid, 3000 groups on, 3.6 ms a produce (0.6 at 100).
  it('a produce runs no step of the groups without members on its topic', async () => {
    const { broker, settle } = await engineFixture();
    await broker.createTopic('shared');
    for (let i = 0; i < 100; i++) await (await broker.subscribe({ topic: 'shared', group: `left-${i}` }, () => undefined)).close();
    const { held, handler } = parking();
    await broker.subscribe({ topic: 'shared', group: 'live' }, handler);
    await settle();
    const steps = stepsRun();
    await broker.produce('shared', [{ value: 'one' }]);
    await settle();
    expect(held.map((d) => d.text())).toEqual(['one']);
    expect(steps().filter((group) => group !== 'live')).toEqual([]);
    expect(broker.describeGroup('shared', 'left-7').lag).toBe(1n);
  });
});

/** The names of the groups that run a pump step from here on, once per step. */
function stepsRun(): () => string[] {
  const ran: string[] = [];
  const prototype = Group.prototype as unknown as { step(this: Group): Promise<void> };
  const { step } = prototype;
  vi.spyOn(prototype, 'step').mockImplementation(function (this: Group) {
    ran.push(this.name);
    return step.call(this);
  });
  return () => ran;
}

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
