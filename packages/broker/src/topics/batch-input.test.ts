import { describe, expect, it } from 'vitest';
import { crc32c, encodeBatch } from '@brook/protocol';
import { checkBatchInput } from './batch-input.js';

const limits = { batchBytesMax: 4096, batchRecordsMax: 3 };

function batchOf(records: number, valueBytes = 1): Uint8Array {
  return encodeBatch(Array.from({ length: records }, () => ({ key: null, value: new Uint8Array(valueBytes), timestamp: 0 })));
}

/** Changes a byte covered by the CRC and fixes the CRC, so that only the deeper checks can notice. */
function patched(batch: Uint8Array, position: number, value: number): Uint8Array {
  const copy = batch.slice();
  copy[position] = value;
  new DataView(copy.buffer).setUint32(17, crc32c(copy, 21, copy.length));
  return copy;
}

describe('checkBatchInput', () => {
  it('returns the header of a good batch', () => {
    const batch = encodeBatch([{ key: null, value: null, timestamp: 5 }], { producerId: 9n, producerEpoch: 1, baseSequence: 4 });
    expect(checkBatchInput(batch, limits)).toMatchObject({ producerId: 9n, producerEpoch: 1, baseSequence: 4, recordCount: 1 });
  });

  it('holds a batch to batchBytesMax: exactly the limit passes, one byte more is MESSAGE_TOO_LARGE', () => {
    let valueBytes = 0;
    while (batchOf(1, valueBytes + 1).length <= limits.batchBytesMax) valueBytes += 1;
    expect(batchOf(1, valueBytes)).toHaveLength(limits.batchBytesMax);
    expect(() => checkBatchInput(batchOf(1, valueBytes), limits)).not.toThrow();
    expect(() => checkBatchInput(batchOf(1, valueBytes + 1), limits)).toThrow(expect.objectContaining({
      code: 'MESSAGE_TOO_LARGE', details: { bytes: limits.batchBytesMax + 1, limit: limits.batchBytesMax },
    }));
  });

  it('holds a batch to batchRecordsMax records', () => {
    expect(() => checkBatchInput(batchOf(3), limits)).not.toThrow();
    expect(() => checkBatchInput(batchOf(4), limits)).toThrow(expect.objectContaining({ code: 'MESSAGE_TOO_LARGE', details: { records: 4, limit: 3 } }));
  });

  it.each([
    ['a bad CRC', (b: Uint8Array) => Uint8Array.of(...b.subarray(0, -1), b[b.length - 1]! ^ 1), 'bad-crc'],
    ['a truncated batch', (b: Uint8Array) => b.subarray(0, b.length - 1), 'truncated'],
    ['bytes after the batch', (b: Uint8Array) => Uint8Array.of(...b, 0), 'bad-length'],
    ['a record that does not parse', (b: Uint8Array) => patched(b, 61, 0x7f), 'bad-record'],
    ['lastOffsetDelta other than recordCount - 1', (b: Uint8Array) => patched(b, 26, 1), 'bad-header'],
  ])('rejects %s with CORRUPT_BATCH', (_what, damage, reason) => {
    expect(() => checkBatchInput(damage(batchOf(1)), limits)).toThrow(expect.objectContaining({ code: 'CORRUPT_BATCH', details: expect.objectContaining({ reason }) }));
  });

  it('rejects a batch of no records (recordCount 0, lastOffsetDelta -1: consistent, but nothing to append) with CORRUPT_BATCH', () => {
    // The header of a one-record batch without its record, re-counted and re-checksummed.
    const empty = batchOf(1).slice(0, 61);
    const view = new DataView(empty.buffer);
    view.setInt32(8, empty.length - 12); // batchLength: what follows it
    view.setInt32(23, -1); // lastOffsetDelta
    view.setInt32(57, 0); // recordCount
    view.setUint32(17, crc32c(empty, 21, empty.length));
    expect(() => checkBatchInput(empty, limits)).toThrow(expect.objectContaining({ code: 'CORRUPT_BATCH', details: expect.objectContaining({ reason: 'bad-header' }) }));
  });

  it('rejects what is not a batch, and transactional or control batches, with INVALID_REQUEST', () => {
    expect(() => checkBatchInput('x', limits)).toThrow(expect.objectContaining({ code: 'INVALID_REQUEST' }));
    expect(() => checkBatchInput(patched(batchOf(1), 22, 0x10), limits)).toThrow(expect.objectContaining({ code: 'INVALID_REQUEST', details: { attributes: 0x10 } }));
    expect(() => checkBatchInput(patched(batchOf(1), 22, 0x20), limits)).toThrow(expect.objectContaining({ code: 'INVALID_REQUEST' }));
  });
});
