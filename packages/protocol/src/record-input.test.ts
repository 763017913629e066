import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { murmur2 } from './murmur2.js';
import { decodeBatch, encodeBatch } from './record-batch.js';
import { recordFieldBytes, recordReading, toRecordBytes, toRecordField } from './record-input.js';

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

describe('toRecordField', () => {
  const anyText = fc.oneof(fc.string({ maxLength: 80 }), fc.string({ unit: 'binary', maxLength: 80 }), fc.string({ unit: fc.constantFrom('a', 'é', '\ud800', '😀'), maxLength: 70 }));

  it('keeps a string of up to 64 ASCII chars as text, and makes any other its UTF-8 bytes', () => {
    expect(toRecordField('k'.repeat(64), 0, 'key')).toBe('k'.repeat(64));
    expect(toRecordField('', 0, 'key')).toBe('');
    expect(toRecordField('k'.repeat(65), 0, 'key')).toEqual(Buffer.from('k'.repeat(65)));
    expect(toRecordField('\x7f', 0, 'key')).toBe('\x7f');
    expect(toRecordField('\x80', 0, 'key')).toEqual(Buffer.from('\x80', 'utf8'));
    const bytes = new Uint8Array([1]);
    expect(toRecordField(bytes, 0, 'key')).toBe(bytes);
    expect(toRecordField(undefined, 0, 'key')).toBeNull();
    expect(() => toRecordField(7, 2, 'value')).toThrow(expect.objectContaining({ code: 'INVALID_REQUEST', details: { record: 2 } }));
  });

  it("gives the same batch bytes and murmur2 hash as the string's UTF-8 bytes would, for any string", () => {
    fc.assert(fc.property(anyText, anyText, (key, value) => {
      const utf8 = { key: Buffer.from(key, 'utf8'), value: Buffer.from(value, 'utf8'), timestamp: 7 };
      const field = { key: toRecordField(key, 0, 'key'), value: toRecordField(value, 0, 'value'), timestamp: 7 };
      expect(Buffer.from(encodeBatch([field]))).toEqual(Buffer.from(encodeBatch([utf8])));
      expect(murmur2(field.key!)).toBe(murmur2(utf8.key));
      expect(recordFieldBytes(field.key)).toEqual(utf8.key);
      const [decoded] = decodeBatch(encodeBatch([field, utf8])).records;
      expect(Buffer.from(decoded!.key!).toString('utf8')).toBe(Buffer.from(utf8.key).toString('utf8'));
    }));
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
