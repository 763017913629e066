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
  return handledRejection(new BrookError('INVALID_REQUEST', `${field} must be ${expected}, got ${showValue(value)}`, { field, value }));
}

/**
 * As refusedSettlement, for nack()'s options: undefined, or a plain object whose only keys are
 * `delayMs` and `reason` (a string, cut as boundedReason cuts it). Read unchecked, `nack(null)`
 * threw a TypeError (not even a rejection) and `nack(5000)` or a misspelled `{ delay: 5000 }`
 * nacked with the group's backoff instead.
 */
export function refusedNackOptions(options: unknown): Promise<void> | undefined {
  if (options === undefined) return undefined;
  const plain = typeof options === 'object' && options !== null && !Array.isArray(options);
  const stray = plain ? Object.keys(options).find((key) => key !== 'delayMs' && key !== 'reason') : undefined;
  if (!plain || stray !== undefined) {
    const what = plain ? `has an unknown key ${JSON.stringify(stray)}` : `must be an object, got ${showValue(options)}`;
    return handledRejection(new BrookError('INVALID_REQUEST', `nack options ${what}`, { field: 'options', ...(stray !== undefined && { key: stray }) }));
  }
  const { delayMs, reason } = options as { delayMs?: unknown; reason?: unknown };
  return refusedSettlement('delayMs', delayMs) ?? (reason === undefined ? undefined : refusedSettlement('reason', reason));
}

/**
 * A rejected promise marked handled, as a refused or stale settlement's is: a caller that ignores
 * it (a handler's implicit ack never looks) gets no unhandled rejection; whoever awaits it gets it.
 */
export function handledRejection(error: BrookError): Promise<never> {
  const rejected = Promise.reject(error);
  rejected.catch(() => undefined);
  return rejected;
}

/**
 * A dead-letter record's `brook.reason`, and a nack's reason, hold at most this many bytes of
 * UTF-8: a longer reason is cut, at a character boundary, and ends with "…" (deadLetterReasonBytes,
 * boundedReason), so the copy fits the dead-letter topic whatever a consumer passes to reject()
 * or nack(), and a nack's reason, kept with its record until the next attempt, costs at most this.
 */
export const DEAD_LETTER_REASON_BYTES_MAX = 1024;

const utf8 = new TextEncoder();
const ELLIPSIS = '…';
const ELLIPSIS_BYTES = utf8.encode(ELLIPSIS).length;

/** `reason` as UTF-8, cut to DEAD_LETTER_REASON_BYTES_MAX bytes. */
export function deadLetterReasonBytes(reason: string): Uint8Array {
  const whole = utf8.encode(reason);
  return whole.length <= DEAD_LETTER_REASON_BYTES_MAX ? whole : cutReasonBytes(reason);
}

/**
 * A reason of a reject() or a nack() as the broker keeps it: at most DEAD_LETTER_REASON_BYTES_MAX
 * bytes of UTF-8, a longer one cut as deadLetterReasonBytes cuts it (never refused). The client
 * sends what the broker would keep, so a reason of any length costs a settle request at most
 * about 1 KiB (the client's SettleBatcher keeps each request within frameBytesMax, sending a
 * tick's settlements in several if need be). A short one (a UTF-16 unit is at most 3 bytes) is not encoded.
 */
export function boundedReason(reason: string): string {
  if (reason.length * 3 <= DEAD_LETTER_REASON_BYTES_MAX) return reason;
  return utf8.encode(reason).length <= DEAD_LETTER_REASON_BYTES_MAX ? reason : new TextDecoder().decode(cutReasonBytes(reason));
}

/** A reason over the limit, cut at a character boundary (encodeInto writes only whole characters) and ended with "…". */
function cutReasonBytes(reason: string): Uint8Array {
  const cut = new Uint8Array(DEAD_LETTER_REASON_BYTES_MAX);
  const { written } = utf8.encodeInto(reason, cut.subarray(0, DEAD_LETTER_REASON_BYTES_MAX - ELLIPSIS_BYTES));
  utf8.encodeInto(ELLIPSIS, cut.subarray(written));
  return cut.subarray(0, written + ELLIPSIS_BYTES);
}

/**
 * `reason` cut so that it takes at most `jsonBytesMax` bytes as a JSON string (quotes, escapes,
 * UTF-8), at a character boundary and ended with "…" as boundedReason cuts; whole if it fits.
 * For a reason that must fit less than DEAD_LETTER_REASON_BYTES_MAX allows: a reject's, in a
 * settle frame at a frameBytesMax near its 1 KiB min. `jsonBytesMax` must hold the ellipsis alone.
 */
export function reasonWithinJsonBytes(reason: string, jsonBytesMax: number): string {
  if (jsonBytes(reason) <= jsonBytesMax) return reason;
  // Escapes make a prefix's bytes no function of its length: search for the longest that fits.
  let fits = 0;
  let over = reason.length;
  while (over - fits > 1) {
    const middle = (fits + over) >>> 1;
    if (jsonBytes(`${wholePrefix(reason, middle)}${ELLIPSIS}`) <= jsonBytesMax) fits = middle;
    else over = middle;
  }
  return `${wholePrefix(reason, fits)}${ELLIPSIS}`;
}

function jsonBytes(text: string): number {
  return utf8.encode(JSON.stringify(text)).length;
}

/** The first `length` UTF-16 units of `text`, less one if they would end inside a surrogate pair. */
function wholePrefix(text: string, length: number): string {
  const last = text.charCodeAt(length - 1);
  return text.slice(0, last >= 0xd800 && last <= 0xdbff ? length - 1 : length);
}

/**
 * The reason a handler's failure nacks with, in process and in @brook/client alike: `name:
 * message` of an Error (its name alone if the message is empty), String(value) of anything else,
 * bounded (boundedReason). No stack: it would make every failed settle kilobytes larger, and the
 * engineer who needs it has the handler's own logging. Never throws (a value String() cannot
 * convert is shown as error messages show values).
 */
export function failureReason(thrown: unknown): string {
  let text: string;
  try {
    text = thrown instanceof Error ? errorText(thrown) : String(thrown);
  } catch {
    text = showValue(thrown);
  }
  return boundedReason(text);
}

function errorText(error: Error): string {
  const { name, message } = error;
  return message === '' ? `${name}` : `${name}: ${message}`;
}
