/**
 * The arguments of a delivery's settlements, checked by the broker's Delivery and the client's
 * Message alike, by the same rule the wire's settle request applies: so a bad one fails that one
 * call, the same way in process as over a socket, before it reaches a lease or a settle request.
 * Unchecked, a NaN reached the broker's timers (its assert) and a negative delay was clamped in
 * process but refused over the wire together with every ack batched beside it.
 */
import { BrookError } from './errors.js';

/** Longest delay a nack may ask for and longest lease an extend may grant: a day (the broker's backoffMaxMs and ackTimeoutMs limits). */
export const SETTLE_MS_MAX = 24 * 60 * 60 * 1000;

/**
 * A rejected promise (marked handled, as a stale settlement's is) if `value` is not a valid
 * `field` of a settlement; undefined if it is. `delayMs` and `ms` are undefined (the group's
 * default) or an integer in [0, SETTLE_MS_MAX]; a `reason` is a string.
 */
export function refusedSettlement(field: 'delayMs' | 'ms' | 'reason', value: unknown): Promise<void> | undefined {
  const valid = field === 'reason'
    ? typeof value === 'string'
    : value === undefined || (Number.isInteger(value) && (value as number) >= 0 && (value as number) <= SETTLE_MS_MAX);
  if (valid) return undefined;
  const expected = field === 'reason' ? 'a string' : `an integer in [0, ${SETTLE_MS_MAX}]`;
  const refusal = Promise.reject(new BrookError('INVALID_REQUEST', `${field} must be ${expected}, got ${String(value)}`, { field, value }));
  refusal.catch(() => undefined);
  return refusal;
}
