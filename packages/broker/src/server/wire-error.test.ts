import { describe, expect, it } from 'vitest';
import { BrookError, checkFetchRequest, stableJson } from '@brook/protocol';
import { wireError } from './wire-error.js';

describe('wireError', () => {
  it('names the details that are bigints, which go as decimal strings, and no other', () => {
    const error = new BrookError('OFFSET_OUT_OF_RANGE', 'm', { offset: 12n, startOffset: 3n, endOffset: 9n, topic: 't', partition: 0, value: '12' });
    const wire = wireError(error);
    expect(wire.bigintDetails?.sort()).toEqual(['endOffset', 'offset', 'startOffset']);
    expect(JSON.parse(stableJson(wire.details)).offset).toBe('12');
  });

  it("a fetch's offset out of 0..2^63-1 is a bigint detail, sent in bigintDetails as every offset in an error's details", () => {
    for (const offset of [-1n, 1n << 63n]) {
      let refused: unknown;
      try {
        checkFetchRequest({ topic: 't', partition: 0, offset });
      } catch (error) {
        refused = error;
      }
      expect(refused).toMatchObject({ code: 'INVALID_REQUEST', details: { field: 'offset', offset } });
      const wire = wireError(refused);
      expect(wire.bigintDetails).toEqual(['offset']);
      expect(JSON.parse(stableJson(wire.details))).toEqual({ field: 'offset', offset: String(offset) });
    }
  });

  it('leaves bigintDetails out when no detail is a bigint', () => {
    expect('bigintDetails' in wireError(new BrookError('UNKNOWN_TOPIC', 'm', { topic: 't' }))).toBe(false);
  });
});
