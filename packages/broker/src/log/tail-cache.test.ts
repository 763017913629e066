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
});
