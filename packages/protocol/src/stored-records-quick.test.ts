/**
 * decodeStoredBatch reads batches of Brook's own shape with storedRecordsQuickly and falls back
 * to the full decoder for anything else. Whichever reads a batch, the outcome must be the full
 * decoder's: the same records, or the same CORRUPT_BATCH.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isBrookError } from './errors.js';
import { BATCH_HEADER_BYTES, decodeBatch, decodeStoredBatch, encodeBatch, readBatchHeader, type RecordInput } from './record-batch.js';
import { encodedArbitrary, recordArbitrary, reseal } from './record-batch.test-support.js';
import type { StoredRecord } from './stored-record.js';
import { storedRecordsQuickly } from './stored-records-quick.js';

/** Records of the shape the quick reader takes: no headers, timestamps within an int32 of each other. */
const quickShapeArbitrary = fc.array(
  fc.record({
    key: fc.option(fc.uint8Array({ maxLength: 200 }), { nil: null, freq: 4 }),
    value: fc.option(fc.uint8Array({ maxLength: 300 }), { nil: null, freq: 4 }),
    timestamp: fc.integer({ min: 1_700_000_000_000 - 2 ** 30, max: 1_700_000_000_000 + 2 ** 30 }),
  }),
  { minLength: 1, maxLength: 70 },
);

/** What the full decoder makes of `bytes`, in the terms decodeStoredBatch's records can be compared in. */
function fullDecode(bytes: Uint8Array) {
  try {
    return { records: decodeBatch(bytes, 0, { crcVerified: true }).records.map((record) => ({ ...record })) };
  } catch (error) {
    return { error: errorSummary(error) };
  }
}

function storedDecode(bytes: Uint8Array) {
  try {
    return { records: decodeStoredBatch(bytes).records.map(asLogRecord) };
  } catch (error) {
    return { error: errorSummary(error) };
  }
}

function asLogRecord(record: StoredRecord) {
  return { offset: record.offset, timestamp: record.timestamp, key: record.key, value: record.value, headers: record.headers };
}

function errorSummary(error: unknown) {
  if (!isBrookError(error, 'CORRUPT_BATCH')) throw error;
  return { code: error.code, message: error.message, details: error.details };
}

function quickly(bytes: Uint8Array) {
  return storedRecordsQuickly(bytes, readBatchHeader(bytes), BATCH_HEADER_BYTES, bytes.length);
}

describe('decodeStoredBatch: the quick reader and the full decoder agree', () => {
  it('reads every batch of its shape itself, with the full decoder\'s records and sources', () => {
    fc.assert(
      fc.property(quickShapeArbitrary, fc.bigInt(0n, 2n ** 62n), (records, baseOffset) => {
        const bytes = encodeBatch(records, { baseOffset });
        const quick = quickly(bytes);
        expect(quick, 'read quickly').toBeDefined();
        expect(quick!.map(asLogRecord)).toEqual(fullDecode(bytes).records);
        const full = decodeBatch(bytes, 0, { crcVerified: true }).records;
        const sourced = decodeStoredBatch(bytes).records;
        // Each record's source range is its whole encoding: the next starts where it ends.
        sourced.forEach((record, i) => {
          expect(record.sourceEnd).toBe(i + 1 < sourced.length ? sourced[i + 1]!.sourceStart : bytes.length);
          expect(record.headers).toEqual(full[i]!.headers);
        });
        expect(sourced[0]!.sourceStart).toBe(BATCH_HEADER_BYTES);
      }),
      { numRuns: 300 },
    );
  });

  it('leaves batches with headers, wide timestamp deltas or offset gaps to the full decoder', () => {
    const plain: RecordInput = { key: null, value: new Uint8Array([1]), headers: [], timestamp: 1_700_000_000_000 };
    const withHeader = encodeBatch([plain, { ...plain, headers: [{ key: 'k', value: null }] }]);
    const wideDelta = encodeBatch([plain, { ...plain, timestamp: plain.timestamp + 2 ** 31 }]);
    const gapped = encodeBatch([plain, plain]);
    gapped[23 + 3] = 5; // lastOffsetDelta 5 for two records: offsets with a gap (compaction), CRC not read
    for (const bytes of [withHeader, wideDelta]) {
      expect(quickly(bytes)).toBeUndefined();
      expect(storedDecode(bytes)).toEqual(fullDecode(bytes));
    }
    expect(quickly(gapped)).toBeUndefined();
  });

  it('reads any batch, however changed, as the full decoder does: the same records or the same error', () => {
    const edit = fc.record({ at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) });
    const batch = fc.oneof(
      encodedArbitrary.map(({ bytes }) => bytes),
      quickShapeArbitrary.map((records) => encodeBatch(records)),
    );
    fc.assert(
      fc.property(batch, fc.array(edit, { minLength: 1, maxLength: 3 }), fc.boolean(), (original, edits, resealed) => {
        const bytes = original.slice();
        // Only the records: an edited header is the batch checks' business, the same for both.
        for (const { at, byte } of edits) bytes[BATCH_HEADER_BYTES + (at % Math.max(1, bytes.length - BATCH_HEADER_BYTES))] = byte;
        if (resealed) reseal(bytes);
        expect(storedDecode(bytes)).toEqual(fullDecode(bytes));
      }),
      { numRuns: 2000 },
    );
  });

  it('agrees on batches of records with every field shape the encoder takes', () => {
    fc.assert(
      fc.property(fc.array(recordArbitrary, { minLength: 1, maxLength: 8 }), (records) => {
        const bytes = encodeBatch(records);
        expect(storedDecode(bytes)).toEqual(fullDecode(bytes));
      }),
      { numRuns: 300 },
    );
  });
});
