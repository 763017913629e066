/**
 * A bridge for handler code that calls `setTimeout` itself: timer functions shaped like Node's,
 * bound to a Clock (the simulation hands each consumer its process clock). Nothing global is
 * patched: pass these to the code under test (`const { setTimeout } = ctx.timers`), the way it
 * would take `node:timers` in production.
 */
import { BrookError, showValue, type Clock, type Timer } from '@brook/protocol';

/** What the bridge's setTimeout returns; pass it to clearTimeout / clearInterval. */
export interface VirtualTimeout {
  readonly id: number;
}

export interface VirtualTimers {
  setTimeout(callback: (...args: unknown[]) => void, delayMs?: number, ...args: unknown[]): VirtualTimeout;
  clearTimeout(timeout: VirtualTimeout | undefined): void;
  setInterval(callback: (...args: unknown[]) => void, delayMs?: number, ...args: unknown[]): VirtualTimeout;
  clearInterval(timeout: VirtualTimeout | undefined): void;
  /** Resolves after `ms` of virtual time (never, if the process dies first); NaN or an infinite
   * `ms` rejects INVALID_REQUEST (a bug in the handler, not a sleep). */
  sleep(ms: number): Promise<void>;
  /** Virtual `Date.now()`. */
  now(): number;
}

/** Node's largest timer delay (2^31 - 1 ms); a longer one fires after 1 ms. */
const TIMEOUT_MAX_MS = 2 ** 31 - 1;

/**
 * `onUncaught` takes what a callback throws, as a process's uncaughtException handler would
 * (the simulation crashes the consumer with it); without it the throw goes to whoever fired the timer.
 */
export function virtualTimers(clock: Clock, onUncaught?: (error: unknown) => void): VirtualTimers {
  const live = new Map<number, Timer>();
  let nextId = 1;
  // Like Node: the delay is coerced to a number, and one outside [1, TIMEOUT_MAX] (NaN, 0, a
  // negative, Infinity, more than ~24.8 days) becomes 1 ms, so an interval cannot spin at 0 and an
  // overflowing delay fires soon, as it does in production, instead of never (or failing the clock's assert).
  const delayOf = (delayMs: unknown) => {
    const ms = typeof delayMs === 'number' ? delayMs : typeof delayMs === 'string' ? Number(delayMs) : NaN;
    return ms >= 1 && ms <= TIMEOUT_MAX_MS ? ms : 1;
  };
  const clear = (timeout: VirtualTimeout | undefined) => {
    if (!timeout) return;
    live.get(timeout.id)?.cancel();
    live.delete(timeout.id);
  };
  const schedule = (callback: (...args: unknown[]) => void, delayMs: unknown, args: unknown[], repeat: boolean): VirtualTimeout => {
    const timeout = { id: nextId++ };
    const arm = () => {
      live.set(timeout.id, clock.setTimer(delayOf(delayMs), () => {
        if (repeat) arm();
        else live.delete(timeout.id);
        if (!onUncaught) return callback(...args);
        try {
          callback(...args);
        } catch (error) {
          onUncaught(error);
        }
      }));
    };
    arm();
    return timeout;
  };
  return {
    setTimeout: (callback, delayMs, ...args) => schedule(callback, delayMs, args, false),
    setInterval: (callback, delayMs, ...args) => schedule(callback, delayMs, args, true),
    clearTimeout: clear,
    clearInterval: clear,
    sleep: (ms) => {
      if (typeof ms !== 'number' || !Number.isFinite(ms)) {
        return Promise.reject(new BrookError('INVALID_REQUEST', `sleep(ms) needs a finite number of milliseconds, got ${showValue(ms)}`, { ms: showValue(ms) }));
      }
      return new Promise((resolve) => clock.setTimer(Math.max(0, ms), resolve));
    },
    now: () => clock.now(),
  };
}
