import { describe, expect, it } from 'vitest';
import { SeededRandom } from './random-seeded.js';

const draw = (random: SeededRandom, count: number): number[] => Array.from({ length: count }, () => random.nextUint32());

describe('SeededRandom', () => {
  it('gives the same sequence for the same seed and a different one for another seed', () => {
    expect(draw(new SeededRandom(7), 100)).toEqual(draw(new SeededRandom(7), 100));
    expect(draw(new SeededRandom(7), 100)).not.toEqual(draw(new SeededRandom(8), 100));
    expect(new SeededRandom(-1).seed).toBe(0xffffffff);
  });

  it('pins the sequence, so a seed replays across versions', () => {
    // If this changes, every recorded failing seed stops replaying: change it only on purpose.
    expect(draw(new SeededRandom(0), 3)).toMatchInlineSnapshot(`
      [
        4205396811,
        3543653536,
        1222415357,
      ]
    `);
  });

  it('next() is in [0, 1) and int() in [0, max)', () => {
    const random = new SeededRandom(1);
    let outOfRange = 0;
    for (let i = 0; i < 10_000; i++) {
      const x = random.next();
      const n = random.int(7);
      if (!(x >= 0 && x < 1) || !(Number.isInteger(n) && n >= 0 && n < 7)) outOfRange += 1;
    }
    expect(outOfRange).toBe(0);
    expect(random.int(1)).toBe(0);
    expect(() => random.int(0)).toThrow(/assertion failed/);
    expect(() => random.int(2.5)).toThrow(/assertion failed/);
    expect(() => random.int(2 ** 32 + 1)).toThrow(/assertion failed/);
  });

  it('int() is roughly uniform (chi-squared over 10 buckets)', () => {
    const random = new SeededRandom(12345);
    const buckets = new Array<number>(10).fill(0);
    const samples = 100_000;
    for (let i = 0; i < samples; i++) buckets[random.int(10)]! += 1;
    const expected = samples / 10;
    const chiSquared = buckets.reduce((sum, count) => sum + (count - expected) ** 2 / expected, 0);
    // 9 degrees of freedom: p = 0.001 at 27.9. A fixed seed makes this deterministic, not flaky.
    expect(chiSquared).toBeLessThan(27.9);
  });

  it('fork() gives deterministic child streams independent of the parent', () => {
    const parent = new SeededRandom(99);
    const child = parent.fork();
    const again = new SeededRandom(99).fork();
    expect(draw(child, 20)).toEqual(draw(again, 20));
    expect(draw(parent.fork(), 20)).not.toEqual(draw(new SeededRandom(99).fork(), 20));
    const sibling = new SeededRandom(99);
    sibling.fork();
    expect(draw(sibling, 20)).not.toEqual(draw(new SeededRandom(99).fork(), 20));
  });
});
