import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decodeStoredBatch, encodeBatch } from './record-batch.js';

const keyBytes = fc.option(fc.uint8Array({ maxLength: 40 }), { nil: null });

describe('a stored record\'s keyLatin1', () => {
  it('is one string per distinct key, short or long, null for a null key (property)', () => {
    fc.assert(fc.property(keyBytes, keyBytes, (a, b) => {
      const [first, second] = decodeStoredBatch(encodeBatch([{ key: a, value: null, timestamp: 0 }, { key: b, value: null, timestamp: 0 }])).records;
      const same = a === null || b === null ? a === b : Buffer.from(a).equals(Buffer.from(b));
      expect(first!.keyLatin1() === second!.keyLatin1()).toBe(same);
      expect(first!.keyLatin1() === null).toBe(a === null);
    }), { numRuns: 2000 });
  });

  it('tells apart keys around the length where it changes method (16 and 17 bytes), including bytes 0x80-0x9f', () => {
    const sixteen = new Uint8Array(16).fill(0x80);
    const seventeen = new Uint8Array(17).fill(0x80);
    const records = decodeStoredBatch(encodeBatch([sixteen, seventeen, seventeen.slice(0, 16)].map((key) => ({ key, value: null, timestamp: 0 })))).records;
    const ids = records.map((record) => record.keyLatin1());
    expect(ids[0]).toBe(ids[2]);
    expect(ids[0]).not.toBe(ids[1]);
    expect(ids[1]!.length).toBe(17);
  });
});
