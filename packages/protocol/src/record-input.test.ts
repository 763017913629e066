import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { recordReading, toRecordBytes } from './record-input.js';

describe('toRecordBytes', () => {
  it('encodes any string as Buffer.from(string, "utf8") does, short ASCII ones included', () => {
    const text = fc.oneof(fc.string({ maxLength: 80 }), fc.string({ unit: 'binary', maxLength: 80 }), fc.string({ unit: fc.constantFrom('a', 'é', '\ud800', '😀'), maxLength: 70 }));
    fc.assert(fc.property(text, (value) => {
      expect(Buffer.from(toRecordBytes(value, 0, 'key')!)).toEqual(Buffer.from(value, 'utf8'));
    }));
  });

  it('never changes bytes it handed out, across many slabs and failed (non-ASCII) attempts', () => {
    const handedOut: [string, Uint8Array][] = [];
    for (let i = 0; i < 20_000; i++) {
      const value = i % 7 === 0 ? `kéy-${i}` : `key-${i}-${'x'.repeat(i % 60)}`;
      handedOut.push([value, toRecordBytes(value, i, 'key')!]);
    }
    for (const [value, bytes] of handedOut) expect(Buffer.from(bytes).toString('utf8')).toBe(value);
  });

  it('passes bytes through, null and undefined as null, and refuses anything else with INVALID_REQUEST', () => {
    const bytes = new Uint8Array([1, 2]);
    expect(toRecordBytes(bytes, 0, 'key')).toBe(bytes);
    expect(toRecordBytes(null, 0, 'key')).toBeNull();
    expect(toRecordBytes(undefined, 0, 'key')).toBeNull();
    expect(() => toRecordBytes(42, 3, 'key')).toThrow(expect.objectContaining({ code: 'INVALID_REQUEST', details: { record: 3 } }));
  });
});

describe('recordReading', () => {
  const withBom = new Uint8Array([0xef, 0xbb, 0xbf, 0x7b, 0x7d]); // BOM + '{}'

  it('text() keeps a leading byte-order mark (every byte of the value), json() skips it', () => {
    expect(recordReading.text(withBom)).toBe('\uFEFF{}');
    expect(recordReading.json(withBom)).toEqual({});
    expect(recordReading.text(null)).toBeNull();
  });
});
