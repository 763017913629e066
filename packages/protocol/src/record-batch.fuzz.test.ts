/**
 * Damage to a batch is always detected and always reported the same way: checkBatch returns
 * ok: false without throwing, decodeBatch throws a CORRUPT_BATCH BrookError and nothing else.
 * With `crcVerified` (the caller vouches for the CRC), decodeBatch may accept damage only the CRC
 * would catch, but still fails only with CORRUPT_BATCH. verifyBatch agrees with decodeBatch on
 * every input.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isBrookError } from './errors.js';
import { checkBatch, decodeBatch, encodeBatch, verifyBatch, type BatchHeader, type DecodeBatchOptions } from './record-batch.js';
import { encodedArbitrary, expectCorrupt, reseal } from './record-batch.test-support.js';

/** baseOffset (0..7) and partitionLeaderEpoch (12..15) sit before the CRC'd range on purpose:
 * the broker stamps them on append. Changing them leaves a valid batch. */
function outsideCrc(index: number): boolean {
  return index < 8 || (index >= 12 && index < 16);
}

/** Also: verifyBatch, which skips building the records, accepts and rejects exactly the same
 * bytes with exactly the same error. */
function decodesOrFailsCleanly(bytes: Uint8Array, options: DecodeBatchOptions = {}): void {
  const verified = outcome(() => verifyBatch(bytes, 0, options));
  try {
    const { header } = decodeBatch(bytes, 0, options);
    expect(verified).toEqual({ header });
  } catch (error) {
    expect(isBrookError(error, 'CORRUPT_BATCH'), String(error)).toBe(true);
    expect(verified).toEqual({ error: { message: (error as Error).message, details: (error as { details: unknown }).details } });
  }
}

function outcome(verify: () => BatchHeader): { header: BatchHeader } | { error: { message: string; details: unknown } } {
  try {
    return { header: verify() };
  } catch (error) {
    return { error: { message: (error as Error).message, details: (error as { details: unknown }).details } };
  }
}

function expectMutationCaught(mutated: Uint8Array, index: number): void {
  const check = checkBatch(mutated);
  if (outsideCrc(index)) {
    expect(check.ok).toBe(true);
    decodeBatch(mutated);
  } else {
    expect(check.ok).toBe(false);
    expectCorrupt(() => decodeBatch(mutated));
  }
  decodesOrFailsCleanly(mutated, { crcVerified: true });
}

describe('single-byte damage', () => {
  it('every value of every byte of one batch with headers, nulls and several records', () => {
    const bytes = encodeBatch(
      [
        {
          key: new Uint8Array([1, 2, 3]),
          value: new Uint8Array(20).fill(7),
          timestamp: 1_700_000_000_000,
          headers: [{ key: 'h', value: null }],
        },
        { key: null, value: null, timestamp: 1_600_000_000_000, headers: [{ key: 'ключ', value: new Uint8Array([9]) }] },
      ],
      { baseOffset: 77n, producerId: 5n, producerEpoch: 1, baseSequence: 3 },
    );
    for (let index = 0; index < bytes.length; index++) {
      for (let mask = 1; mask < 256; mask++) {
        const mutated = bytes.slice();
        mutated[index]! ^= mask;
        expectMutationCaught(mutated, index);
      }
    }
  });

  it('a random byte of an arbitrary batch', () => {
    fc.assert(
      fc.property(encodedArbitrary, fc.nat(), fc.integer({ min: 1, max: 255 }), ({ bytes }, at, mask) => {
        const index = at % bytes.length;
        const mutated = bytes.slice();
        mutated[index]! ^= mask;
        expectMutationCaught(mutated, index);
      }),
      { numRuns: 3000 },
    );
  });
});

describe('truncation', () => {
  it('every strict prefix of an arbitrary batch is truncated', () => {
    fc.assert(
      fc.property(encodedArbitrary, ({ bytes }) => {
        for (let length = 0; length < bytes.length; length++) {
          expect(checkBatch(bytes, 0, length)).toMatchObject({ ok: false, reason: 'truncated' });
          expectCorrupt(() => decodeBatch(bytes.subarray(0, length)), 'truncated');
        }
      }),
      { numRuns: 100 },
    );
  });
});

describe('garbage', () => {
  it('random bytes never make checkBatch throw, and decodeBatch throws only CORRUPT_BATCH', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat({ max: 100 }), (bytes, at) => {
        const position = Math.min(at, bytes.length);
        const check = checkBatch(bytes, position);
        expect(check.ok).toBe(false);
        expectCorrupt(() => decodeBatch(bytes, position));
      }),
      { numRuns: 5000 },
    );
  });

  it('random bytes behind a valid header and CRC reach the record decoder and fail cleanly', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 61, maxLength: 300 }), fc.integer({ min: -1, max: 40 }), (bytes, recordCount) => {
        new DataView(bytes.buffer).setInt32(57, recordCount);
        bytes[21] = 0; // attributes: uncompressed, so the records are parsed
        bytes[22] = 0;
        const sealed = reseal(bytes);
        expect(checkBatch(sealed).ok).toBe(true);
        decodesOrFailsCleanly(sealed);
      }),
      { numRuns: 5000 },
    );
  });

  it('a valid batch with bytes changed, inserted or removed, then resealed, decodes or fails cleanly', () => {
    const edit = fc.oneof(
      fc.record({ kind: fc.constant('set' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
      fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
      fc.record({ kind: fc.constant('remove' as const), at: fc.nat(), byte: fc.constant(0) }),
    );
    fc.assert(
      fc.property(encodedArbitrary, fc.array(edit, { minLength: 1, maxLength: 4 }), ({ bytes }, edits) => {
        const damaged = [...bytes];
        for (const { kind, at, byte } of edits) {
          // Edit the CRC'd range past the fixed header fields reseal rewrites.
          const index = 21 + (at % (damaged.length - 21));
          if (kind === 'set') damaged[index] = byte;
          else if (kind === 'insert') damaged.splice(index, 0, byte);
          else if (damaged.length > 61) damaged.splice(index, 1);
        }
        const sealed = reseal(Uint8Array.from(damaged));
        decodesOrFailsCleanly(sealed);
      }),
      { numRuns: 3000 },
    );
  });
});
