import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  BATCH_HEADER_BYTES,
  BATCH_LOG_OVERHEAD_BYTES,
  checkBatch,
  decodeBatch,
  encodeBatch,
  readBatchHeader,
  setBaseOffset,
  type EncodeBatchOptions,
  type RecordInput,
} from './record-batch.js';
import { encodedArbitrary, expectBrookError, expectCorrupt, reseal } from './record-batch.test-support.js';

const utf8 = (text: string) => new TextEncoder().encode(text);

describe('encodeBatch → decodeBatch', () => {
  it('roundtrips arbitrary records and options', () => {
    fc.assert(
      fc.property(encodedArbitrary, ({ records, options, bytes }) => {
        const { header, records: decoded } = decodeBatch(bytes);
        const timestamps = records.map((r) => r.timestamp);
        expect(header).toEqual({
          baseOffset: options.baseOffset,
          batchLength: bytes.length - BATCH_LOG_OVERHEAD_BYTES,
          partitionLeaderEpoch: options.partitionLeaderEpoch,
          magic: 2,
          crc: header.crc,
          attributes: 0,
          lastOffsetDelta: records.length - 1,
          baseTimestamp: timestamps[0],
          maxTimestamp: Math.max(...timestamps),
          producerId: options.producerId,
          producerEpoch: options.producerEpoch,
          baseSequence: options.baseSequence,
          recordCount: records.length,
        });
        expect(decoded).toEqual(
          records.map((r, i) => ({
            offset: options.baseOffset + BigInt(i),
            timestamp: r.timestamp,
            key: r.key,
            value: r.value,
            headers: r.headers ?? [],
          })),
        );
      }),
      { numRuns: 1000 },
    );
  });

  it('uses the documented defaults', () => {
    const { header, records } = decodeBatch(encodeBatch([{ key: null, value: utf8('v'), timestamp: 5 }]));
    expect(header).toMatchObject({ baseOffset: 0n, producerId: -1n, producerEpoch: -1, baseSequence: -1, partitionLeaderEpoch: 0 });
    expect(records[0]!.headers).toEqual([]);
  });

  it('returns keys and values as views of the decoded buffer, not copies', () => {
    const bytes = encodeBatch([{ key: utf8('key'), value: utf8('value'), timestamp: 0, headers: [{ key: 'h', value: utf8('x') }] }]);
    const [record] = decodeBatch(bytes).records;
    for (const view of [record!.key!, record!.value!, record!.headers[0]!.value!]) {
      expect(view.buffer).toBe(bytes.buffer);
      expect(view.byteOffset).toBeGreaterThanOrEqual(BATCH_HEADER_BYTES);
    }
    bytes[bytes.length - 1]! ^= 0xff; // the header value, the batch's last byte
    expect(record!.headers[0]!.value![0]).toBe('x'.charCodeAt(0) ^ 0xff);
  });

  it('decodes a batch at a position inside a larger buffer', () => {
    const first = encodeBatch([{ key: null, value: utf8('one'), timestamp: 1 }], { baseOffset: 10n });
    const second = encodeBatch([{ key: null, value: utf8('two'), timestamp: 2 }], { baseOffset: 11n });
    const buffer = new Uint8Array(3 + first.length + second.length);
    buffer.set(first, 3);
    buffer.set(second, 3 + first.length);
    const check = checkBatch(buffer, 3);
    expect(check.ok && check.size).toBe(first.length);
    const { header, records } = decodeBatch(buffer, 3 + first.length);
    expect(records.map((r) => [r.offset, new TextDecoder().decode(r.value!)])).toEqual([[11n, 'two']]);
    expect(readBatchHeader(buffer, 3 + first.length)).toEqual(header);
    expect(header.baseOffset).toBe(11n);
    expect(checkBatch(buffer, 3, 3 + first.length - 1)).toMatchObject({ ok: false, reason: 'truncated' });
  });

  it('keeps a leading U+FEFF in a header key and turns a lone surrogate into U+FFFD', () => {
    const headers = [
      { key: '\uFEFFbom', value: null },
      { key: 'lone \uD800 surrogate', value: null },
    ];
    const [record] = decodeBatch(encodeBatch([{ key: null, value: null, timestamp: 0, headers }])).records;
    expect(record!.headers.map((h) => h.key)).toEqual(['\uFEFFbom', 'lone \uFFFD surrogate']);
  });

  it('gives every record of a LogAppendTime batch the batch maxTimestamp', () => {
    const bytes = encodeBatch([
      { key: null, value: null, timestamp: 100 },
      { key: null, value: null, timestamp: 300 },
    ]);
    bytes[22]! |= 0x08; // attributes low byte: timestamp type bit
    expect(decodeBatch(reseal(bytes)).records.map((r) => r.timestamp)).toEqual([300, 300]);
  });
});

describe('encodeBatch rejects bad input with INVALID_REQUEST', () => {
  const record: RecordInput = { key: null, value: utf8('v'), timestamp: 0 };
  it.each<[string, readonly RecordInput[], EncodeBatchOptions?]>([
    ['no records', []],
    ['a fractional timestamp', [{ ...record, timestamp: 1.5 }]],
    ['a NaN timestamp', [{ ...record, timestamp: Number.NaN }]],
    ['a timestamp beyond the safe integers', [{ ...record, timestamp: 2 ** 53 }]],
    [
      'a timestamp delta beyond the safe integers',
      [
        { ...record, timestamp: Number.MIN_SAFE_INTEGER },
        { ...record, timestamp: Number.MAX_SAFE_INTEGER },
      ],
    ],
    ['a negative baseOffset', [record], { baseOffset: -1n }],
    ['a baseOffset past int64', [record], { baseOffset: 2n ** 63n }],
    ['a producerId past int64', [record], { producerId: -(2n ** 63n) - 1n }],
    ['a producerEpoch past int16', [record], { producerEpoch: 0x8000 }],
    ['a baseSequence past int32', [record], { baseSequence: 2 ** 31 }],
    ['a fractional partitionLeaderEpoch', [record], { partitionLeaderEpoch: 0.5 }],
  ])('%s', (_name, records, options) => {
    expectBrookError(() => encodeBatch(records, options), 'INVALID_REQUEST');
  });
});

describe('encodeBatch refuses a batch past the int32 batchLength with MESSAGE_TOO_LARGE', () => {
  // Fields that only say how long they are: encodeBatch sizes every record before it allocates or
  // writes a byte, so the limit is checked without 2 GiB of data.
  const sized = (length: number) => ({ length }) as unknown as Uint8Array;

  it('for one field past int32', () => {
    const error = expectBrookError(() => encodeBatch([{ key: null, value: sized(2 ** 31), timestamp: 0 }]), 'MESSAGE_TOO_LARGE');
    expect(error.details).toEqual({ size: 2 ** 31 });
  });

  it('for records that only add up past int32', () => {
    const records = [0, 1].map(() => ({ key: null, value: sized(2 ** 30), timestamp: 0 }));
    const error = expectBrookError(() => encodeBatch(records), 'MESSAGE_TOO_LARGE');
    expect(error.details['size']).toBeGreaterThan(2 ** 31);
  });
});

describe('header access', () => {
  it('readBatchHeader reads what checkBatch validates, and needs 61 bytes', () => {
    const bytes = encodeBatch([{ key: null, value: utf8('v'), timestamp: 7 }], { baseOffset: 3n, producerId: 9n });
    const check = checkBatch(bytes);
    expect(check.ok).toBe(true);
    expect(readBatchHeader(bytes)).toEqual(check.ok && check.header);
    expectBrookError(() => readBatchHeader(bytes.subarray(0, BATCH_HEADER_BYTES - 1)), 'CORRUPT_BATCH');
    expectBrookError(() => readBatchHeader(bytes, bytes.length - BATCH_HEADER_BYTES + 1), 'CORRUPT_BATCH');
  });

  it('setBaseOffset moves every offset without touching the CRC', () => {
    const bytes = encodeBatch([
      { key: null, value: utf8('a'), timestamp: 0 },
      { key: null, value: utf8('b'), timestamp: 0 },
    ]);
    const crcBefore = readBatchHeader(bytes).crc;
    setBaseOffset(bytes, 2n ** 62n);
    expect(checkBatch(bytes).ok).toBe(true);
    expect(readBatchHeader(bytes).crc).toBe(crcBefore);
    expect(decodeBatch(bytes).records.map((r) => r.offset)).toEqual([2n ** 62n, 2n ** 62n + 1n]);
    expectBrookError(() => setBaseOffset(bytes, -1n), 'INVALID_REQUEST');
    expect(() => setBaseOffset(bytes.subarray(0, BATCH_HEADER_BYTES - 1), 0n)).toThrow(/assertion failed/);
  });
});

describe('checkBatch', () => {
  const bytes = encodeBatch([{ key: utf8('k'), value: utf8('v'), timestamp: 0 }]);

  it('bounds batchLength by maxBatchBytes and the empty-batch minimum', () => {
    expect(checkBatch(bytes, 0, bytes.length, bytes.length - 13)).toMatchObject({ ok: false, reason: 'bad-length' });
    expect(checkBatch(bytes, 0, bytes.length, bytes.length - 12).ok).toBe(true);
    const short = bytes.slice();
    new DataView(short.buffer).setInt32(8, 48);
    expect(checkBatch(short)).toMatchObject({ ok: false, reason: 'bad-length' });
    // Twelve bytes are enough to read batchLength: a bad one is bad-length, not truncated.
    expect(checkBatch(short.subarray(0, BATCH_LOG_OVERHEAD_BYTES))).toMatchObject({ ok: false, reason: 'bad-length' });
    expect(checkBatch(short.subarray(0, BATCH_LOG_OVERHEAD_BYTES - 1))).toMatchObject({ ok: false, reason: 'truncated' });
  });

  it('accepts an empty batch (recordCount 0), as compaction leaves in Kafka', () => {
    const empty = bytes.slice(0, BATCH_HEADER_BYTES);
    new DataView(empty.buffer).setInt32(57, 0);
    expect(decodeBatch(reseal(empty)).records).toEqual([]);
  });
});

describe('decodeBatch with crcVerified', () => {
  const bytes = encodeBatch([{ key: utf8('k'), value: utf8('v'), timestamp: 7 }], { baseOffset: 3n });

  it('skips the CRC and nothing else', () => {
    const badCrc = bytes.slice();
    badCrc[17]! ^= 0xff;
    expectCorrupt(() => decodeBatch(badCrc), 'bad-crc');
    expect(decodeBatch(badCrc, 0, { crcVerified: true }).records).toEqual(decodeBatch(bytes).records);
    const badMagic = bytes.slice();
    badMagic[16] = 3;
    expectCorrupt(() => decodeBatch(badMagic, 0, { crcVerified: true }), 'bad-magic');
    expectCorrupt(() => decodeBatch(bytes.subarray(0, bytes.length - 1), 0, { crcVerified: true }), 'truncated');
  });
});

describe('decodeBatch rejects records that parse badly, behind a valid CRC', () => {
  // Each record is [k, v] with no headers: at 61 length 8, then attributes, timestampDelta,
  // offsetDelta (64), keyLength 1 (65), 'k', valueLength 1 (67), 'v', headerCount 0 (69).
  // A second record repeats this at 70..78.
  type Patch = (bytes: Uint8Array, view: DataView) => void;
  const valid = (recordCount: number) =>
    encodeBatch(Array.from({ length: recordCount }, () => ({ key: utf8('k'), value: utf8('v'), timestamp: 0 })));
  const patched = (patch: Patch, recordCount = 1) => {
    const bytes = valid(recordCount);
    patch(bytes, new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    return reseal(bytes);
  };

  it('has the layout the cases below assume', () => {
    const record = [0x10, 0, 0, 0, 0x02, 0x6b, 0x02, 0x76, 0];
    expect([...valid(2).subarray(61)]).toEqual([...record, ...record.map((b, i) => (i === 3 ? 0x02 : b))]);
  });

  it.each<[string, Patch, 'bad-record' | 'bad-header', number?]>([
    ['recordCount one more than the records', (_b, v) => v.setInt32(57, 2), 'bad-record'],
    ['recordCount one less than the records', (_b, v) => v.setInt32(57, 0), 'bad-record'],
    ['a negative recordCount', (_b, v) => v.setInt32(57, -1), 'bad-header'],
    ['a compressed batch (gzip)', (_b, v) => v.setInt16(21, 1), 'bad-header'],
    ['a record length past the batch end', (b) => (b[61] = 0x12), 'bad-record'],
    ['a record length shorter than its fields', (b) => (b[61] = 0x0e), 'bad-record'],
    ['a record length longer than its fields, though the next record still parses', (b) => (b[61] = 0x12), 'bad-record', 2],
    ['a negative record length', (b) => (b[61] = 0x01), 'bad-record'],
    ['a key length past the record end', (b) => (b[65] = 0x0a), 'bad-record'],
    ['a key length below -1', (b) => (b[65] = 0x03), 'bad-record'],
    ['an offsetDelta beyond lastOffsetDelta', (b) => (b[64] = 0x02), 'bad-record'],
    ['offsetDeltas that do not increase', (b) => (b[73] = 0x00), 'bad-record', 2],
    ['a header count with no headers behind it', (b) => (b[69] = 0x02), 'bad-record'],
    ['a six-byte offsetDelta varint', (b) => b.set([0x80, 0x80, 0x80, 0x80, 0x80, 0x00], 64), 'bad-record'],
    ['a baseTimestamp beyond 2^53', (_b, v) => v.setBigInt64(27, 2n ** 53n), 'bad-header'],
    ['a maxTimestamp beyond 2^53', (_b, v) => v.setBigInt64(35, -(2n ** 60n)), 'bad-header'],
    ['a record timestamp (baseTimestamp + timestampDelta) beyond 2^53', (b, v) => {
      v.setBigInt64(27, BigInt(Number.MAX_SAFE_INTEGER));
      b[63] = 0x02; // timestampDelta 1
    }, 'bad-record'],
  ])('%s', (_name, patch, reason, recordCount) => {
    expectCorrupt(() => decodeBatch(patched(patch, recordCount)), reason);
    expectCorrupt(() => decodeBatch(patched(patch, recordCount), 0, { crcVerified: true }), reason);
  });

  it('a header value length past the record end, in a buffer that ends with the batch', () => {
    // [k, v] with header h: x; the header value length is at 72, its byte the batch's last.
    const bytes = encodeBatch([{ key: utf8('k'), value: utf8('v'), headers: [{ key: 'h', value: utf8('x') }], timestamp: 0 }]).slice();
    expect(bytes.length).toBe(74);
    bytes[72] = 0x7e; // 63
    expectCorrupt(() => decodeBatch(reseal(bytes)), 'bad-record');
  });

  it('decodes offsets with a gap (as compaction leaves them) as baseOffset + offsetDelta', () => {
    const bytes = patched((b, v) => {
      b[73] = 0x04; // the second record's offsetDelta: 2
      v.setInt32(23, 2); // lastOffsetDelta
    }, 2);
    setBaseOffset(bytes, 10n);
    expect(decodeBatch(bytes).records.map((r) => r.offset)).toEqual([10n, 12n]);
  });

  it('names the record it failed on', () => {
    const bytes = patched((b) => (b[65] = 0x0a));
    const error = expectBrookError(() => decodeBatch(bytes), 'CORRUPT_BATCH');
    expect(error.details).toMatchObject({ reason: 'bad-record', position: 0, recordIndex: 0, recordPosition: 61 });
  });
});
