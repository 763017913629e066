/**
 * decodeStoredBatch reads batches of Brook's own shape with storedRecordsQuickly and falls back
 * to the full decoder for anything else. Whichever reads a batch, the outcome must be the full
 * decoder's: the same records, or the same CORRUPT_BATCH.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isBrookError } from './errors.js';
import {
  BATCH_HEADER_BYTES, BATCH_LOG_OVERHEAD_BYTES, decodeBatch, decodeStoredBatch, encodeBatch, readBatchHeader, type RecordInput,
} from './record-batch.js';
import { encodedArbitrary, headerArbitrary, recordArbitrary, reseal } from './record-batch.test-support.js';
import { BatchRecordDecoder } from './record-decoder.js';
import { NO_RECORD_HEADERS, type StoredRecord } from './stored-record.js';
import { storedRecordsQuickly } from './stored-records-quick.js';

/**
 * Records of the shape the quick reader takes: timestamps within an int32 of each other (the
 * range spans 2^31 - 1, so no delta from the first reaches 2^31); most without headers.
 */
const quickShapeArbitrary = fc.array(
  fc.record({
    key: fc.option(fc.uint8Array({ maxLength: 200 }), { nil: null, freq: 4 }),
    value: fc.option(fc.uint8Array({ maxLength: 300 }), { nil: null, freq: 4 }),
    headers: fc.oneof({ weight: 3, arbitrary: fc.constant([]) }, fc.array(headerArbitrary, { minLength: 1, maxLength: 4 })),
    timestamp: fc.integer({ min: 1_700_000_000_000 - 2 ** 30, max: 1_700_000_000_000 + 2 ** 30 - 1 }),
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

  it('leaves batches with wide timestamp deltas or offset gaps to the full decoder', () => {
    const plain: RecordInput = { key: null, value: new Uint8Array([1]), headers: [], timestamp: 1_700_000_000_000 };
    const widestInt32 = encodeBatch([plain, { ...plain, timestamp: plain.timestamp + 2 ** 31 - 1 }, { ...plain, timestamp: plain.timestamp - 2 ** 31 }]);
    expect(quickly(widestInt32)?.map(asLogRecord)).toEqual(fullDecode(widestInt32).records);
    const wideDelta = encodeBatch([plain, { ...plain, timestamp: plain.timestamp + 2 ** 31 }]);
    const gapped = encodeBatch([plain, plain]);
    gapped[23 + 3] = 5; // lastOffsetDelta 5 for two records: offsets with a gap (compaction), CRC not read
    expect(quickly(wideDelta)).toBeUndefined();
    expect(storedDecode(wideDelta)).toEqual(fullDecode(wideDelta));
    expect(quickly(gapped)).toBeUndefined();
  });

  it('reads headers from the bytes at each read: keys as text (invalid UTF-8 replaced, a BOM kept), values as copies the reader owns', () => {
    const headers = [
      { key: '\uFEFFcontent-type', value: new TextEncoder().encode('application/json') },
      { key: 'empty', value: new Uint8Array(0) },
      { key: '', value: null },
    ];
    const bytes = encodeBatch([{ key: null, value: new Uint8Array([1]), headers, timestamp: 1_700_000_000_000 }]);
    const [record] = quickly(bytes)!;
    expect(record!.headers).toEqual(headers);
    const first = record!.headers;
    first[0]!.value![0] = 0;
    expect(record!.headers).toEqual(headers); // the write changed a copy, not the batch
    expect(bytes).toEqual(encodeBatch([{ key: null, value: new Uint8Array([1]), headers, timestamp: 1_700_000_000_000 }]));
    const invalid = encodeBatch([{ key: null, value: null, headers: [{ key: 'k', value: null }], timestamp: 0 }]);
    invalid[invalid.indexOf(0x6b, BATCH_HEADER_BYTES)] = 0xff; // the key 'k' becomes a lone 0xff: not UTF-8
    reseal(invalid);
    expect(decodeStoredBatch(invalid).records[0]!.headers).toEqual([{ key: '\uFFFD', value: null }]);
  });

  it('reads headers whose count and lengths take two or three varint bytes itself, as the full decoder does', () => {
    const bytes = (length: number, fill: number) => new Uint8Array(length).fill(fill);
    // 130 headers (count 260: two bytes, over a byte's worth), keys of 64 bytes (two), values up to 9000 bytes (three).
    const headers = Array.from({ length: 130 }, (_, i) => ({
      key: `${i}`.padEnd(i % 2 === 0 ? 64 : 1, 'k'),
      value: i % 3 === 0 ? null : bytes([0, 63, 64, 8191, 8192, 9000][i % 6]!, i),
    }));
    const batch = encodeBatch([{ key: null, value: null, headers, timestamp: 0 }, { key: null, value: null, headers: headers.slice(0, 64), timestamp: 0 }]);
    const quick = quickly(batch);
    expect(quick, 'read quickly').toBeDefined();
    expect(quick!.map(asLogRecord)).toEqual(fullDecode(batch).records);
    expect(quick![0]!.headers).toEqual(headers);
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

/** A zig-zag varint (or varlong) of `value`, padded with 0x80 groups to `width` bytes when it needs fewer. */
function zigZagBytes(value: bigint, width: number): number[] {
  let unsigned = value >= 0n ? value << 1n : (-value << 1n) - 1n;
  const groups: number[] = [];
  do {
    groups.push(Number(unsigned & 0x7fn));
    unsigned >>= 7n;
  } while (unsigned !== 0n);
  while (groups.length < width) groups.push(0);
  return groups.map((group, i) => (i < groups.length - 1 ? group | 0x80 : group));
}

/** Mostly `usual`, now and then `other`: each field is rarely off, so many batches stay valid (and some of Brook's shape). */
const rarely = <T>(usual: T, other: fc.Arbitrary<T>) => fc.oneof({ weight: 12, arbitrary: fc.constant(usual) }, { weight: 1, arbitrary: other });
const skew = fc.integer({ min: -2, max: 2 });

/** One record's bytes, field by field, near the shape the quick reader takes and around its edges. */
const handRecordArbitrary = fc
  .record({
    attributes: rarely(0, fc.integer({ min: 1, max: 255 })),
    timestampDelta: fc.oneof(
      { weight: 6, arbitrary: fc.bigInt(-3n, 3n) },
      { weight: 1, arbitrary: fc.constantFrom(2n ** 31n - 1n, -(2n ** 31n), 2n ** 31n, -(2n ** 31n) - 1n, 2n ** 53n) },
    ),
    // Varint widths: padded up to 5 bytes (non-minimal), 6 overlong for an int32.
    timestampWidth: rarely(1, fc.integer({ min: 2, max: 6 })),
    timestampRaw: rarely<number[] | null>(null, fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 6 })),
    offsetDeltaSkew: rarely(0, skew),
    offsetDeltaWidth: rarely(1, fc.integer({ min: 2, max: 6 })),
    key: fc.option(fc.uint8Array({ maxLength: 20 }), { nil: null }),
    keySkew: rarely(0, skew),
    keyWidth: rarely(1, fc.integer({ min: 2, max: 6 })),
    value: fc.option(fc.uint8Array({ maxLength: 20 }), { nil: null }),
    valueSkew: rarely(0, skew),
    valueWidth: rarely(1, fc.integer({ min: 2, max: 6 })),
    headers: rarely<number[]>([0], fc.constantFrom<number[]>(
      [0x80, 0x00], [2, 2, 0x6b, 1], [1], [], [0, 0], [0x81, 0x00],
      // count 1: key 'k' with value [7]; value length 2 with one byte there; -2; key length past the end
      [2, 2, 0x6b, 2, 7], [2, 2, 0x6b, 4, 7], [2, 2, 0x6b, 3], [2, 6, 0x6b, 1],
      // count 2, both there; count 2 with one; a count the bytes left cannot hold; a padded key length
      [4, 2, 0x6b, 1, 0, 0], [4, 2, 0x6b, 1], [8, 0, 1], [2, 0x82, 0x00, 0x6b, 1],
      // a key of invalid UTF-8; a truncated count varint; count 2, the first key length -1 (read
      // again as a null value, a reader that let it through would end at the record's end)
      [2, 2, 0xff, 1], [0x80], [4, 1, 0, 2, 7],
    )),
    lengthSkew: rarely(0, skew),
    lengthWidth: rarely(1, fc.integer({ min: 2, max: 6 })),
  })
  .map((fields) => (index: number): number[] => {
    const nullable = (bytes: Uint8Array | null, skew: number, width: number) => [
      ...zigZagBytes(BigInt((bytes === null ? -1 : bytes.length) + skew), width),
      ...(bytes ?? []),
    ];
    const body = [
      fields.attributes,
      ...(fields.timestampRaw ?? zigZagBytes(fields.timestampDelta, fields.timestampWidth)),
      ...zigZagBytes(BigInt(index + fields.offsetDeltaSkew), fields.offsetDeltaWidth),
      ...nullable(fields.key, fields.keySkew, fields.keyWidth),
      ...nullable(fields.value, fields.valueSkew, fields.valueWidth),
      ...fields.headers,
    ];
    return [...zigZagBytes(BigInt(body.length + fields.lengthSkew), fields.lengthWidth), ...body];
  });

/** A resealed batch of hand-built records, with header fields at and around what the quick reader expects. */
const handBatchArbitrary = fc
  .record({
    records: fc.array(handRecordArbitrary, { maxLength: 6 }),
    countSkew: rarely(0, skew),
    lastDeltaSkew: rarely(0, skew),
    attributes: rarely(0, fc.constantFrom(0x08, 0x10, 0x20, 0x30, -0x8000)),
    baseOffset: fc.oneof(fc.bigInt(0n, 2n ** 62n), fc.bigInt(2n ** 63n - 10n, 2n ** 63n - 1n), fc.bigInt(-(2n ** 63n), -(2n ** 63n) + 10n)),
    baseTimestamp: fc.oneof(
      { weight: 4, arbitrary: fc.integer({ min: 1_600_000_000_000, max: 1_900_000_000_000 }) },
      fc.integer({ min: Number.MAX_SAFE_INTEGER - 5, max: Number.MAX_SAFE_INTEGER }),
      fc.integer({ min: Number.MIN_SAFE_INTEGER, max: Number.MIN_SAFE_INTEGER + 5 }),
    ),
    maxTimestamp: fc.integer({ min: 0, max: 2_000_000_000_000 }),
    trailing: rarely<number[]>([], fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 2 })),
  })
  .map(({ records, countSkew, lastDeltaSkew, attributes, baseOffset, baseTimestamp, maxTimestamp, trailing }) => {
    const body = [...records.flatMap((record, index) => record(index)), ...trailing];
    const bytes = new Uint8Array(BATCH_HEADER_BYTES + body.length);
    bytes.set(body, BATCH_HEADER_BYTES);
    const view = new DataView(bytes.buffer);
    view.setBigInt64(0, baseOffset);
    view.setInt16(21, attributes);
    view.setInt32(23, records.length - 1 + lastDeltaSkew);
    view.setBigInt64(27, BigInt(baseTimestamp));
    view.setBigInt64(35, BigInt(maxTimestamp));
    view.setBigInt64(43, -1n);
    view.setInt32(57, records.length + countSkew);
    return reseal(bytes);
  });

/** Everything a StoredRecord says, its source range and keyLatin1 included. */
function storedSummary(bytes: Uint8Array, records: readonly StoredRecord[]) {
  return records.map((record) => ({
    ...asLogRecord(record),
    sharedNoHeaders: record.headers === NO_RECORD_HEADERS,
    ownSource: record.source === bytes,
    sourceStart: record.sourceStart,
    sourceEnd: record.sourceEnd,
    keyLatin1: record.keyLatin1(),
  }));
}

/**
 * The full decoder's outcome for a stored batch: its sourced records, or decodeBatch's error. No
 * headers is the shared list exactly when decodeBatch's record has it, the sourced decoder's
 * records being as lazy as the quick reader's.
 */
function fullStored(bytes: Uint8Array) {
  let plain;
  try {
    plain = decodeBatch(bytes, 0, { crcVerified: true }).records;
  } catch (error) {
    return { error: errorSummary(error) };
  }
  const header = readBatchHeader(bytes);
  const end = BATCH_LOG_OVERHEAD_BYTES + header.batchLength;
  const records = storedSummary(bytes, new BatchRecordDecoder(bytes, 0, BATCH_HEADER_BYTES, end, header, true).decodeAll() as StoredRecord[]);
  return { records: records.map((record, i) => ({ ...record, sharedNoHeaders: plain[i]!.headers === NO_RECORD_HEADERS })) };
}

function storedOutcome(bytes: Uint8Array) {
  try {
    return { records: storedSummary(bytes, decodeStoredBatch(bytes).records) };
  } catch (error) {
    return { error: errorSummary(error) };
  }
}

describe('decodeStoredBatch: hand-built batches around the quick reader\'s edges', () => {
  it('gives the full decoder\'s records, sources and keyLatin1, or its error, for padded, overlong, skewed and garbage fields', () => {
    fc.assert(
      fc.property(handBatchArbitrary, (bytes) => {
        expect(storedOutcome(bytes)).toEqual(fullStored(bytes));
      }),
      { numRuns: 3000 },
    );
  });

  it('reads a batch inside a bigger buffer (nonzero byteOffset, bytes after it) as it reads a copy of it', () => {
    fc.assert(
      fc.property(
        fc.oneof(handBatchArbitrary, quickShapeArbitrary.map((records) => encodeBatch(records))),
        fc.uint8Array({ maxLength: 9 }),
        fc.uint8Array({ maxLength: 9 }),
        (batch, before, after) => {
          const buffer = new Uint8Array(before.length + batch.length + after.length);
          buffer.set(before);
          buffer.set(batch, before.length);
          buffer.set(after, before.length + batch.length);
          const inside = buffer.subarray(before.length, before.length + batch.length);
          expect(storedOutcome(inside)).toEqual(storedOutcome(batch));
          expect(storedOutcome(inside)).toEqual(fullStored(inside));
          // Bytes after the batch (the rest of a read) are not the batch's.
          expect(storedOutcome(buffer.subarray(before.length))).toEqual(storedOutcome(batch));
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('reads a batch of no records (recordCount 0, lastOffsetDelta -1) itself, and with trailing bytes leaves it to the full decoder', () => {
    const empty = encodeBatch([{ key: null, value: null, headers: [], timestamp: 1 }]).slice(0, BATCH_HEADER_BYTES);
    new DataView(empty.buffer).setInt32(23, -1); // lastOffsetDelta
    new DataView(empty.buffer).setInt32(57, 0); // recordCount
    reseal(empty);
    expect(quickly(empty)).toEqual([]);
    expect(storedOutcome(empty)).toEqual({ records: [] });
    const trailing = reseal(Uint8Array.of(...empty, 0));
    expect(quickly(trailing)).toBeUndefined();
    expect(storedOutcome(trailing)).toEqual(fullStored(trailing));
  });

  it('reads padded (non-minimal) varints as the full decoder does, itself', () => {
    // One record: length 7, attributes 0, timestampDelta 0 as 0x80 0x00, offsetDelta 0, null key, empty value, headerCount 0.
    const bytes = encodeBatch([{ key: null, value: new Uint8Array(0), headers: [], timestamp: 5 }]);
    const padded = reseal(Uint8Array.of(...bytes.subarray(0, BATCH_HEADER_BYTES), 14, 0, 0x80, 0x00, 0, 1, 0, 0));
    expect(quickly(padded)).toHaveLength(1);
    expect(storedOutcome(padded)).toEqual(fullStored(padded));
  });
});
