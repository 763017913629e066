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
    // Monotonic: a chained timer must not fire an hour late (or early) when the wall clock steps.
    const dueMs = performance.now() + delayMs;
    let handle: NodeJS.Timeout;
    const arm = (remainingMs: number): void => {
      handle = setTimeout(() => {
        const leftMs = dueMs - performance.now();
        if (leftMs > 0 && remainingMs > MAX_TIMEOUT_MS) arm(leftMs);
        else callback();
      }, Math.min(remainingMs, MAX_TIMEOUT_MS));
      if (!this.keepAlive) handle.unref();
    };
    arm(delayMs);
    return { cancel: () => clearTimeout(handle) };
  }
}
