import fc from 'fast-check';
import stableStringify from 'fast-json-stable-stringify';
import { describe, expect, it } from 'vitest';
import { JSON_DEPTH_MAX, stableJson } from './stable-json.js';

describe('stableJson', () => {
  it('writes what fast-json-stable-stringify writes for any JSON value', () => {
    fc.assert(fc.property(fc.jsonValue(), (value) => {
      expect(stableJson(value)).toBe(stableStringify(value));
    }), { numRuns: 2000 });
  });

  it('sorts keys at every level, so equal payloads are equal strings', () => {
    expect(stableJson({ b: 1, a: { d: [1, { z: 0, y: 1 }], c: 'x' } })).toBe('{"a":{"c":"x","d":[1,{"y":1,"z":0}]},"b":1}');
    expect(stableJson({ op: 'produce', topic: 't' })).toBe(stableJson({ topic: 't', op: 'produce' }));
    // Past the in-place insertion sort's size, and keys that sort by code unit (not locale).
    const many = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`k${(i * 7919) % 97}\u00e9${i % 3 ? 'Z' : 'a'}`, i]));
    expect(stableJson(many)).toBe(stableStringify(many));
  });

  it('writes bigints as decimal strings and byte arrays as their length', () => {
    expect(stableJson({ offset: 9007199254740993n, key: new Uint8Array(5), list: [1n, Buffer.from('abc')] }))
      .toBe('{"key":{"bytes":5},"list":["1",{"bytes":3}],"offset":"9007199254740993"}');
  });

  it('leaves out undefined fields, and writes undefined in arrays and non-finite numbers as null, like JSON.stringify', () => {
    expect(stableJson({ a: undefined, b: [undefined, Number.NaN, Infinity], c: () => 1 })).toBe('{"b":[null,null,null]}');
    expect(stableJson(undefined)).toBe('null');
    expect(stableJson({ at: new Date(0) })).toBe('{"at":"1970-01-01T00:00:00.000Z"}');
  });

  it('refuses nesting past JSON_DEPTH_MAX, a cycle too, with INVALID_REQUEST instead of overflowing the stack', () => {
    const nested = (depth: number): unknown => (depth === 0 ? 1 : [nested(depth - 1)]);
    expect(stableJson(nested(JSON_DEPTH_MAX))).toBe(`${'['.repeat(JSON_DEPTH_MAX)}1${']'.repeat(JSON_DEPTH_MAX)}`);
    const refused = expect.objectContaining({ code: 'INVALID_REQUEST', details: { depthMax: JSON_DEPTH_MAX } });
    expect(() => stableJson(nested(JSON_DEPTH_MAX + 1))).toThrow(refused);
    const cyclic: Record<string, unknown> = {};
    cyclic['self'] = cyclic;
    expect(() => stableJson(cyclic)).toThrow(refused);
  });
});
