import { describe, expect, it } from 'vitest';
import { assert, isBrookError } from './errors.js';

describe('assert', () => {
  it('passes silently when the condition holds, and never looks at the detail then', () => {
    const detail = {
      get offset(): bigint {
        throw new Error('detail read on a passing check');
      },
    };
    expect(() => assert(true, 'holds', detail)).not.toThrow();
  });

  it('fails with a plain Error naming the check and each detail, bigints included', () => {
    let thrown: unknown;
    try {
      assert(false, 'attempt on an acked offset', { offset: 42n, partition: 3 });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(Error);
    expect(isBrookError(thrown)).toBe(false);
    expect((thrown as Error).message).toBe('assertion failed: attempt on an acked offset (offset 42, partition 3)');
    expect(() => assert(0, 'no detail')).toThrow(/^assertion failed: no detail$/);
  });
});
