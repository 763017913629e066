import { describe, expect, it } from 'vitest';
import { SeededRandom } from '@brook/protocol';
import { backoffDelayMs } from './subscribe-options.js';

describe('backoffDelayMs', () => {
  it('grows by the multiplier from initialMs and stops at maxMs', () => {
    const backoff = { initialMs: 100, maxMs: 1000, multiplier: 3, jitter: 0 };
    const random = new SeededRandom(1);
    expect([1, 2, 3, 4, 10].map((attempts) => backoffDelayMs(backoff, attempts, random))).toEqual([100, 300, 900, 1000, 1000]);
  });

  it('stays within [1 - jitter, 1 + jitter] of the base, and the same seed gives the same delays', () => {
    const backoff = { initialMs: 1000, maxMs: 1000, multiplier: 2, jitter: 0.2 };
    const delays = (seed: number) => {
      const random = new SeededRandom(seed);
      return Array.from({ length: 200 }, () => backoffDelayMs(backoff, 1, random));
    };
    const one = delays(7);
    expect(Math.min(...one)).toBeGreaterThanOrEqual(800);
    expect(Math.max(...one)).toBeLessThanOrEqual(1200);
    expect(new Set(one).size).toBeGreaterThan(50);
    expect(delays(7)).toEqual(one);
    expect(delays(8)).not.toEqual(one);
  });
});
