import { describe, expect, it } from 'vitest';
import { BrookError, stableJson } from '@brook/protocol';
import { wireError } from './wire-error.js';

describe('wireError', () => {
  it('names the details that are bigints, which go as decimal strings, and no other', () => {
    const error = new BrookError('OFFSET_OUT_OF_RANGE', 'm', { offset: 12n, startOffset: 3n, endOffset: 9n, topic: 't', partition: 0, value: '12' });
    const wire = wireError(error);
    expect(wire.bigintDetails?.sort()).toEqual(['endOffset', 'offset', 'startOffset']);
    expect(JSON.parse(stableJson(wire.details)).offset).toBe('12');
  });

  it('leaves bigintDetails out when no detail is a bigint', () => {
    expect('bigintDetails' in wireError(new BrookError('UNKNOWN_TOPIC', 'm', { topic: 't' }))).toBe(false);
  });
});
