/**
 * The benchmarks' one warm-up rule (bench:peers, bench:engine): run unmeasured rounds until one
 * is no more than SETTLED_RATIO faster than the best before it (at least ROUNDS_MIN rounds), or
 * TIME_MAX_MS has passed. A noisy slow round ends it early, so the rule can under-warm, never
 * over-warm.
 *
 * Why until the rate settles, not a fixed count: a Node process reaches its steady rate only after
 * V8 has optimized its hot functions, and the per-frame and per-batch ones run once per hundreds
 * of records. Measured on 22 Nov 2026: 200k-record rounds against one Brook server went 248k,
 * 321k, 351k, 413k, 414k, 430k records/s (the server's TurboFan jobs: 1.4 s of CPU over the first
 * three, on the same two cores); ioredis 112k -> 128k; 1M-record in-process 'none' runs 651k,
 * 749k, 760k. The fixed warm-ups before this (20k records, 50k in process) measured the first.
 */
const ROUNDS_MIN = 2;
const SETTLED_RATIO = 1.05;
const TIME_MAX_MS = 20_000;

/** Runs `round` (which returns its records/s) until the rate settles; returns how many rounds ran. */
export async function warmUntilSettled(round: () => Promise<number>): Promise<number> {
  const started = performance.now();
  let best = 0;
  for (let rounds = 1; ; rounds++) {
    const recordsPerSec = await round();
    const settled = rounds >= ROUNDS_MIN && recordsPerSec <= best * SETTLED_RATIO;
    best = Math.max(best, recordsPerSec);
    if (settled || performance.now() - started > TIME_MAX_MS) return rounds;
  }
}
