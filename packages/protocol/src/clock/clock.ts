/**
 * Time as a port. Brook's core never reads `Date.now` or calls `setTimeout`: it is handed a
 * `Clock`. `SystemClock` is real time; `VirtualClock` only moves when a test or simulation tells
 * it to, so the same seed gives the same run and hours of leases pass in milliseconds.
 */
export interface Timer {
  /** Stops the timer; a no-op if it already fired or was cancelled. */
  cancel(): void;
}

export interface Clock {
  /** Milliseconds since the Unix epoch. Used for record timestamps and deadlines. */
  now(): number;
  /** Calls `callback` once, no sooner than `delayMs` from now. */
  setTimer(delayMs: number, callback: () => void): Timer;
}
