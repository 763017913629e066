import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decodeChanges, encodeChangesList, type PartitionChanges } from './journal-codec.js';

const encodeChanges = (changes: PartitionChanges): Uint8Array => encodeChangesList([changes])[0]!;

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

  it('still read the JSON form journals were written in before 22 Nov 2026', () => {
    const json = new TextEncoder().encode('{"p":0,"r":"120","f":[["120","150"]],"n":[["121",3]],"a":[["120","122"]]}');
    expect(decodeChanges(json, 'j')).toEqual({ p: 0, r: 120n, f: [[120n, 150n]], n: [[121n, 3]], a: [[120n, 122n]] });
    expect(decodeChanges(new TextEncoder().encode('{"p":3,"a":[["5","6"]]}'), 'j')).toEqual({ p: 3, a: [[5n, 6n]] });
  });

  it('refuse a record that is neither form, or whose lengths do not add up, with CORRUPT_METADATA naming the file', () => {
    const good = encodeChanges({ p: 1, a: [[1n, 2n]] });
    const cases = [
      new Uint8Array([2, ...good.subarray(1)]), // unknown format
      good.subarray(0, good.length - 1), // truncated
      new Uint8Array([...good, 0]), // a byte too many
      good.subarray(0, 5), // shorter than a header
      new TextEncoder().encode('{"p": 1,'), // broken JSON
    ];
    for (const bytes of cases) {
      expect(() => decodeChanges(bytes, 'groups/t/g/journal-0')).toThrow(expect.objectContaining({
        code: 'CORRUPT_METADATA', details: { file: 'groups/t/g/journal-0' },
      }) as Error);
    }
  });
});
