import { describe, expect, it } from 'vitest';
import { VirtualClock } from '@brook/protocol';
import { DeadlineQueue } from './deadline-queue.js';

describe('DeadlineQueue', () => {
  it('fires deadlines in time order (FIFO among equals) with one clock timer for all of them', () => {
    const clock = new VirtualClock({ startMs: 0 });
    const queue = new DeadlineQueue(clock);
    const fired: string[] = [];
    for (const [name, dueMs] of [['c', 30], ['a', 10], ['b', 20], ['a2', 10]] as const) queue.schedule(dueMs, () => fired.push(name));
    expect(clock.pendingTimers()).toBe(1);
    clock.advance(10);
    expect(fired).toEqual(['a', 'a2']);
    expect(clock.pendingTimers()).toBe(1);
    clock.advance(100);
    expect(fired).toEqual(['a', 'a2', 'b', 'c']);
    expect(clock.pendingTimers()).toBe(0);
  });

  it('cancels (a lease that ended or was extended) without leaking timers', () => {
    const clock = new VirtualClock({ startMs: 0 });
    const queue = new DeadlineQueue(clock);
    const fired: string[] = [];
    const lease = queue.schedule(10, () => fired.push('lease'));
    const other = queue.schedule(15, () => fired.push('other'));
    lease.cancel();
    clock.advance(20);
    expect(fired).toEqual(['other']);
    other.cancel(); // fired already: a no-op
    lease.cancel();
    clock.advance(100);
    expect(fired).toEqual(['other']);
    expect(queue.size).toBe(0);
    expect(clock.pendingTimers()).toBe(0);
  });

  it('handles deadlines scheduled from inside a firing callback, and ones already past', () => {
    const clock = new VirtualClock({ startMs: 100 });
    const queue = new DeadlineQueue(clock);
    const fired: number[] = [];
    queue.schedule(50, () => {
      fired.push(clock.now());
      queue.schedule(clock.now() + 5, () => fired.push(clock.now()));
    });
    clock.advance(0);
    clock.advance(5);
    expect(fired).toEqual([100, 105]);
  });
});
