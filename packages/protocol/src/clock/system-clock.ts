import { assert } from '../errors.js';
import type { Clock, Timer } from './clock.js';

/** Node clamps longer setTimeout delays to 1 ms (with a warning), so longer timers are chained. */
const MAX_TIMEOUT_MS = 2 ** 31 - 1;

/**
 * How much earlier than its delay on performance.now() a Node timer may fire: Node counts whole
 * milliseconds, so under 1 ms. A timer earlier than this ran on a faked setTimeout (below).
 */
const EARLY_FIRE_TOLERANCE_MS = 2;

export interface SystemClockOptions {
  /**
   * Whether timers keep the process alive. Default false (timers are unref'd): a broker's
   * background timers (lease expiry, fsync interval, retention) must never stop a process from
   * exiting once its real work is done; whoever needs to wait for something awaits a promise.
   */
  keepAlive?: boolean;
}

/**
 * Real time: `Date.now` for the wall, `performance.now` for the monotonic reading, and `setTimeout`.
 *
 * A test may fake setTimeout and not performance.now (`vi.useFakeTimers({ toFake: ['setTimeout',
 * 'clearTimeout'] })`, vitest 2's default list): its timers then fire on the test's time, long
 * before their delay has passed on performance.now, and a caller that checks the reading when
 * woken (a lease, a backoff) would find itself early and re-arm for ever. So a timer that fires
 * early moves the monotonic reading up to its due time (`aheadMs`): "no sooner than delayMs"
 * holds on the reading the callers use, and the faked timers drive the broker. Real timers never
 * fire that early, so outside such a test the reading is performance.now.
 */
export class SystemClock implements Clock {
  private readonly keepAlive: boolean;
  /** How far the monotonic reading runs ahead of performance.now: 0 unless timers fired early. */
  private aheadMs = 0;

  constructor({ keepAlive = false }: SystemClockOptions = {}) {
    this.keepAlive = keepAlive;
  }

  now(): number {
    return Date.now();
  }

  monotonicMs(): number {
    return performance.now() + this.aheadMs;
  }

  /** `delayMs` must be finite and >= 0: anything else is a bug in the caller, hence an assert. */
  setTimer(delayMs: number, callback: () => void): Timer {
    assert(Number.isFinite(delayMs) && delayMs >= 0, 'timer delay must be finite and >= 0', { delayMs });
    const timer = new NodeTimer();
    // Node's timers already run on a monotonic clock, so a delay setTimeout takes needs nothing
    // more: one Timeout and this one object (a client arms a timer per request and per batch).
    if (delayMs <= MAX_TIMEOUT_MS) timer.handle = this.timeout(callback, delayMs);
    else this.chain(timer, this.monotonicMs() + delayMs, callback);
    return timer;
  }

  /**
   * A longer timer is chained on the monotonic reading: it must not fire an hour late (or early)
   * when the wall clock steps.
   */
  private chain(timer: NodeTimer, dueMs: number, callback: () => void): void {
    const leftMs = dueMs - this.monotonicMs();
    if (leftMs <= MAX_TIMEOUT_MS) timer.handle = this.timeout(callback, Math.max(0, leftMs));
    else timer.handle = this.timeout(() => this.chain(timer, dueMs, callback), MAX_TIMEOUT_MS);
  }

  private timeout(callback: () => void, delayMs: number): NodeJS.Timeout {
    // Arguments rather than a closure: no object more per timer.
    const handle = setTimeout(this.fire, delayMs, this.monotonicMs() + delayMs, callback);
    if (!this.keepAlive) handle.unref();
    return handle;
  }

  /** A timer fired: first the reading catches up with its due time if it fired early (see the class). */
  private readonly fire = (dueMs: number, callback: () => void): void => {
    const earlyMs = dueMs - this.monotonicMs();
    if (earlyMs > EARLY_FIRE_TOLERANCE_MS) this.aheadMs += earlyMs;
    callback();
  };
}

/** The Timeout a timer is armed on now (a chained timer's changes as it goes). */
class NodeTimer implements Timer {
  handle: NodeJS.Timeout | undefined = undefined;

  cancel(): void {
    clearTimeout(this.handle);
  }
}
