import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { BATCH_HEADER_BYTES, decodeBatch, decodeStoredBatch, encodeBatch } from './record-batch.js';
import { reseal } from './record-batch.test-support.js';
import { NO_RECORD_HEADERS, headerKeyText } from './stored-record.js';

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

describe('headerKeyText', () => {
  // The reference: what a fresh TextDecoder makes of the bytes (invalid UTF-8 replaced, a BOM kept).
  const reference = new TextDecoder('utf-8', { ignoreBOM: true });
  // Keys alike in length and prefix, around the memo's 64-byte limit, invalid UTF-8, empty.
  const keyArbitrary = fc.oneof(
    fc.constantFrom('content-type', 'content-typf', 'Content-Type', '', '\uFEFFk', 'ä', 'x'.repeat(64), 'x'.repeat(65), 'y'.repeat(64)).map((text) => new TextEncoder().encode(text)),
    fc.uint8Array({ maxLength: 70 }),
  );

  it('gives TextDecoder\'s text for every key, one after another, wherever it lies in its buffer (property)', () => {
    fc.assert(fc.property(fc.array(fc.tuple(keyArbitrary, fc.nat(5)), { minLength: 1, maxLength: 12 }), (keys) => {
      for (const [key, padding] of keys) {
        const buffer = new Uint8Array(padding + key.length + 3).fill(0xee);
        buffer.set(key, padding);
        expect(headerKeyText(buffer, padding, key.length)).toBe(reference.decode(key));
      }
    }), { numRuns: 2000 });
  });
});

describe('a stored record\'s headers', () => {
  /** One record without headers, its headerCount 0 written as `count` (a client's batch may pad it: it is stored as sent). */
  function withHeaderCount(count: number[]): Uint8Array {
    const plain = encodeBatch([{ key: null, value: Uint8Array.of(1), timestamp: 0 }]);
    // The record is the batch's last bytes: its length varint, then its body ending in headerCount 0.
    const body = [...plain.subarray(BATCH_HEADER_BYTES + 1, plain.length - 1), ...count];
    return reseal(Uint8Array.of(...plain.subarray(0, BATCH_HEADER_BYTES), body.length * 2, ...body));
  }

  it('without any are the one frozen empty list decodeBatch gives, however the zero count is written', () => {
    for (const count of [[0], [0x80, 0x00], [0x80, 0x80, 0x80, 0x80, 0x00]]) {
      const bytes = withHeaderCount(count);
      expect(decodeBatch(bytes).records[0]!.headers).toBe(NO_RECORD_HEADERS);
      const [record] = decodeStoredBatch(bytes).records;
      // A Delivery hands this list out as it is, as the same list at each read (delivery.ts).
      expect(record!.headers, `headerCount ${count}`).toBe(NO_RECORD_HEADERS);
    }
  });
});
