import { describe, expect, it } from 'vitest';
import { wireError } from './wire-error.js';

describe('wireError', () => {
  it('turns the details the broker named as bigints, decimal strings on the wire, back into bigints and leaves the others as they came', () => {
    const details = { offset: '-1', producerId: '9007199254740993', field: '7', topic: 't' };
    const error = wireError({ code: 'OUT_OF_ORDER_SEQUENCE', message: 'm', retriable: false, details, bigintDetails: ['offset', 'producerId'] });
    expect(error.details).toEqual({ offset: -1n, producerId: 9007199254740993n, field: '7', topic: 't' });
  });

  it('leaves a decimal string the broker did not name as a bigint as it came (a value the user sent)', () => {
    expect(wireError({ code: 'INVALID_REQUEST', message: 'm', retriable: false, details: { offset: '12' } }).details).toEqual({ offset: '12' });
  });

  it('leaves a named key whose value is no decimal string as it came', () => {
    expect(wireError({ code: 'INVALID_REQUEST', message: 'm', retriable: false, details: { offset: 'x' }, bigintDetails: ['offset'] }).details).toEqual({ offset: 'x' });
  });

  it('keeps the name of a code this client does not know', () => {
    const error = wireError({ code: 'NEWER_CODE', message: 'm', retriable: true, details: { offset: '3' }, bigintDetails: ['offset'] });
    expect([error.code, error.details]).toEqual(['INVALID_REQUEST', { offset: 3n, serverCode: 'NEWER_CODE' }]);
  });

  // A broken server's payload, each field of another JSON type: {"toString": 0} is one String() throws on.
  it.each<[string, Record<string, unknown>, { code: string; description: string; details: Record<string, unknown> }]>([
    ['a code that is no string', { code: { toString: 0 }, message: 'm' }, { code: 'INVALID_REQUEST', description: 'm', details: { serverCode: '{"toString":0}' } }],
    ['a message that is no string', { code: 'TIMEOUT', message: { toString: 0 } }, { code: 'TIMEOUT', description: '{"toString":0}', details: {} }],
    ['no message', { code: 'TIMEOUT' }, { code: 'TIMEOUT', description: '', details: {} }],
    ['details that are no object', { code: 'TIMEOUT', message: 'm', details: 'x' }, { code: 'TIMEOUT', description: 'm', details: {} }],
    ['bigintDetails that are no array', { code: 'TIMEOUT', message: 'm', details: { a: '1' }, bigintDetails: 5 }, { code: 'TIMEOUT', description: 'm', details: { a: '1' } }],
    ['bigintDetails naming what details lack, or no string', { code: 'TIMEOUT', message: 'm', details: { a: '1' }, bigintDetails: [{ toString: 0 }, 'toString', 'a'] }, { code: 'TIMEOUT', description: 'm', details: { a: 1n } }],
  ])('still makes an error of a payload with %s', (_name, payload, expected) => {
    const error = wireError(payload as never);
    expect({ code: error.code, description: error.description, details: error.details }).toEqual(expected);
  });
});
