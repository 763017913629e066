/** Arbitraries and helpers shared by the record batch tests. */
import fc from 'fast-check';
import { expect } from 'vitest';
import { crc32c } from './crc32c.js';
import { isBrookError, type BrookError, type ErrorCode } from './errors.js';
import { encodeBatch, type BatchDecodeFailure, type EncodeBatchOptions, type RecordInput } from './record-batch.js';

const bytesOrNull = (maxLength: number) => fc.option(fc.uint8Array({ maxLength }), { nil: null, freq: 4 });

export const headerArbitrary = fc.record({
  // 'binary' is any code point but lone surrogates, which UTF-8 cannot carry.
  key: fc.string({ unit: 'binary', maxLength: 12 }),
  value: bytesOrNull(20),
});

/** Timestamps within ±2^51 ms, so every delta between two of them is a safe integer. */
export const recordArbitrary: fc.Arbitrary<RecordInput> = fc.record({
  key: bytesOrNull(40),
  value: bytesOrNull(300),
  headers: fc.array(headerArbitrary, { maxLength: 4 }),
  timestamp: fc.oneof(fc.integer({ min: -(2 ** 51), max: 2 ** 51 }), fc.integer({ min: 1_600_000_000_000, max: 1_900_000_000_000 })),
});

export const optionsArbitrary: fc.Arbitrary<Required<EncodeBatchOptions>> = fc.record({
  baseOffset: fc.bigInt(0n, 2n ** 62n),
  producerId: fc.bigInt(-1n, 2n ** 63n - 1n),
  producerEpoch: fc.integer({ min: -0x8000, max: 0x7fff }),
  baseSequence: fc.integer({ min: -0x80000000, max: 0x7fffffff }),
  partitionLeaderEpoch: fc.integer({ min: -0x80000000, max: 0x7fffffff }),
});

export const encodedArbitrary = fc
  .tuple(fc.array(recordArbitrary, { minLength: 1, maxLength: 8 }), optionsArbitrary)
  .map(([records, options]) => ({ records, options, bytes: encodeBatch(records, options) }));

/**
 * Makes `bytes` a batch that passes checkBatch whatever its content: batchLength from the
 * array's length, magic 2, a fresh CRC. Reaches the record decoder with garbage the CRC would
 * otherwise stop first.
 */
export function reseal(bytes: Uint8Array): Uint8Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  view.setInt32(8, bytes.length - 12);
  bytes[16] = 2;
  view.setUint32(17, crc32c(bytes, 21));
  return bytes;
}

/** `fn` throws a BrookError with `code` and nothing else. */
export function expectBrookError(fn: () => unknown, code: ErrorCode): BrookError {
  let thrown: unknown;
  try {
    fn();
  } catch (error) {
    thrown = error;
  }
  if (!isBrookError(thrown, code)) throw new Error(`expected a ${code} BrookError, got ${String(thrown)}`, { cause: thrown });
  return thrown;
}

/** `fn` throws a BrookError CORRUPT_BATCH (with `reason`, if given) and nothing else. */
export function expectCorrupt(fn: () => unknown, reason?: BatchDecodeFailure): void {
  const error = expectBrookError(fn, 'CORRUPT_BATCH');
  if (reason !== undefined) expect(error.details['reason']).toBe(reason);
}
