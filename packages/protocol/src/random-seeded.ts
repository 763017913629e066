import { assert } from './errors.js';
import type { Random } from './random.js';

/**
 * splitmix32 (a golden-ratio counter through murmur3's fmix32 finalizer): turns any 32-bit seed,
 * including 0 and small consecutive ones, into well-mixed state words, which sfc32 needs (a
 * poorly mixed start gives correlated early outputs).
 */
function splitmix32(state: number): { state: number; value: number } {
  const next = (state + 0x9e3779b9) | 0;
  let z = next;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return { state: next, value: (z ^ (z >>> 16)) >>> 0 };
}

const TWO_POW_32 = 2 ** 32;

/**
 * A seeded `Random`: sfc32 (Chris Doty-Humphrey's Small Fast Chaotic generator, passes PractRand,
 * only 32-bit integer ops, so it is fast in JavaScript). The same seed gives the same sequence on
 * every platform, which is what lets a failing simulation replay from its seed.
 */
export class SeededRandom implements Random {
  /** The seed this stream started from, as an unsigned 32-bit integer; log it to replay a run. */
  readonly seed: number;
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  /** `seed` must be an integer; it is reduced to 32 bits. */
  constructor(seed: number) {
    assert(Number.isInteger(seed), 'seed must be an integer', { seed });
    this.seed = seed >>> 0;
    let mix = { state: this.seed, value: 0 };
    const words: number[] = [];
    for (let i = 0; i < 4; i++) {
      mix = splitmix32(mix.state);
      words.push(mix.value);
    }
    [this.a, this.b, this.c, this.d] = words as [number, number, number, number];
    // The customary warm-up: the first outputs still echo the seed words.
    for (let i = 0; i < 12; i++) this.nextUint32();
  }

  /** A uniform integer in [0, 2^32). */
  nextUint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** A float in [0, 1) with 32 bits of randomness (plenty for jitter and choices). */
  next(): number {
    return this.nextUint32() / TWO_POW_32;
  }

  /**
   * An integer in [0, maxExclusive), without modulo bias: draws at or above the largest multiple
   * of `maxExclusive` below 2^32 are rejected (at most half of them, so usually one draw).
   */
  int(maxExclusive: number): number {
    assert(Number.isInteger(maxExclusive) && maxExclusive >= 1 && maxExclusive <= TWO_POW_32, 'int() bound must be an integer in [1, 2^32]', { maxExclusive });
    const limit = TWO_POW_32 - (TWO_POW_32 % maxExclusive);
    for (;;) {
      const draw = this.nextUint32();
      if (draw < limit) return draw % maxExclusive;
    }
  }

  /**
   * A child stream seeded from this one's next output: deterministic given the parent's seed and
   * call order, and independent enough that, say, a fault injector and a workload generator each
   * get their own stream and adding draws to one does not shift the other.
   */
  fork(): SeededRandom {
    return new SeededRandom(this.nextUint32());
  }
}
