import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decodeChanges, encodeChangesList, type PartitionChanges } from './journal-codec.js';

const encodeChanges = (changes: PartitionChanges): Uint8Array => encodeChangesList([changes])[0]!;

/** A record's 18-byte header alone (binary format, partition 0), with the given field values. */
function header(fields: { hasReset?: number; first?: number; counts?: number; acked?: number }): Uint8Array {
  const bytes = new Uint8Array(18);
  const view = new DataView(bytes.buffer);
  view.setUint8(0, 1);
  view.setUint8(5, fields.hasReset ?? 0);
  view.setInt32(6, fields.first ?? 0);
  view.setInt32(10, fields.counts ?? 0);
  view.setInt32(14, fields.acked ?? 0);
  return bytes;
}

const offset = fc.bigInt({ min: 0n, max: 2n ** 53n });
const range = fc.tuple(offset, offset).map(([a, b]): [bigint, bigint] => (a <= b ? [a, b] : [b, a]));
const changes: fc.Arbitrary<PartitionChanges> = fc.record(
  {
    p: fc.integer({ min: 0, max: 1023 }),
    r: offset,
    f: fc.array(range, { minLength: 1, maxLength: 20 }),
    n: fc.array(fc.tuple(offset, fc.integer({ min: 0, max: 1_000_000 })), { minLength: 1, maxLength: 20 }),
    a: fc.array(range, { minLength: 1, maxLength: 20 }),
  },
  { requiredKeys: ['p'] },
);

describe('group journal records', () => {
  it('decode what they encode, for any changes (property)', () => {
    fc.assert(fc.property(changes, (written) => {
      expect(decodeChanges(encodeChanges(written), 'j')).toEqual(written);
    }), { numRuns: 500 });
  });

  it('decode what they encode when a flush encodes several into one buffer (property)', () => {
    fc.assert(fc.property(fc.array(changes, { maxLength: 6 }), (written) => {
      const encoded = encodeChangesList(written);
      expect(encoded.map((bytes) => decodeChanges(bytes, 'j'))).toEqual(written);
      expect(encoded.map((bytes) => bytes.length)).toEqual(written.map((c) => encodeChanges(c).length));
    }), { numRuns: 300 });
  });

  it('are laid out as the grammar says (golden bytes)', () => {
    const bytes = encodeChanges({ p: 2, r: 7n, f: [[7n, 9n]], n: [[8n, 3]], a: [[7n, 8n]] });
    const hex = Buffer.from(bytes).toString('hex');
    expect(hex).toBe(
      '01' + '00000002' + '01' + '00000001' + '00000001' + '00000001'
      + '0000000000000007'
      + '0000000000000007' + '0000000000000009'
      + '0000000000000008' + '00000003'
      + '0000000000000007' + '0000000000000008',
    );
  });

  it('lay out a record of a partition alone, no reset and no ranges, as its header only (golden bytes)', () => {
    const hex = Buffer.from(encodeChanges({ p: 0x01020304 })).toString('hex');
    expect(hex).toBe('01' + '01020304' + '00' + '00000000' + '00000000' + '00000000');
    expect(decodeChanges(Buffer.from(hex, 'hex'), 'j')).toEqual({ p: 0x01020304 });
  });

  it('take a partition and an attempt count up to int32 max, and refuse (as a bug) one outside int32', () => {
    const max = 0x7fffffff;
    const written = { p: max, n: [[1n, max]] as [bigint, number][] };
    expect(decodeChanges(encodeChanges(written), 'j')).toEqual(written);
    for (const p of [max + 1, -1, 0.5]) {
      expect(() => encodeChanges({ p }), `partition ${p}`).toThrow('journal partition outside int32');
    }
    for (const count of [max + 1, -1, 0.5]) {
      expect(() => encodeChanges({ p: 0, n: [[1n, count]] }), `count ${count}`).toThrow('journal attempt count outside int32');
    }
  });

  it('still read the JSON form journals were written in before 22 Nov 2026', () => {
    const json = new TextEncoder().encode('{"p":0,"r":"120","f":[["120","150"]],"n":[["121",3]],"a":[["120","122"]]}');
    expect(decodeChanges(json, 'j')).toEqual({ p: 0, r: 120n, f: [[120n, 150n]], n: [[121n, 3]], a: [[120n, 122n]] });
    expect(decodeChanges(new TextEncoder().encode('{"p":3,"a":[["5","6"]]}'), 'j')).toEqual({ p: 3, a: [[5n, 6n]] });
    expect(decodeChanges(new TextEncoder().encode('{"p":1,"r":"5"}'), 'j')).toEqual({ p: 1, r: 5n });
  });

  it('refuse a record that is neither form, or whose lengths do not add up, with CORRUPT_METADATA naming the file', () => {
    const good = encodeChanges({ p: 1, a: [[1n, 2n]] });
    const cases = [
      new Uint8Array([2, ...good.subarray(1)]), // unknown format
      good.subarray(0, good.length - 1), // truncated
      new Uint8Array([...good, 0]), // a byte too many
      good.subarray(0, 5), // shorter than a header
      new TextEncoder().encode('{"p": 1,'), // broken JSON
      // Header-only records whose fields are out of range, though their lengths add up to 18 bytes:
      header({ hasReset: 2 }),
      header({ hasReset: 0xff }),
      header({ first: -1, acked: 1 }),
      header({ counts: -4, first: 3 }),
      header({ acked: -1, first: 1 }),
    ];
    for (const [i, bytes] of cases.entries()) {
      expect(() => decodeChanges(bytes, 'groups/t/g/journal-0'), `case ${i}`).toThrow(expect.objectContaining({
        code: 'CORRUPT_METADATA', details: { file: 'groups/t/g/journal-0' }, message: expect.stringContaining('groups/t/g/journal-0: ') as string,
      }) as Error);
    }
  });
});
