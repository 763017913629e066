/**
 * The arguments of a delivery's settlements, checked by the broker's Delivery and the client's
 * Message alike, by the same rule the wire's settle request applies: so a bad one fails that one
 * call, the same way in process as over a socket, before it reaches a lease or a settle request.
 * Unchecked, a NaN reached the broker's timers (its assert) and a negative delay was clamped in
 * process but refused over the wire together with every ack batched beside it.
 */
import { BrookError } from './errors.js';
import { showValue } from './show-value.js';

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
  return refusal(new BrookError('INVALID_REQUEST', `${field} must be ${expected}, got ${showValue(value)}`, { field, value }));
}

/**
 * As refusedSettlement, for nack()'s options: undefined, or a plain object whose only key is
 * `delayMs`. Read unchecked, `nack(null)` threw a TypeError (not even a rejection) and
 * `nack(5000)` or a misspelled `{ delay: 5000 }` nacked with the group's backoff instead.
 */
export function refusedNackOptions(options: unknown): Promise<void> | undefined {
  if (options === undefined) return undefined;
  const plain = typeof options === 'object' && options !== null && !Array.isArray(options);
  const stray = plain ? Object.keys(options).find((key) => key !== 'delayMs') : undefined;
  if (!plain || stray !== undefined) {
    const what = plain ? `has an unknown key ${JSON.stringify(stray)}` : `must be an object, got ${showValue(options)}`;
    return refusal(new BrookError('INVALID_REQUEST', `nack options ${what}`, { field: 'options', ...(stray !== undefined && { key: stray }) }));
  }
  return refusedSettlement('delayMs', (options as { delayMs?: unknown }).delayMs);
}

/** A rejected promise marked handled, as a stale settlement's is: a caller that ignores it gets no unhandled rejection. */
function refusal(error: BrookError): Promise<void> {
  const refused = Promise.reject(error);
  refused.catch(() => undefined);
  return refused;
}

/**
 * A dead-letter record's `brook.reason` holds at most this many bytes of UTF-8: a longer reason
 * is cut, at a character boundary, and ends with "…" (deadLetterReasonBytes), so the copy fits
 * the dead-letter topic whatever a consumer passes to reject().
 */
export const DEAD_LETTER_REASON_BYTES_MAX = 1024;

const utf8 = new TextEncoder();
const ELLIPSIS = '…';
const ELLIPSIS_BYTES = utf8.encode(ELLIPSIS).length;

/** `reason` as UTF-8, cut to DEAD_LETTER_REASON_BYTES_MAX bytes (encodeInto writes only whole characters). */
export function deadLetterReasonBytes(reason: string): Uint8Array {
  const whole = utf8.encode(reason);
  if (whole.length <= DEAD_LETTER_REASON_BYTES_MAX) return whole;
  const cut = new Uint8Array(DEAD_LETTER_REASON_BYTES_MAX);
  const { written } = utf8.encodeInto(reason, cut.subarray(0, DEAD_LETTER_REASON_BYTES_MAX - ELLIPSIS_BYTES));
  utf8.encodeInto(ELLIPSIS, cut.subarray(written));
  return cut.subarray(0, written + ELLIPSIS_BYTES);
}

/**
 * The reason a client sends with reject(): longer than DEAD_LETTER_REASON_BYTES_MAX characters,
 * it is cut as the broker would cut it anyway (the same header results), so a reason of any
 * length costs a settle request at most about 1 KiB (the client's SettleBatcher keeps each
 * request within frameBytesMax, sending a tick's settlements in several if need be).
 */
export function rejectReasonToSend(reason: string): string {
  return reason.length <= DEAD_LETTER_REASON_BYTES_MAX ? reason : new TextDecoder().decode(deadLetterReasonBytes(reason));
}
