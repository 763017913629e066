/**
 * encodeBatch against a plain reference encoder written here from the grammar in record-batch.ts
 * (bigint zig-zag, an array of numbers, TextEncoder), on the field shapes where the encoder's
 * inlined varints could part from it: null and empty fields, AsciiText, lengths and deltas at
 * varint size boundaries, header keys at UTF-8 length steps, timestamp deltas at and past int32, batches past 64 and 8192 records.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { crc32c } from './crc32c.js';
import { decodeBatch, encodeBatch, type AsciiText, type EncodableRecord, type EncodeBatchOptions, type RecordField, type RecordHeader } from './record-batch.js';
import { optionsArbitrary } from './record-batch.test-support.js';
import { sizeOfRecordMax } from './record-encoder.js';

function zigZag(value: number | bigint): number[] {
  const signed = BigInt(value);
  let unsigned = BigInt.asUintN(64, (signed << 1n) ^ (signed >> 63n));
  const out: number[] = [];
  while (unsigned >= 0x80n) {
    out.push(Number(unsigned & 0x7fn) | 0x80);
    unsigned >>= 7n;
  }
  out.push(Number(unsigned));
  return out;
}

function int(value: number | bigint, bytes: number): number[] {
  const unsigned = BigInt.asUintN(8 * bytes, BigInt(value));
  return Array.from({ length: bytes }, (_, i) => Number((unsigned >> BigInt(8 * (bytes - 1 - i))) & 0xffn));
}

function field(value: RecordField): number[] {
  if (value === null) return zigZag(-1);
  const bytes = typeof value === 'string' ? Array.from(value, (char) => char.charCodeAt(0)) : Array.from(value);
  return [...zigZag(bytes.length), ...bytes];
}

function header({ key, value }: RecordHeader): number[] {
  const keyBytes = Array.from(new TextEncoder().encode(key));
  return [...zigZag(keyBytes.length), ...keyBytes, ...field(value)];
}

/** A record's bytes, its length first, at `offsetDelta` and `timestampDelta` in a batch. */
function referenceRecord(record: EncodableRecord, offsetDelta: number, timestampDelta: number): number[] {
  const headers = record.headers ?? [];
  const fields = [0, ...zigZag(timestampDelta), ...zigZag(offsetDelta), ...field(record.key), ...field(record.value),
    ...zigZag(headers.length), ...headers.flatMap(header)];
  return [...zigZag(fields.length), ...fields];
}

/** The batch encodeBatch should write, byte by byte from the grammar. */
function referenceBatch(records: readonly EncodableRecord[], options: Required<EncodeBatchOptions>): Uint8Array {
  const base = records[0]!.timestamp;
  const body = records.flatMap((record, i) => referenceRecord(record, i, record.timestamp - base));
  const afterCrc = [
    ...int(0, 2), ...int(records.length - 1, 4), ...int(base, 8), ...int(Math.max(...records.map((r) => r.timestamp)), 8),
    ...int(options.producerId, 8), ...int(options.producerEpoch, 2), ...int(options.baseSequence, 4), ...int(records.length, 4), ...body,
  ];
  const crc = crc32c(Uint8Array.from(afterCrc));
  return Uint8Array.from([
    ...int(options.baseOffset, 8), ...int(afterCrc.length + 9, 4), ...int(options.partitionLeaderEpoch, 4), 2, ...int(crc, 4), ...afterCrc,
  ]);
}

/** Lengths on both sides of each varint size step (a zig-zag length of 64 is two bytes). */
const boundaryLength = fc.constantFrom(0, 1, 16, 17, 63, 64, 65, 127, 128, 8191, 8192, 8193);
const bytesField = fc.oneof(
  { arbitrary: fc.uint8Array({ maxLength: 40 }), weight: 4 },
  { arbitrary: boundaryLength.map((n) => new Uint8Array(n).fill(n & 0xff)), weight: 1 },
);
const asciiField = fc.oneof(
  fc.string({ unit: fc.integer({ min: 0, max: 0x7f }).map((c) => String.fromCharCode(c)), maxLength: 70 }),
  fc.constantFrom(63, 64, 65).map((n) => 'k'.repeat(n)),
).map((text) => text as AsciiText);
const fieldArbitrary: fc.Arbitrary<RecordField> = fc.oneof(fc.constant(null), bytesField, asciiField);

/** UTF-8 length steps (U+007F/U+0080, U+07FF/U+0800), a pair, and lone surrogates (written as U+FFFD). */
const utf8EdgeKey = fc.constantFrom('\u007f', '\u0080', '\u07ff', '\u0800', '€', '\uD83D\uDE00', 'x\uDC00', 'end\uD800', '\uDC00\uD800');
const headerKey = fc.oneof(fc.string({ maxLength: 10 }), fc.string({ unit: 'binary', maxLength: 10 }), fc.constant('k'.repeat(64)), utf8EdgeKey);
const headersArbitrary = fc.option(
  fc.array(fc.record({ key: headerKey, value: fc.oneof(fc.constant(null), bytesField) }), { maxLength: 3 }),
  { nil: undefined },
);

const INT32_EDGE = 2 ** 31;
/** Deltas from the first record's timestamp: small of either sign, at and past int32, varlong-sized. */
const timestampDelta = fc.oneof(
  fc.integer({ min: -200, max: 200 }),
  fc.constantFrom(63, 64, -64, -65, INT32_EDGE - 1, INT32_EDGE, -INT32_EDGE, -INT32_EDGE - 1, 2 ** 40, -(2 ** 40), 2 ** 52 - 1, -(2 ** 52)),
  // The three-, four- and five-byte steps of an int32 delta's zig-zag varint.
  fc.constantFrom(2 ** 13, -(2 ** 13) - 1, 2 ** 20, -(2 ** 20) - 1, 2 ** 27, -(2 ** 27) - 1),
  fc.integer({ min: -(2 ** 52), max: 2 ** 52 }),
);

const batchArbitrary = fc
  .tuple(
    // One inside ±2^52, so base + delta (each within ±2^52) stays a safe integer: ±2^53 is not one.
    fc.integer({ min: -(2 ** 52) + 1, max: 2 ** 52 - 1 }),
    fc.array(fc.record({ key: fieldArbitrary, value: fieldArbitrary, headers: headersArbitrary, delta: timestampDelta }), { minLength: 1, maxLength: 70, size: 'small' }),
  )
  .map(([base, shapes]): EncodableRecord[] =>
    // The first record's timestamp is the base: its own delta is 0.
    shapes.map(({ delta, headers, ...fields }, i) => ({ ...fields, ...(headers && { headers }), timestamp: i === 0 ? base : base + delta })),
  );

describe('encodeBatch writes the grammar byte for byte', () => {
  it('for every field shape, length boundary and timestamp delta', () => {
    fc.assert(
      fc.property(batchArbitrary, optionsArbitrary, (records, options) => {
        expect(encodeBatch(records, options)).toEqual(referenceBatch(records, options));
      }),
      { numRuns: 150 },
    );
  });

  it('for offset deltas at the two- and three-byte steps (batches of 8200 records)', () => {
    const records: EncodableRecord[] = Array.from({ length: 8200 }, (_, i) => ({
      key: i % 3 === 0 ? null : ('k' as AsciiText),
      value: i % 2 === 0 ? new Uint8Array(0) : null,
      timestamp: 1_700_000_000_000 + (i % 7) - 3,
    }));
    const options = { baseOffset: 5n, producerId: -1n, producerEpoch: -1, baseSequence: -1, partitionLeaderEpoch: 0 };
    const bytes = encodeBatch(records, options);
    expect(bytes).toEqual(referenceBatch(records, options));
    expect(decodeBatch(bytes).records.at(-1)!.offset).toBe(5n + 8199n);
  });

  it('never puts a record in more bytes than sizeOfRecordMax, wherever it sits', () => {
    fc.assert(
      fc.property(batchArbitrary, fc.constantFrom(0, 63, 64, 8191, 8192, 2 ** 31 - 1), (records, offsetDelta) => {
        const base = records[0]!.timestamp;
        for (const record of records) {
          expect(referenceRecord(record, offsetDelta, record.timestamp - base).length).toBeLessThanOrEqual(sizeOfRecordMax(record));
        }
      }),
      { numRuns: 200 },
    );
  });
});
