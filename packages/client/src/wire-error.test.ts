import { describe, expect, it } from 'vitest';
import { BIGINT_DETAIL_KEYS } from '@brook/protocol';
import { wireError } from './wire-error.js';

describe('wireError', () => {
  it('turns the bigint details, decimal strings on the wire, back into bigints and leaves the others as they came', () => {
    const details = { ...Object.fromEntries(BIGINT_DETAIL_KEYS.map((key, i) => [key, String(i - 1)])), field: '7', topic: 't' };
    const error = wireError({ code: 'OUT_OF_ORDER_SEQUENCE', message: 'm', retriable: false, details });
    expect(error.details).toEqual({ ...Object.fromEntries(BIGINT_DETAIL_KEYS.map((key, i) => [key, BigInt(i - 1)])), field: '7', topic: 't' });
  });

  it('leaves a bigint key whose value is no decimal string as it came', () => {
    expect(wireError({ code: 'INVALID_REQUEST', message: 'm', retriable: false, details: { offset: 'x', producerId: 5 } }).details).toEqual({ offset: 'x', producerId: 5 });
  });

  it('keeps the name of a code this client does not know', () => {
    const error = wireError({ code: 'NEWER_CODE', message: 'm', retriable: true, details: { offset: '3' } });
    expect([error.code, error.details]).toEqual(['INVALID_REQUEST', { offset: 3n, serverCode: 'NEWER_CODE' }]);
  });
});
