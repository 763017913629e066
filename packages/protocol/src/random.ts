/**
 * Randomness as a port: the core takes a seeded `Random`, never `Math.random`, so a run can be
 * replayed from its seed.
 */
export interface Random {
  /** A float in [0, 1). */
  next(): number;
  /** An integer in [0, maxExclusive). */
  int(maxExclusive: number): number;
}
