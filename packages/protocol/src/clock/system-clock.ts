import { assert } from '../errors.js';
import type { Clock, Timer } from './clock.js';

/** Node clamps longer setTimeout delays to 1 ms (with a warning), so longer timers are chained. */
const MAX_TIMEOUT_MS = 2 ** 31 - 1;

export interface SystemClockOptions {
  /**
   * Whether timers keep the process alive. Default false (timers are unref'd): a broker's
   * background timers (lease expiry, fsync interval, retention) must never stop a process from
   * exiting once its real work is done; whoever needs to wait for something awaits a promise.
   */
  keepAlive?: boolean;
}

/** Real time: `Date.now` for the wall, `performance.now` for the monotonic reading, and `setTimeout`. */
export class SystemClock implements Clock {
  private readonly keepAlive: boolean;

  constructor({ keepAlive = false }: SystemClockOptions = {}) {
    this.keepAlive = keepAlive;
  }

  now(): number {
    return Date.now();
  }

  monotonicMs(): number {
    return performance.now();
  }

  /** `delayMs` must be finite and >= 0: anything else is a bug in the caller, hence an assert. */
  setTimer(delayMs: number, callback: () => void): Timer {
    assert(Number.isFinite(delayMs) && delayMs >= 0, 'timer delay must be finite and >= 0', { delayMs });
    const timer = new NodeTimer();
    // Node's timers already run on a monotonic clock, so a delay setTimeout takes needs nothing
    // more: one Timeout and this one object (a client arms a timer per request and per batch).
    if (delayMs <= MAX_TIMEOUT_MS) timer.handle = this.timeout(callback, delayMs);
    else this.chain(timer, performance.now() + delayMs, callback);
    return timer;
  }

  /**
   * A longer timer is chained on the monotonic reading: it must not fire an hour late (or early)
   * when the wall clock steps.
   */
  private chain(timer: NodeTimer, dueMs: number, callback: () => void): void {
    const leftMs = dueMs - performance.now();
    if (leftMs <= MAX_TIMEOUT_MS) timer.handle = this.timeout(callback, Math.max(0, leftMs));
    else timer.handle = this.timeout(() => this.chain(timer, dueMs, callback), MAX_TIMEOUT_MS);
  }

  private timeout(callback: () => void, delayMs: number): NodeJS.Timeout {
    const handle = setTimeout(callback, delayMs);
    if (!this.keepAlive) handle.unref();
    return handle;
  }
}

/** The Timeout a timer is armed on now (a chained timer's changes as it goes). */
class NodeTimer implements Timer {
  handle: NodeJS.Timeout | undefined = undefined;

  cancel(): void {
    clearTimeout(this.handle);
  }
}
