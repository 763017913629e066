/**
 * Every lease and every backoff of a broker in one structure: a min-heap of deadlines with a
 * single clock timer armed for the earliest one. A million records in flight cost a million heap
 * entries, not a million timers, and extending a lease is an O(log n) heap removal and insertion,
 * not a timer cancel and re-create. Deadlines are on `clock.monotonicMs()` (durations, not dates:
 * see Clock).
 */
import { TimerHeap, type Clock, type HeapTimer, type Timer } from '@brook/protocol';

export interface Deadline {
  /** Removes the deadline; a no-op once it fired or was cancelled. */
  cancel(): void;
}

export class DeadlineQueue {
  private readonly heap = new TimerHeap();
  private armed: { timer: Timer; dueMs: number } | undefined;
  private seq = 0;

  constructor(private readonly clock: Clock) {}

  get size(): number {
    return this.heap.size;
  }

  /** Calls `onDue` once, at or after `dueMs` on the clock's monotonic reading, unless cancelled first. */
  schedule(dueMs: number, onDue: () => void): Deadline {
    const entry: HeapTimer = { dueMs, seq: this.seq++, callback: onDue, index: -1 };
    this.heap.push(entry);
    this.arm();
    const queue = this;
    return {
      cancel() {
        queue.heap.remove(entry);
        queue.arm();
      },
    };
  }

  /** Cancels everything (broker close). */
  clear(): void {
    while (this.heap.pop()) { /* drain */ }
    this.armed?.timer.cancel();
    this.armed = undefined;
  }

  /** Keeps exactly one clock timer, set for the earliest deadline. */
  private arm(): void {
    const first = this.heap.peek();
    if (this.armed && first?.dueMs === this.armed.dueMs) return;
    this.armed?.timer.cancel();
    this.armed = undefined;
    if (!first) return;
    const dueMs = first.dueMs;
    this.armed = { dueMs, timer: this.clock.setTimer(Math.max(0, dueMs - this.clock.monotonicMs()), () => this.fire()) };
  }

  private fire(): void {
    this.armed = undefined;
    const now = this.clock.monotonicMs();
    for (let next = this.heap.peek(); next && next.dueMs <= now; next = this.heap.peek()) {
      this.heap.remove(next);
      next.callback();
    }
    this.arm();
  }
}
