import { describe, expect, it } from 'vitest';
import { readBatchHeader } from '@brook/protocol';
import { batchOf } from './log-fixture.js';
import { TailCache } from './tail-cache.js';

/** `batch`'s bytes at the end of a buffer `extraBytes` larger (a request frame around its batch). */
function inFrame(batch: Uint8Array, extraBytes: number): Uint8Array {
  const frame = new Uint8Array(extraBytes + batch.length);
  frame.set(batch, extraBytes);
  return frame.subarray(extraBytes);
}

describe('TailCache', () => {
  it('keeps a batch that is most of its buffer as it is, and copies one that would pin a much larger buffer', () => {
    const batch = batchOf('b', 10, undefined, 100);
    const cache = new TailCache(1024 * 1024);
    // Three quarters of its buffer or more: kept (a large produce request's batch).
    const large = inFrame(batch, Math.floor(batch.length / 3));
    cache.add(readBatchHeader(large), large);
    // Less: copied (a small frame in a socket read of many).
    const small = inFrame(batch, batch.length * 2);
    cache.add({ ...readBatchHeader(small), baseOffset: 10n }, small);
    // Which one the cache holds as given shows when the caller's bytes change afterwards (which
    // the log's contract forbids; the test does it only to tell a kept view from a copy).
    large[large.length - 1]! ^= 0xff;
    small[small.length - 1]! ^= 0xff;
    const [first, second] = cache.read(0n, { maxBytes: 1024 * 1024 })!;
    expect(first!.bytes.at(-1), 'kept as given').toBe(large.at(-1));
    expect(second!.bytes.at(-1), 'copied at add').toBe(batch.at(-1));
  });

  it('keeps a batch that is exactly three quarters of its buffer as it is', () => {
    let valueBytes = 100;
    while (batchOf('b', 1, undefined, valueBytes).length % 3 !== 0) valueBytes += 1;
    const batch = batchOf('b', 1, undefined, valueBytes);
    const framed = inFrame(batch, batch.length / 3);
    expect(framed.byteLength * 4).toBe(framed.buffer.byteLength * 3);
    const cache = new TailCache(1024 * 1024);
    cache.add(readBatchHeader(framed), framed);
    framed[framed.length - 1]! ^= 0xff;
    expect(cache.read(0n, { maxBytes: 1024 * 1024 })![0]!.bytes.at(-1), 'kept as given').toBe(framed.at(-1));
  });

  it('holds the latest batches that fit its budget, and no others, through many evictions', () => {
    // Batches of 2 records and uneven sizes, at offsets 2i and 2i + 1; any 7 in a row fill the budget exactly.
    const batchAt = (i: number) => batchOf(`b${i}`, 2, undefined, 100 + (i % 7) * 60);
    const budget = Array.from({ length: 7 }, (_, i) => batchAt(i).length).reduce((a, b) => a + b);
    const sizes: number[] = [];
    const cache = new TailCache(budget);
    for (let i = 0; i < 300; i++) {
      const batch = batchAt(i);
      cache.add({ ...readBatchHeader(batch), baseOffset: BigInt(2 * i) }, batch);
      sizes.push(batch.length);
      // The model: the longest run of latest batches whose bytes add up to at most the budget.
      let first = i;
      for (let bytes = sizes[i]!; first > 0 && bytes + sizes[first - 1]! <= budget; first--) bytes += sizes[first - 1]!;
      const bases = cache.read(BigInt(2 * first), { maxBytes: 1 << 20 })?.map((b) => b.header.baseOffset);
      expect(bases, `after batch ${i}`).toEqual(Array.from({ length: i - first + 1 }, (_, k) => BigInt(2 * (first + k))));
      if (first > 0) expect(cache.read(BigInt(2 * first - 1), { maxBytes: 1 << 20 }), `after batch ${i}: evicted`).toBeUndefined();
    }
  });

  it('after a batch larger than its whole budget it is empty, then holds and evicts the batches after that one as before', () => {
    const batch = batchOf('b', 2, undefined, 100);
    const cache = new TailCache(3 * batch.length);
    const add = (i: number, bytes = batch) => cache.add({ ...readBatchHeader(bytes), baseOffset: BigInt(2 * i) }, bytes);
    for (let i = 0; i < 5; i++) add(i);
    add(5, batchOf('big', 2, undefined, 4 * batch.length));
    expect(cache.read(10n, { maxBytes: 1 << 20 }), 'it could never stay').toBeUndefined();
    for (let i = 6; i < 20; i++) {
      add(i);
      const first = Math.max(6, i - 2);
      expect(cache.read(BigInt(2 * first), { maxBytes: 1 << 20 })?.map((b) => b.header.baseOffset), `after batch ${i}`).toEqual(
        Array.from({ length: i - first + 1 }, (_, k) => BigInt(2 * (first + k))),
      );
      expect(cache.read(BigInt(2 * first - 1), { maxBytes: 1 << 20 }), `after batch ${i}: the one before is not held`).toBeUndefined();
    }
  });
});
