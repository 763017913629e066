import { createRequire } from 'node:module';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  VARINT_MAX_BYTES,
  VARLONG_MAX_BYTES,
  VarintReader,
  sizeOfVarint,
  sizeOfVarlong,
  writeVarint,
  writeVarlong,
} from './varint.js';

const require = createRequire(import.meta.url);
// kafkajs is CommonJS and untyped below its entry point; its Encoder is the reference for bytes.
const KafkaEncoder: { new (): KafkajsEncoder } = require('kafkajs/src/protocol/encoder.js');
interface KafkajsEncoder {
  writeVarInt(value: number): KafkajsEncoder;
  writeVarLong(value: number): KafkajsEncoder;
  buffer: Buffer;
}

const int32 = fc.integer({ min: -0x80000000, max: 0x7fffffff });
const safeInteger = fc.oneof(fc.maxSafeInteger(), int32, fc.integer({ min: -(2 ** 40), max: 2 ** 40 }));

function encodeVarint(value: number): Uint8Array {
  const bytes = new Uint8Array(VARINT_MAX_BYTES);
  return bytes.subarray(0, writeVarint(bytes, 0, value));
}

function encodeVarlong(value: number): Uint8Array {
  const bytes = new Uint8Array(VARLONG_MAX_BYTES);
  return bytes.subarray(0, writeVarlong(bytes, 0, value));
}

/** Any int64 as zig-zag varlong bytes, via bigint: reaches the values a number cannot hold. */
function encodeInt64(value: bigint): Uint8Array {
  let unsigned = BigInt.asUintN(64, (value << 1n) ^ (value >> 63n));
  const out: number[] = [];
  while (unsigned >= 0x80n) {
    out.push(Number(unsigned & 0x7fn) | 0x80);
    unsigned >>= 7n;
  }
  out.push(Number(unsigned));
  return Uint8Array.from(out);
}

function reader(bytes: Uint8Array | number[]): VarintReader {
  const array = Uint8Array.from(bytes);
  return new VarintReader(array, 0, array.length);
}

describe('varint (int32)', () => {
  it.each([
    [0, [0x00]],
    [-1, [0x01]],
    [1, [0x02]],
    [63, [0x7e]],
    [-64, [0x7f]],
    [64, [0x80, 0x01]],
    [0x7fffffff, [0xfe, 0xff, 0xff, 0xff, 0x0f]],
    [-0x80000000, [0xff, 0xff, 0xff, 0xff, 0x0f]],
  ])('%d encodes as %j', (value, expected) => {
    expect([...encodeVarint(value)]).toEqual(expected);
    expect(reader(expected).varint()).toBe(value);
  });

  it('roundtrips, and sizeOfVarint is the encoded length', () => {
    fc.assert(
      fc.property(int32, (value) => {
        const bytes = encodeVarint(value);
        expect(sizeOfVarint(value)).toBe(bytes.length);
        const r = reader(bytes);
        expect(r.varint()).toBe(value);
        expect(r.failure).toBeNull();
        expect(r.position).toBe(bytes.length);
      }),
      { numRuns: 2000 },
    );
  });

  it('writes the bytes kafkajs writes', () => {
    fc.assert(
      fc.property(int32, (value) => {
        expect([...encodeVarint(value)]).toEqual([...new KafkaEncoder().writeVarInt(value).buffer]);
      }),
    );
  });

  it('reports every strict prefix of an encoding as truncated', () => {
    fc.assert(
      fc.property(int32, (value) => {
        const bytes = encodeVarint(value);
        for (let length = 0; length < bytes.length; length++) {
          const r = reader(bytes.subarray(0, length));
          expect(r.varint()).toBe(0);
          expect(r.failure).toBe('truncated');
        }
      }),
    );
  });

  it('reports a sixth byte or a 33rd bit as overlong', () => {
    const sixBytes = reader([0x80, 0x80, 0x80, 0x80, 0x80, 0x00]);
    expect(sixBytes.varint()).toBe(0);
    expect(sixBytes.failure).toBe('overlong');
    const bit33 = reader([0xff, 0xff, 0xff, 0xff, 0x1f]);
    bit33.varint();
    expect(bit33.failure).toBe('overlong');
  });

  it('accepts a non-minimal encoding within five bytes, as Kafka does', () => {
    expect(reader([0x82, 0x80, 0x00]).varint()).toBe(1);
  });

  it('rejects a value outside int32 by assertion: callers validate first', () => {
    expect(() => sizeOfVarint(2 ** 31)).toThrow(/assertion failed/);
    expect(() => writeVarint(new Uint8Array(5), 0, 0.5)).toThrow(/assertion failed/);
  });
});

describe('varlong (safe integers)', () => {
  it('roundtrips, and sizeOfVarlong is the encoded length', () => {
    fc.assert(
      fc.property(safeInteger, (value) => {
        const bytes = encodeVarlong(value);
        expect(sizeOfVarlong(value)).toBe(bytes.length);
        const r = reader(bytes);
        expect(r.varlong()).toBe(value);
        expect(r.failure).toBeNull();
        expect(r.position).toBe(bytes.length);
      }),
      { numRuns: 3000 },
    );
  });

  it.each([0, -1, 1, 2 ** 31, -(2 ** 31) - 1, 2 ** 52, -(2 ** 52), Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER])(
    'encodes %d like the int64 reference and kafkajs',
    (value) => {
      const bytes = [...encodeVarlong(value)];
      expect(bytes).toEqual([...encodeInt64(BigInt(value))]);
      expect(bytes).toEqual([...new KafkaEncoder().writeVarLong(value).buffer]);
      expect(sizeOfVarlong(value)).toBe(bytes.length);
    },
  );

  it('writes the bytes of the int64 reference for every safe integer', () => {
    fc.assert(
      fc.property(safeInteger, (value) => {
        expect([...encodeVarlong(value)]).toEqual([...encodeInt64(BigInt(value))]);
      }),
      { numRuns: 2000 },
    );
  });

  it('reports int64 values beyond the safe integers as out-of-range, never rounded', () => {
    const beyond = [2n ** 53n, -(2n ** 53n), 2n ** 63n - 1n, -(2n ** 63n), BigInt(Number.MAX_SAFE_INTEGER) + 1n];
    for (const value of beyond) {
      const r = reader(encodeInt64(value));
      expect(r.varlong()).toBe(0);
      expect(r.failure).toBe('out-of-range');
    }
  });

  it('reports truncation, an eleventh byte and bits past 64 as failures', () => {
    const full = encodeInt64(-(2n ** 63n));
    expect(full.length).toBe(VARLONG_MAX_BYTES);
    for (let length = 0; length < full.length; length++) {
      const r = reader(full.subarray(0, length));
      r.varlong();
      expect(r.failure).toBe('truncated');
    }
    const elevenBytes = reader([...Array<number>(10).fill(0x80), 0x00]);
    elevenBytes.varlong();
    expect(elevenBytes.failure).toBe('overlong');
    const bit65 = reader([...Array<number>(9).fill(0xff), 0x02]);
    bit65.varlong();
    expect(bit65.failure).toBe('overlong');
  });
});

describe('VarintReader on garbage', () => {
  it('never throws, stays within its range, and keeps the first failure', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), fc.array(fc.boolean(), { maxLength: 20 }), (bytes, kinds) => {
        const r = new VarintReader(bytes, 0, bytes.length);
        let firstFailure: string | null = null;
        for (const long of kinds) {
          const value = long ? r.varlong() : r.varint();
          expect(Number.isSafeInteger(value)).toBe(true);
          expect(r.position).toBeGreaterThanOrEqual(0);
          expect(r.position).toBeLessThanOrEqual(bytes.length);
          firstFailure ??= r.failure;
          expect(r.failure).toBe(firstFailure);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('after a failure, reads return 0 at the end of the range', () => {
    const r = reader([0x80]);
    r.varint();
    expect(r.failure).toBe('truncated');
    expect(r.position).toBe(1);
    expect(r.varlong()).toBe(0);
    expect(r.failure).toBe('truncated');
  });
});

/**
 * VarintReader as the format defines it, one byte at a time in bigint: what a read returns and
 * where it leaves the reader, failures included (position to `end`, value 0, first reason kept).
 */
class ReferenceReader {
  failure: string | null = null;
  constructor(readonly bytes: Uint8Array, public position: number, readonly end: number) {}

  read(long: boolean): number {
    let unsigned = 0n;
    let position = this.position;
    for (let i = 0; ; i++) {
      if (position >= this.end) return this.fail('truncated');
      const byte = this.bytes[position++]!;
      if (!long && i === 4 && byte > 0x0f) return this.fail('overlong');
      if (long && i === 9 && byte > 0x01) return this.fail('overlong');
      unsigned |= BigInt(byte & 0x7f) << BigInt(7 * i);
      if (byte < 0x80) break;
    }
    const value = Number((unsigned >> 1n) ^ -(unsigned & 1n));
    if (!Number.isSafeInteger(value)) return this.fail('out-of-range');
    this.position = position;
    return value;
  }

  private fail(failure: string): number {
    this.failure ??= failure;
    this.position = this.end;
    return 0;
  }
}

describe('VarintReader against a reference reader', () => {
  // Mostly one-byte values, continuation bytes and the bytes that end a long read.
  const byte = fc.oneof(fc.integer({ min: 0, max: 0x7f }), fc.constantFrom(0x80, 0xff, 0x0f, 0x10, 0x01, 0x02), fc.integer({ min: 0, max: 0xff }));
  const step = fc.oneof(
    fc.constantFrom<{ kind: 'varint' | 'varlong' }>({ kind: 'varint' }, { kind: 'varlong' }),
    // A caller moving the reader, as the record decoder does past fields (also after a failure).
    fc.nat().map((to) => ({ kind: 'seek' as const, to })),
  );

  it('returns the same values, positions and first failure, never reading past `end`', () => {
    fc.assert(
      fc.property(fc.array(byte, { maxLength: 40 }), fc.nat(), fc.nat(), fc.array(step, { maxLength: 25 }), (list, a, b, steps) => {
        const bytes = Uint8Array.from(list);
        const start = list.length === 0 ? 0 : a % (list.length + 1);
        const end = start + (list.length === 0 ? 0 : b % (list.length - start + 1));
        const actual = new VarintReader(bytes, start, end);
        const expected = new ReferenceReader(bytes, start, end);
        for (const s of steps) {
          if (s.kind === 'seek') {
            const to = start + (s.to % (end - start + 1));
            actual.position = to;
            expected.position = to;
          } else {
            const long = s.kind === 'varlong';
            expect(long ? actual.varlong() : actual.varint()).toBe(expected.read(long));
          }
          expect(actual.position).toBe(expected.position);
          expect(actual.failure).toBe(expected.failure);
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('at the end of its range, fails truncated with 0, for both widths and from the first read', () => {
    for (const long of [false, true]) {
      const r = new VarintReader(Uint8Array.from([0x02, 0x04]), 1, 1); // a one-byte value sits just past `end`
      expect(long ? r.varlong() : r.varint()).toBe(0);
      expect(r.failure).toBe('truncated');
      expect(r.position).toBe(1);
      // Moved back onto a one-byte value after the failure: read as before, the failure kept.
      r.position = 0;
      expect(long ? r.varlong() : r.varint()).toBe(1);
      expect(r.position).toBe(1);
      expect(r.failure).toBe('truncated');
    }
  });
});
