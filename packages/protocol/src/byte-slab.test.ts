import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SLAB_TAKE_BYTES_MAX, isSlabView, slabAsciiBytes, slabBytes, slabCopy } from './byte-slab.js';

describe('byte slabs', () => {
  it('hand out zeroed, exclusive arrays of the size asked, across many slabs', () => {
    fc.assert(fc.property(fc.array(fc.integer({ min: 0, max: SLAB_TAKE_BYTES_MAX }), { minLength: 1, maxLength: 60 }), (sizes) => {
      const taken = sizes.map((size, i) => {
        const bytes = slabBytes(size);
        expect(bytes.length).toBe(size);
        expect(bytes.every((b) => b === 0)).toBe(true);
        bytes.fill((i % 255) + 1);
        return bytes;
      });
      // Each still holds only what its own taker wrote: no two views overlap.
      taken.forEach((bytes, i) => expect(bytes.every((b) => b === (i % 255) + 1)).toBe(true));
    }));
  });

  it('give larger requests an array of their own', () => {
    const big = slabBytes(SLAB_TAKE_BYTES_MAX + 1);
    expect(big.byteOffset).toBe(0);
    expect(big.buffer.byteLength).toBe(SLAB_TAKE_BYTES_MAX + 1);
    expect(isSlabView(big)).toBe(false);
    expect(isSlabView(slabBytes(10))).toBe(true);
    expect(isSlabView(new Uint8Array(10))).toBe(false);
  });

  it('copy bytes into a slab up to SLAB_TAKE_BYTES_MAX, into an array of their own past it', () => {
    for (const size of [0, 1, SLAB_TAKE_BYTES_MAX, SLAB_TAKE_BYTES_MAX + 1]) {
      const source = Uint8Array.from({ length: size }, (_, i) => (i % 251) + 1);
      const copy = slabCopy(source);
      expect(copy).toEqual(source);
      expect(isSlabView(copy)).toBe(size <= SLAB_TAKE_BYTES_MAX);
      // A copy, not a view: writing either leaves the other as it was.
      source.fill(0);
      expect(copy.every((b, i) => b === (i % 251) + 1)).toBe(true);
    }
  });

  it('copy short ASCII text, and leave no trace of text they turned down', () => {
    expect([...slabAsciiBytes('key-1', 64)!]).toEqual([...Buffer.from('key-1')]);
    expect(slabAsciiBytes('x'.repeat(65), 64)).toBeUndefined();
    expect(slabAsciiBytes('abcdé', 64)).toBeUndefined();
    // The next taker gets the bytes 'abcd' was written to before 'é' turned it down: zeros.
    expect([...slabBytes(5)]).toEqual([0, 0, 0, 0, 0]);
  });
});
