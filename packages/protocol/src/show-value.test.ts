import { describe, expect, it } from 'vitest';
import { SHOWN_VALUE_CHARS_MAX, showUrl, showValue } from './show-value.js';

describe('showValue', () => {
  it.each<[string, unknown, string]>([
    ['a number, NaN and Infinity as numbers (JSON would say null)', NaN, 'NaN'],
    ['Infinity', Number.POSITIVE_INFINITY, 'Infinity'],
    ['a string, quoted', 'big', '"big"'],
    ['a bigint, with its n', 5n, '5n'],
    ['a bigint inside an object', { offset: 5n }, '{"offset":"5n"}'],
    ['a function', () => 1, 'a function'],
    ['a symbol', Symbol('s'), 'Symbol(s)'],
    ['undefined', undefined, 'undefined'],
    ['null', null, 'null'],
    ['an array', [1, 'a'], '[1,"a"]'],
  ])('%s', (_name, value, shown) => {
    expect(showValue(value)).toBe(shown);
  });

  // Each of these made String(value) or JSON.stringify throw a TypeError in place of the error being built.
  it.each<[string, unknown, string]>([
    ['an object whose toString is no function, as any JSON frame may carry', { toString: 0 }, '{"toString":0}'],
    ['an object without a prototype', Object.assign(Object.create(null) as object, { a: 1 }), '{"a":1}'],
    ['a cycle', (() => { const o: Record<string, unknown> = {}; o['self'] = o; return o; })(), '[object Object]'],
    ['a toJSON that throws', { toJSON: () => { throw new Error('no'); } }, '[object Object]'],
    ['a Proxy that refuses every read', new Proxy({}, { get: () => { throw new Error('no'); } }), 'object'],
  ])('never throws: %s', (_name, value, shown) => {
    expect(() => String(value) + JSON.stringify(value)).toThrow();
    expect(showValue(value)).toBe(shown);
  });

  it(`cuts a text longer than ${SHOWN_VALUE_CHARS_MAX} characters, ending it in ...`, () => {
    expect(showValue('x'.repeat(SHOWN_VALUE_CHARS_MAX - 2))).toHaveLength(SHOWN_VALUE_CHARS_MAX);
    const cut = showValue('x'.repeat(SHOWN_VALUE_CHARS_MAX));
    expect(cut).toHaveLength(SHOWN_VALUE_CHARS_MAX);
    expect(cut.endsWith('x...')).toBe(true);
  });
});

describe('showUrl', () => {
  it('leaves out the user, password, query string and fragment; keeps scheme, host, port and path', () => {
    expect(showUrl('ws://user:pw@127.0.0.1:7070/path?token=t#f')).toBe('ws://127.0.0.1:7070/path');
    expect(showUrl('wss://[::1]:7070')).toBe('wss://[::1]:7070/');
  });

  it('shows a URL that does not parse as showValue shows any value', () => {
    expect(showUrl('ws://[::1')).toBe('"ws://[::1"');
  });
});
