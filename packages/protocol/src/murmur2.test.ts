import { createRequire } from 'node:module';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { murmur2, partitionForKey } from './murmur2.js';
import type { AsciiText } from './record-batch.js';

const require = createRequire(import.meta.url);
// kafkajs's DefaultPartitioner hash (Java-compatible; its "legacy" one is not).
const kafkajsMurmur2: (key: Buffer) => number = require('kafkajs/src/producer/partitioners/default/murmur2.js');

const utf8 = (text: string) => new TextEncoder().encode(text);

describe('murmur2', () => {
  // apache/kafka clients/src/test/java/org/apache/kafka/common/utils/UtilsTest.java, testMurmur2.
  it.each([
    ['21', -973932308],
    ['foobar', -790332482],
    ['a-little-bit-long-string', -985981536],
    ['a-little-bit-longer-string', -1486304829],
    ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
    ['abc', 479470107],
  ])('hashes %j as the Java client does (%d)', (key, expected) => {
    expect(murmur2(utf8(key))).toBe(expected);
  });

  it('hashes every tail length (0..3 leftover bytes) like kafkajs', () => {
    for (let length = 0; length < 12; length++) {
      const key = Uint8Array.from({ length }, (_, i) => 0xf0 + i);
      expect(murmur2(key)).toBe(kafkajsMurmur2(Buffer.from(key)));
    }
  });

  it('agrees with kafkajs on random keys', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (key) => {
        expect(murmur2(key)).toBe(kafkajsMurmur2(Buffer.from(key)));
      }),
      { numRuns: 3000 },
    );
  });

  it('hashes an AsciiText key as its bytes, every tail length included', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.integer({ min: 0, max: 0x7f }).map((code) => String.fromCharCode(code)), maxLength: 40 }), (text) => {
        expect(murmur2(text as AsciiText)).toBe(murmur2(utf8(text)));
      }),
      { numRuns: 500 },
    );
    expect(murmur2('foobar' as AsciiText)).toBe(-790332482);
  });
});

describe('partitionForKey', () => {
  it('is toPositive(murmur2(key)) % partitionCount', () => {
    // (-790332482 & 0x7fffffff) = 1357151166; 1357151166 % 12 = 6.
    expect(partitionForKey(utf8('foobar'), 12)).toBe(6);
    expect(partitionForKey(utf8('foobar'), 1)).toBe(0);
  });

  it('always lands in 0 .. partitionCount - 1', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.integer({ min: 1, max: 10_000 }), (key, partitionCount) => {
        const partition = partitionForKey(key, partitionCount);
        expect(Number.isInteger(partition)).toBe(true);
        expect(partition).toBeGreaterThanOrEqual(0);
        expect(partition).toBeLessThan(partitionCount);
        expect(partition).toBe((kafkajsMurmur2(Buffer.from(key)) & 0x7fffffff) % partitionCount);
      }),
    );
  });

  it('treats a non-positive partition count as a bug', () => {
    for (const partitionCount of [0, -1, 1.5]) {
      expect(() => partitionForKey(utf8('k'), partitionCount)).toThrow(`assertion failed: partitionCount must be a positive integer (partitionCount ${partitionCount})`);
    }
  });
});
