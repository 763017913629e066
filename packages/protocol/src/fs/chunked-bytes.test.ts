import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ChunkedBytes } from './chunked-bytes.js';

const MiB = 1024 * 1024;

describe('ChunkedBytes', () => {
  it('matches a flat array under random writes, zeroing and reads across the 1 MiB chunk edges', () => {
    const position = fc.integer({ min: 0, max: 3 * MiB });
    const op = fc.oneof(
      fc.record({ kind: fc.constant('write' as const), position, length: fc.integer({ min: 1, max: 300_000 }), byte: fc.integer({ min: 1, max: 255 }) }),
      fc.record({ kind: fc.constant('zero' as const), position, length: fc.integer({ min: 0, max: 2 * MiB }) }),
    );
    fc.assert(fc.property(fc.array(op, { maxLength: 12 }), fc.array(fc.tuple(position, fc.integer({ min: 0, max: 2 * MiB })), { maxLength: 6 }), (ops, reads) => {
      const bytes = new ChunkedBytes();
      const flat = new Uint8Array(6 * MiB);
      for (const o of ops) {
        if (o.kind === 'write') {
          const data = new Uint8Array(o.length).fill(o.byte);
          data[0] = (o.byte + 1) & 0xff; // distinguishable edges
          bytes.write(data, o.position);
          flat.set(data, o.position);
        } else {
          bytes.zero(o.position, o.position + o.length);
          flat.fill(0, o.position, Math.min(o.position + o.length, Math.max(bytes.capacity, o.position)));
        }
      }
      for (const [start, length] of reads) {
        // Buffer#equals, not toEqual: a deep compare of megabytes takes vitest seconds.
        const same = Buffer.from(bytes.copyOut(start, start + length)).equals(flat.subarray(start, start + length));
        expect(same, `bytes [${start}, ${start + length})`).toBe(true);
      }
    }), { numRuns: 60 });
  });

  it('keeps a small file in one small array, and reads zeros past what was written', () => {
    const bytes = new ChunkedBytes();
    bytes.write(new Uint8Array([1, 2, 3]), 10);
    expect(bytes.capacity).toBe(256);
    const target = new Uint8Array(8).fill(9);
    bytes.readInto(target, 1, 9, 15);
    expect(Array.from(target)).toEqual([9, 0, 1, 2, 3, 0, 0, 9]);
    expect(Array.from(bytes.copyOut(8, 300))).toEqual([0, 0, 1, 2, 3, ...new Array(287).fill(0)]);
  });

  it('grows past 1 MiB by whole chunks without moving what it holds', () => {
    const bytes = new ChunkedBytes();
    bytes.write(new Uint8Array(1000).fill(7), MiB - 500);
    expect(bytes.capacity).toBe(2 * MiB);
    bytes.write(new Uint8Array([5]), 5 * MiB + 3);
    expect(bytes.capacity).toBe(6 * MiB);
    expect(bytes.copyOut(MiB - 501, MiB + 501)).toEqual(Uint8Array.from({ length: 1002 }, (_, i) => (i === 0 || i === 1001 ? 0 : 7)));
    expect(Array.from(bytes.copyOut(5 * MiB + 2, 5 * MiB + 5))).toEqual([0, 5, 0]);
  });
});
