/**
 * Time as a port. Brook's core never reads `Date.now` or calls `setTimeout`: it is handed a
 * `Clock`. `SystemClock` is real time; `VirtualClock` only moves when a test or simulation tells
 * it to, so the same seed gives the same run and hours of leases pass in milliseconds.
 *
 * Two readings, as in Go and Kafka: `now()` is the wall clock, which an NTP correction, an
 * operator or a VM resume can step back or forward; `monotonicMs()` only ever moves forward, at
 * the rate time passes. A duration (a lease, a backoff, a timeout, a cache's age) is measured on
 * `monotonicMs()`, so that a step of the wall clock neither stretches it by the step nor ends it
 * at once; `now()` is for what is a date: record timestamps, retention by age, segment age,
 * consuming from a timestamp, what a person reads (describeGroup's lease deadline).
 */
export interface Timer {
  /** Stops the timer; a no-op if it already fired or was cancelled. */
  cancel(): void;
}

export interface Clock {
  /** Wall time: milliseconds since the Unix epoch. Record timestamps and ages, never durations. */
  now(): number;
  /**
   * Milliseconds since an arbitrary origin, never going back and never stepped with the wall
   * clock: deadlines and durations. Only differences of two readings mean anything.
   */
  monotonicMs(): number;
  /** Calls `callback` once, no sooner than `delayMs` from now. */
  setTimer(delayMs: number, callback: () => void): Timer;
}
