import { encodeBatch } from '@brook/protocol';
import { describe, expect, it } from 'vitest';
import { decodeRecord, toRecordInput } from './record-codec.js';

describe('WAL record codec', () => {
  it('takes a timestamp from 0 to 2^52 ms, the clock reading when there is none, and refuses any other', () => {
    expect(toRecordInput({ value: null, timestamp: 0 }, 7).timestamp).toBe(0);
    expect(toRecordInput({ value: null, timestamp: 2 ** 52 }, 7).timestamp).toBe(2 ** 52);
    expect(toRecordInput({ value: null }, 7).timestamp).toBe(7);
    for (const timestamp of [-1, 2 ** 52 + 1, 1.5, Number.NaN]) {
      expect(() => toRecordInput({ value: null, timestamp }, 7), String(timestamp)).toThrow(expect.objectContaining({
        code: 'INVALID_REQUEST', message: expect.stringContaining(`got ${timestamp}`), details: { timestamp },
      }));
    }
  });

  it('refuses a RECORD frame body that holds other than one record', () => {
    const two = encodeBatch([{ key: null, value: null, timestamp: 1 }, { key: null, value: null, timestamp: 1 }]);
    expect(() => decodeRecord(two, 9 + two.length)).toThrow(expect.objectContaining({ code: 'CORRUPT_BATCH', details: { reason: 'bad-record' } }));
  });
});
