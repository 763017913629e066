import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { crc32c } from '../crc32c.js';
import { isBrookError } from '../errors.js';
import { decodeStoredBatch, encodeBatch, type RecordInput } from '../record-batch.js';
import type { StoredRecord } from '../stored-record.js';
import { recordArbitrary } from '../record-batch.test-support.js';
import { DELIVER_FRAME_OVERHEAD_BYTES_MAX, DELIVERY_ENTRY_BYTES, decodeDeliveries, deliveryBytes, encodeDeliverFrame, type WireDelivery } from './deliveries.js';
import { decodeFrame } from './frame.js';

const text = new TextEncoder();

/** The records of one stored batch at `baseOffset`, as the log's reader decodes them. */
function stored(inputs: RecordInput[], baseOffset: bigint): StoredRecord[] {
  return decodeStoredBatch(encodeBatch(inputs, { baseOffset })).records;
}

function decodeFrameDeliveries(frame: Uint8Array) {
  const { json, data } = decodeFrame(frame);
  return decodeDeliveries(json['first'] as number, json['count'] as number, data);
}

function expected(deliveries: readonly WireDelivery[], first: number) {
  return deliveries.map(({ partition, deliveryCount, record }, index) => ({
    deliveryId: first + index, partition, deliveryCount,
    offset: record.offset, timestamp: record.timestamp, key: record.key, value: record.value, headers: record.headers,
  }));
}

const input = (value: string | null, timestamp: number, key: string | null = null): RecordInput => ({
  key: key === null ? null : text.encode(key), value: value === null ? null : text.encode(value), headers: [{ key: 'h', value: null }], timestamp,
});

describe('DELIVER frame', () => {
  it('carries records from several stored batches, out of order, with their offsets, timestamps and attempts', () => {
    const early = stored([input('a', 1_700_000_000_000, 'k'), input('b', 1_700_000_000_005), input(null, 1_600_000_000_000)], 9_007_199_254_740_990n);
    const other = stored([input('', -5, 'x')], 0n);
    const deliveries: WireDelivery[] = [
      { partition: 2, deliveryCount: 1, record: early[0]! },
      { partition: 2, deliveryCount: 1, record: early[1]! }, // neighbours: copied as one run
      { partition: 0, deliveryCount: 3, record: other[0]! },
      { partition: 2, deliveryCount: 2, record: early[2]! },
    ];
    const frame = encodeDeliverFrame(7, 40, deliveries);
    expect(decodeFrame(frame).requestId).toBe(7);
    expect(decodeFrameDeliveries(frame)).toEqual(expected(deliveries, 40));
    expect(decodeFrame(frame).data.length).toBe(4 + deliveries.reduce((sum, delivery) => sum + deliveryBytes(delivery), 0));
  });

  it('does not join records of two stored batches into one run where one ends at the offset the other starts at', () => {
    // Same layout, other values: the second batch's second record starts where the first batch's first one ends.
    const first = stored([input('a0', 1), input('a1', 2)], 0n);
    const second = stored([input('b0', 1), input('b1', 2)], 0n);
    expect(second[1]!.sourceStart).toBe(first[0]!.sourceEnd);
    const deliveries: WireDelivery[] = [first[0]!, second[1]!].map((record) => ({ partition: 0, deliveryCount: 1, record }));
    expect(decodeFrameDeliveries(encodeDeliverFrame(1, 0, deliveries)).map((delivery) => new TextDecoder().decode(delivery.value!))).toEqual(['a0', 'b1']);
  });

  it('lays out the data as docs/protocol.md says: CRC, entries, then the stored records byte for byte', () => {
    const [record] = stored([input('v', 1_700_000_000_123, 'k')], 0x0102030405n);
    const { data } = decodeFrame(encodeDeliverFrame(9, 0, [{ partition: 3, deliveryCount: 2, record: record! }]));
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    expect(view.getUint32(0)).toBe(crc32c(data, 4, data.length));
    expect([...data.subarray(4, 4 + DELIVERY_ENTRY_BYTES)]).toEqual([
      0, 0, 0, 3, // partition
      0, 0, 0, 0x01, 0x02, 0x03, 0x04, 0x05, // offset
      0, 0, 0, 2, // deliveryCount
      ...[0, 0, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x7b], // timestamp 1_700_000_000_123
    ]);
    expect([...data.subarray(4 + DELIVERY_ENTRY_BYTES)]).toEqual([...record!.source.subarray(record!.sourceStart, record!.sourceEnd)]);
  });

  it("carries a tail reader's lostToRetention as a decimal string, and no such field when it is 0", () => {
    const deliveries: WireDelivery[] = [{ partition: 0, deliveryCount: 1, record: stored([input('a', 1)], 5n)[0]! }];
    expect(decodeFrame(encodeDeliverFrame(1, 0, deliveries, 9_007_199_254_740_993n)).json).toEqual({ first: 0, count: 1, lostToRetention: '9007199254740993' });
    expect(decodeFrame(encodeDeliverFrame(1, 0, deliveries, 0n)).json).toEqual({ first: 0, count: 1 });
  });

  it('round-trips any records, in any order and any selection (property)', () => {
    const batches = fc.array(fc.array(recordArbitrary, { minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 4 });
    fc.assert(
      fc.property(batches, fc.array(fc.nat(), { minLength: 1, maxLength: 12 }), fc.nat({ max: 2 ** 40 }), (inputs, picks, first) => {
        const records = inputs.flatMap((batch, index) => stored(batch, BigInt(index) * 1000n));
        const deliveries = picks.map((pick, index) => ({ partition: pick % 3, deliveryCount: 1 + (index % 4), record: records[pick % records.length]! }));
        expect(decodeFrameDeliveries(encodeDeliverFrame(1, first, deliveries))).toEqual(expected(deliveries, first));
      }),
      { numRuns: 200 },
    );
  });

  it('turns any corrupted byte of the data into a coded error (property)', () => {
    const records = stored([input('one', 1, 'k'), input('two', 2), input('three', 3)], 10n);
    const deliveries = records.map((record) => ({ partition: 0, deliveryCount: 1, record }));
    const { json, data } = decodeFrame(encodeDeliverFrame(1, 0, deliveries));
    fc.assert(
      fc.property(fc.nat({ max: data.length - 1 }), fc.integer({ min: 1, max: 255 }), (at, flip) => {
        const broken = data.slice();
        broken[at]! ^= flip;
        const error = catchError(() => decodeDeliveries(json['first'] as number, json['count'] as number, broken));
        expect(isBrookError(error, 'CORRUPT_BATCH')).toBe(true);
      }),
    );
  });

  it('refuses a count or first that does not fit the data, and trailing or missing record bytes', () => {
    const deliveries = stored([input('x', 1), input('y', 2)], 0n).map((record) => ({ partition: 0, deliveryCount: 1, record }));
    const { data } = decodeFrame(encodeDeliverFrame(1, 0, deliveries));
    expect(catchError(() => decodeDeliveries(0, 0, data))).toMatchObject({ code: 'INVALID_REQUEST' });
    expect(catchError(() => decodeDeliveries(-1, 2, data))).toMatchObject({ code: 'INVALID_REQUEST' });
    expect(catchError(() => decodeDeliveries(0, 1000, data))).toMatchObject({ code: 'INVALID_REQUEST' });
    // One entry fewer: the CRC still matches bytes that no longer split as the count says.
    expect(catchError(() => decodeDeliveries(0, 1, data))).toMatchObject({ code: 'CORRUPT_BATCH' });
    expect(DELIVERY_ENTRY_BYTES).toBe(24);
    // Entries that exactly fill the data fit the count; the records they promise are missing.
    const entriesOnly = new Uint8Array(4 + DELIVERY_ENTRY_BYTES);
    new DataView(entriesOnly.buffer).setUint32(0, crc32c(entriesOnly, 4, entriesOnly.length));
    expect(catchError(() => decodeDeliveries(0, 1, entriesOnly))).toMatchObject({ code: 'CORRUPT_BATCH' });
    expect(catchError(() => decodeDeliveries(0, 2, entriesOnly))).toMatchObject({ code: 'INVALID_REQUEST' });
  });

  it('refuses a first past 2^53 - 1 or not an integer, and a count not an integer, with INVALID_REQUEST', () => {
    const deliveries = stored([input('x', 1)], 0n).map((record) => ({ partition: 0, deliveryCount: 1, record }));
    const { data } = decodeFrame(encodeDeliverFrame(1, Number.MAX_SAFE_INTEGER, deliveries));
    expect(decodeDeliveries(Number.MAX_SAFE_INTEGER, 1, data)).toHaveLength(1);
    for (const [first, count] of [[Number.MAX_SAFE_INTEGER + 1, 1], [0.5, 1], [Number.NaN, 1], [0, 1.5], [0, Number.NaN]] as const) {
      expect(catchError(() => decodeDeliveries(first, count, data)), `${first} ${count}`).toMatchObject({ code: 'INVALID_REQUEST', details: { first, count } });
    }
  });

  it('a frame with the widest json takes DELIVER_FRAME_OVERHEAD_BYTES_MAX beside its deliveries\' bytes', () => {
    const delivery: WireDelivery = { partition: 0, deliveryCount: 1, record: stored([input('x', 1)], 0n)[0]! };
    // One delivery: the count is 1, not MAX_SAFE_INTEGER's 16 digits; every other field at its widest.
    const frame = encodeDeliverFrame(0xffffffff, Number.MAX_SAFE_INTEGER, [delivery], (1n << 63n) - 1n);
    expect(frame.length).toBe(DELIVER_FRAME_OVERHEAD_BYTES_MAX - (String(Number.MAX_SAFE_INTEGER).length - 1) + deliveryBytes(delivery));
  });
});

function catchError(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  throw new Error('expected an error');
}
