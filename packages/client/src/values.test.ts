import { describe, expect, it } from 'vitest';
import { toRecordInput } from './values.js';

const text = (bytes: Uint8Array | string | null | undefined): string | undefined => (bytes ? Buffer.from(bytes).toString() : undefined);

describe('toRecordInput', () => {
  it('encodes strings as UTF-8 text/plain, objects as stable JSON, bytes as they are', () => {
    const string = toRecordInput({ value: 'héllo', key: 'k' }, 0, 5);
    expect(text(string.value)).toBe('héllo');
    expect(text(string.key)).toBe('k');
    expect(string.timestamp).toBe(5);
    expect(string.headers!.map((h) => [h.key, text(h.value)])).toEqual([['content-type', 'text/plain']]);
    const json = toRecordInput({ value: { b: [1, { d: 1, c: 2 }], a: null } }, 0, 5);
    expect(text(json.value)).toBe('{"a":null,"b":[1,{"c":2,"d":1}]}');
    expect(json.headers!.map((h) => [h.key, text(h.value)])).toEqual([['content-type', 'application/json']]);
    expect(text(toRecordInput({ value: 42 }, 0, 5).value)).toBe('42');
    const bytes = new Uint8Array([1, 2]);
    expect(toRecordInput({ value: bytes }, 0, 5)).toEqual({ key: null, value: bytes, headers: [], timestamp: 5 });
    expect(toRecordInput({ value: null, timestamp: 9 }, 0, 5)).toMatchObject({ value: null, timestamp: 9 });
  });

  it('keeps the caller\'s headers, and their content-type wins', () => {
    const own = toRecordInput({ value: 'x', headers: { 'Content-Type': 'text/csv', trace: null } }, 0, 0);
    expect(own.headers!.map((h) => [h.key, text(h.value)])).toEqual([['Content-Type', 'text/csv'], ['trace', undefined]]);
    const added = toRecordInput({ value: { a: 1 }, headers: [{ key: 'trace', value: new Uint8Array([1]) }] }, 0, 0);
    expect(added.headers!.map((h) => h.key)).toEqual(['content-type', 'trace']);
  });

  it('refuses what it cannot encode with INVALID_REQUEST naming the record', () => {
    expect(() => toRecordInput({ value: undefined as never }, 3, 0)).toThrow(expect.objectContaining({ code: 'INVALID_REQUEST', details: { record: 3 } }));
    expect(() => toRecordInput({ value: 'x', key: 5 as never }, 0, 0)).toThrow(/key must be/);
    expect(() => toRecordInput({ value: 'x', timestamp: -1 }, 0, 0)).toThrow(/timestamp/);
    expect(() => toRecordInput({ value: 1n as never }, 0, 0)).toThrow(/value must be/);
  });

  it('refuses a value JSON cannot encode (circular, a bigint inside, a throwing toJSON) with INVALID_REQUEST, the cause attached', () => {
    const circular: Record<string, unknown> = {};
    circular['self'] = circular;
    const failing = new Error('no JSON for you');
    for (const [value, cause] of [[circular, TypeError], [{ total: 1n }, TypeError], [{ toJSON: () => { throw failing; } }, Error]] as const) {
      expect(() => toRecordInput({ value }, 2, 0)).toThrow(expect.objectContaining({ code: 'INVALID_REQUEST', details: { record: 2 }, cause: expect.any(cause) }));
    }
  });

  it('refuses bytes that are not a Uint8Array (ArrayBuffer, other typed arrays, DataView) instead of sending them as JSON', () => {
    const buffer = new ArrayBuffer(4);
    for (const value of [buffer, new Int16Array(2), new Float32Array(1), new DataView(buffer), new Uint8ClampedArray(2)]) {
      expect(() => toRecordInput({ value: value as never }, 4, 0)).toThrow(expect.objectContaining({ code: 'INVALID_REQUEST', details: { record: 4 } }));
    }
    expect(toRecordInput({ value: Buffer.from('ok') }, 0, 0).value).toEqual(Buffer.from('ok')); // a Buffer is a Uint8Array
  });

  it('refuses a value whose toJSON gives nothing JSON can hold (undefined, a function) with INVALID_REQUEST', () => {
    for (const value of [{ toJSON: () => undefined }, { toJSON: () => () => 1 }]) {
      expect(() => toRecordInput({ value }, 1, 0)).toThrow(expect.objectContaining({ code: 'INVALID_REQUEST', details: { record: 1 } }));
    }
  });
});
