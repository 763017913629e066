import { describe, expect, it } from 'vitest';
import { SEQUENCE_MAX, addToSequence } from './producer-sequence.js';

describe('addToSequence', () => {
  it('wraps from 2^31-1 to 0, as Kafka clients number records', () => {
    expect(addToSequence(5, 3)).toBe(8);
    expect(addToSequence(SEQUENCE_MAX - 3, 3)).toBe(SEQUENCE_MAX);
    expect(addToSequence(SEQUENCE_MAX, 1)).toBe(0);
    expect(addToSequence(SEQUENCE_MAX - 1, 3)).toBe(1);
  });
});
