import { setImmediate as realSetImmediate } from 'node:timers/promises';
import { assert, BrookError } from '../errors.js';
import type { Clock, Timer } from './clock.js';
import { type HeapTimer, TimerHeap } from './timer-heap.js';

/**
 * A settle step is this many turns of the real event loop (`setImmediate`). One turn already runs
 * every queued promise continuation, however long the chain, as long as none of it waits on real
 * I/O; the extra turns cover code that itself defers with `setImmediate` (e.g. stream internals)
 * or whose continuation queues one more macrotask. `MemoryFileSystem` never waits on real I/O, so
 * a broker on a VirtualClock and a MemoryFileSystem reaches quiescence within a settle step.
 */
const SETTLE_TURNS = 3;

async function settle(): Promise<void> {
  for (let turn = 0; turn < SETTLE_TURNS; turn++) await realSetImmediate();
}

export interface VirtualClockOptions {
  /** Initial `now()`. Default 1_700_000_000_000 (Nov 2023), a realistic epoch-ms timestamp. */
  startMs?: number;
}

/**
 * Simulated time for tests and simulations: it moves only when `advance`, `advanceAsync` or
 * `runUntilIdle` moves it (`now()` also when `stepWall` steps it), and timers fire in a total
 * order, (dueMs, scheduling order), so the same inputs give the same run. Timers due at the same instant fire first-scheduled first.
 *
 * `setTimer` delays must be finite and >= 0: a negative or NaN delay is a bug in the caller and
 * fails an assert rather than being silently treated as 0. Driving the clock is not re-entrant:
 * advancing from inside a timer callback, or while an async advance is running, is a bug too.
 * A callback that throws propagates out of the advancing call, with `now()` left at its due time.
 *
 * `monotonicMs()` is the virtual time itself (it starts at `startMs` too); timers are due on it.
 * `now()`, the wall reading, is the same until `stepWall` steps it, as NTP or a VM resume would.
 */
export class VirtualClock implements Clock {
  /** The virtual time: `monotonicMs()`, and what timers are due on. */
  private nowMs: number;
  /** How far `stepWall` moved the wall reading away from the virtual time. */
  private wallStepMs = 0;
  private nextSeq = 0;
  private readonly timers = new TimerHeap();
  private driving = false;

  constructor({ startMs = 1_700_000_000_000 }: VirtualClockOptions = {}) {
    assert(Number.isFinite(startMs), 'startMs must be finite', { startMs });
    this.nowMs = startMs;
  }

  now(): number {
    return this.nowMs + this.wallStepMs;
  }

  monotonicMs(): number {
    return this.nowMs;
  }

  /**
   * Steps the wall reading (`now()`) by `ms`, back if negative, the way an NTP correction or a VM
   * resume steps a real machine's: no time passes, `monotonicMs()` and the timers do not move.
   */
  stepWall(ms: number): void {
    assert(Number.isFinite(ms), 'a wall step must be finite', { ms });
    this.wallStepMs += ms;
  }

  setTimer(delayMs: number, callback: () => void): Timer {
    assert(Number.isFinite(delayMs) && delayMs >= 0, 'timer delay must be finite and >= 0', { delayMs });
    const timer: HeapTimer = { dueMs: this.nowMs + delayMs, seq: this.nextSeq++, callback, index: -1 };
    this.timers.push(timer);
    return { cancel: () => this.timers.remove(timer) };
  }

  /** Timers scheduled and neither fired nor cancelled. */
  pendingTimers(): number {
    return this.timers.size;
  }

  /** When the next timer is due, on `monotonicMs()`. */
  nextTimerAtMs(): number | undefined {
    return this.timers.peek()?.dueMs;
  }

  /**
   * Moves time forward by `ms`, synchronously firing in order every timer due by then, including
   * timers that callbacks schedule inside the window. Promise continuations do not run between
   * timers (use `advanceAsync` for that). Ends with `now()` = start + ms.
   */
  advance(ms: number): void {
    const targetMs = this.targetOf(ms);
    this.beginDriving();
    try {
      while (this.fireNextDueBy(targetMs));
      this.nowMs = targetMs;
    } finally {
      this.driving = false;
    }
  }

  /**
   * Like `advance`, but settles (see SETTLE_TURNS) before the first timer and after each one, so
   * that async work a timer starts (an awaited fsync, a redelivery chain) runs to its next timer
   * or completion before later timers fire, as it would in real time.
   */
  async advanceAsync(ms: number): Promise<void> {
    const targetMs = this.targetOf(ms);
    this.beginDriving();
    try {
      do await settle();
      while (this.fireNextDueBy(targetMs));
      this.nowMs = targetMs;
    } finally {
      this.driving = false;
    }
  }

  /**
   * Settles, jumps to the next timer and fires it, and repeats until no timer is left; resolves
   * with the number of timers fired. A system that keeps re-arming timers never idles, so after
   * `maxTimers` it rejects with TIMEOUT rather than spin forever.
   */
  async runUntilIdle({ maxTimers = 100_000 }: { maxTimers?: number } = {}): Promise<number> {
    this.beginDriving();
    try {
      let fired = 0;
      for (;;) {
        await settle();
        if (this.timers.size === 0) return fired;
        if (fired >= maxTimers) {
          throw new BrookError('TIMEOUT', `runUntilIdle fired ${fired} timers and ${this.timers.size} remain: a timer re-armed for ever never lets it idle `
            + '(a broker with a topic under retention checks it every retentionCheckIntervalMs, one with a listener pings): '
            + 'drive it by time with advanceAsync(ms) instead', {
            maxTimers,
            pendingTimers: this.timers.size,
          });
        }
        this.fireNextDueBy(Infinity);
        fired += 1;
      }
    } finally {
      this.driving = false;
    }
  }

  /** Fires the earliest timer if it is due by `targetMs`, with `now()` at its due time. */
  private fireNextDueBy(targetMs: number): boolean {
    const next = this.timers.peek();
    if (next === undefined || next.dueMs > targetMs) return false;
    this.timers.pop();
    this.nowMs = next.dueMs;
    next.callback();
    return true;
  }

  private targetOf(ms: number): number {
    assert(Number.isFinite(ms) && ms >= 0, 'advance by a finite, non-negative ms', { ms });
    return this.nowMs + ms;
  }

  /** Marks the clock as being driven; the caller clears `driving` in a finally. */
  private beginDriving(): void {
    assert(!this.driving, 'VirtualClock advanced re-entrantly (from a timer callback or during an async advance)');
    this.driving = true;
  }
}
