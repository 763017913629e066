import { describe, expect, it } from 'vitest';
import {
  DEAD_LETTER_REASON_BYTES_MAX, SETTLE_MS_MAX, deadLetterReasonBytes, refusedNackOptions, refusedSettlement, boundedReason, failureReason,
  reasonWithinJsonBytes,
} from './settle-arguments.js';
import { showValue } from './show-value.js';

const utf8 = new TextEncoder();
const text = new TextDecoder();

describe('refusedSettlement', () => {
  it.each(['delayMs', 'ms'] as const)('takes %s undefined or an integer from 0 to exactly SETTLE_MS_MAX', (field) => {
    expect(SETTLE_MS_MAX).toBe(86_400_000);
    for (const value of [undefined, 0, 1, SETTLE_MS_MAX]) expect(refusedSettlement(field, value), String(value)).toBeUndefined();
  });

  it.each(['delayMs', 'ms'] as const)('refuses %s one past SETTLE_MS_MAX, negative, fractional or not a number with INVALID_REQUEST naming it', async (field) => {
    for (const value of [SETTLE_MS_MAX + 1, -1, 0.5, Number.NaN, Number.POSITIVE_INFINITY, null, '5', 5n]) {
      await expect(refusedSettlement(field, value), String(value)).rejects.toMatchObject({
        code: 'INVALID_REQUEST', retriable: false, description: `${field} must be an integer in [0, ${SETTLE_MS_MAX}], got ${showValue(value)}`, details: { field, value },
      });
    }
  });

  it('takes any string as a reason, and nothing else', async () => {
    for (const reason of ['', 'poison', 'x'.repeat(5_000)]) expect(refusedSettlement('reason', reason)).toBeUndefined();
    for (const reason of [undefined, null, 42]) {
      await expect(refusedSettlement('reason', reason), String(reason)).rejects.toMatchObject({
        code: 'INVALID_REQUEST', description: `reason must be a string, got ${showValue(reason)}`, details: { field: 'reason', value: reason },
      });
    }
  });
});

describe('refusedNackOptions', () => {
  it('takes no options, no delayMs, or a delayMs in range', () => {
    for (const options of [undefined, {}, { delayMs: undefined }, { delayMs: 0 }, { delayMs: SETTLE_MS_MAX }]) expect(refusedNackOptions(options)).toBeUndefined();
  });

  it('refuses options that are not a plain object, naming what they were', async () => {
    for (const options of [null, 5000, 'x', [], [1]]) {
      await expect(refusedNackOptions(options), String(options)).rejects.toMatchObject({
        code: 'INVALID_REQUEST', description: `nack options must be an object, got ${showValue(options)}`, details: { field: 'options' },
      });
    }
    const refused: unknown = await refusedNackOptions(null)!.catch((error: unknown) => error);
    expect((refused as { details: unknown }).details).toStrictEqual({ field: 'options' }); // no key: not even key: undefined
  });

  it('takes a reason of any length, and refuses one that is no string with INVALID_REQUEST naming it', async () => {
    for (const options of [{ reason: '' }, { reason: 'x'.repeat(5_000) }, { delayMs: 0, reason: 'TypeError: x' }, { reason: undefined }]) expect(refusedNackOptions(options)).toBeUndefined();
    for (const reason of [null, 42, { message: 'x' }]) {
      await expect(refusedNackOptions({ reason }), String(reason)).rejects.toMatchObject({
        code: 'INVALID_REQUEST', description: `reason must be a string, got ${showValue(reason)}`, details: { field: 'reason', value: reason },
      });
    }
  });

  it('refuses an unknown key, naming the first one, and a delayMs out of range', async () => {
    await expect(refusedNackOptions({ delay: 5000 })).rejects.toMatchObject({ description: 'nack options has an unknown key "delay"', details: { field: 'options', key: 'delay' } });
    await expect(refusedNackOptions({ delayMs: 0, extra: 1, more: 2 })).rejects.toMatchObject({ details: { field: 'options', key: 'extra' } });
    await expect(refusedNackOptions({ delayMs: SETTLE_MS_MAX + 1 })).rejects.toMatchObject({ details: { field: 'delayMs', value: SETTLE_MS_MAX + 1 } });
  });

  it('marks its refusal handled: a caller that drops it gets no unhandled rejection', async () => {
    const unhandled: unknown[] = [];
    const record = (reason: unknown): void => void unhandled.push(reason);
    process.on('unhandledRejection', record);
    try {
      refusedNackOptions(null);
      refusedSettlement('ms', -1);
      await new Promise((resolve) => setImmediate(resolve));
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('unhandledRejection', record);
    }
    expect(unhandled).toEqual([]);
  });
});

describe('deadLetterReasonBytes and boundedReason', () => {
  it('keeps a reason of exactly DEAD_LETTER_REASON_BYTES_MAX bytes whole', () => {
    const reason = 'é'.repeat(DEAD_LETTER_REASON_BYTES_MAX / 2); // two bytes each
    expect([...deadLetterReasonBytes(reason)]).toEqual([...utf8.encode(reason)]);
    expect(boundedReason(reason)).toBe(reason);
  });

  it('cuts a reason one byte over at a character boundary and ends it with an ellipsis, within the limit', () => {
    const over = `${'a'.repeat(DEAD_LETTER_REASON_BYTES_MAX - 4)}€bc`; // € takes three bytes
    expect(utf8.encode(over).length).toBe(DEAD_LETTER_REASON_BYTES_MAX + 1);
    const cut = deadLetterReasonBytes(over);
    // 1021 bytes of room before the three-byte ellipsis: the 1020 a's fit, the € (bytes 1021..1023) does not.
    expect(text.decode(cut)).toBe(`${'a'.repeat(DEAD_LETTER_REASON_BYTES_MAX - 4)}…`);
    expect(cut.length).toBe(DEAD_LETTER_REASON_BYTES_MAX - 1);
  });

  it('cuts a long ASCII reason to exactly DEAD_LETTER_REASON_BYTES_MAX bytes; the client sends what the broker would keep', () => {
    const reason = 'r'.repeat(DEAD_LETTER_REASON_BYTES_MAX + 1);
    const cut = deadLetterReasonBytes(reason);
    expect(cut.length).toBe(DEAD_LETTER_REASON_BYTES_MAX);
    expect(text.decode(cut)).toBe(`${'r'.repeat(DEAD_LETTER_REASON_BYTES_MAX - 3)}…`);
    expect(boundedReason(reason)).toBe(text.decode(cut));
    expect(boundedReason('r'.repeat(DEAD_LETTER_REASON_BYTES_MAX))).toBe('r'.repeat(DEAD_LETTER_REASON_BYTES_MAX));
  });
});

describe('reasonWithinJsonBytes', () => {
  const jsonBytes = (reason: string) => utf8.encode(JSON.stringify(reason)).length;

  it('keeps a reason whose JSON string takes exactly the bytes given whole; one byte more is cut to fit, ending in an ellipsis', () => {
    expect(reasonWithinJsonBytes('abc', 5)).toBe('abc');
    expect(reasonWithinJsonBytes('abcd', 5)).toBe('…');
    expect(reasonWithinJsonBytes('abcdef', 7)).toBe('ab…');
  });

  it('counts JSON escapes and UTF-8, and cuts only between characters (never inside a surrogate pair)', () => {
    for (const [unit, bytes] of [['"', 2], ['\u0001', 6], ['é', 2], ['😀', 4]] as const) {
      const reason = unit.repeat(100);
      for (const max of [5, 6, 100, 101, 102, 103]) {
        const cut = reasonWithinJsonBytes(reason, max);
        expect(jsonBytes(cut)).toBeLessThanOrEqual(max);
        expect(cut).toBe(`${unit.repeat(Math.floor((max - 5) / bytes))}…`);
      }
    }
  });
});

describe('failureReason', () => {
  it("is an Error's name and message, its name alone without one; String() of anything else", () => {
    expect(failureReason(new TypeError('x is undefined'))).toBe('TypeError: x is undefined');
    expect(failureReason(new RangeError(''))).toBe('RangeError');
    class PaymentDeclined extends Error {
      override name = 'PaymentDeclined';
    }
    expect(failureReason(new PaymentDeclined('card 4242'))).toBe('PaymentDeclined: card 4242');
    expect(failureReason('plain text')).toBe('plain text');
    expect(failureReason(42)).toBe('42');
    expect(failureReason(undefined)).toBe('undefined');
    expect(failureReason({ code: 'E' })).toBe('[object Object]');
  });

  it('never throws, whatever was thrown, and leaves the stack out', () => {
    expect(failureReason(Object.create(null))).toBe(showValue(Object.create(null)));
    expect(failureReason({ toString: 0 })).toBe(showValue({ toString: 0 }));
    const hostile = new Error('m');
    Object.defineProperty(hostile, 'name', { get: () => { throw new Error('no name'); } });
    expect(failureReason(hostile)).toBe(showValue(hostile));
    expect(failureReason(new Error('boom'))).not.toContain('\n    at ');
  });

  it('is bounded as a reject reason is: a long message cut to DEAD_LETTER_REASON_BYTES_MAX bytes, ending in an ellipsis', () => {
    const reason = failureReason(new Error('é'.repeat(DEAD_LETTER_REASON_BYTES_MAX)));
    expect(utf8.encode(reason).length).toBeLessThanOrEqual(DEAD_LETTER_REASON_BYTES_MAX);
    expect(reason).toMatch(/^Error: é+…$/);
  });
});
