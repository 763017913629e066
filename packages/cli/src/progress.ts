/**
 * Progress of a long operation on stderr, once a second: nothing for runs shorter than that, so a
 * small produce stays quiet and a large one shows it is alive; and nothing for a second in which
 * the count did not move, so `tail -f log | brook produce t` says nothing while the log is idle
 * rather than "0 records sent" every second.
 */
import { plural } from './format.js';

export const PROGRESS_INTERVAL_MS = 1000;

export function startProgress(
  count: () => number,
  describe: (elapsedMs: number) => string,
  write: (line: string) => void = (line) => process.stderr.write(line),
): () => void {
  const startedAtMs = performance.now();
  let told = 0;
  const timer = setInterval(() => {
    if (count() === told) return;
    told = count();
    write(`brook: ${describe(performance.now() - startedAtMs)}\n`);
  }, PROGRESS_INTERVAL_MS);
  timer.unref();
  return () => clearInterval(timer);
}

/** `n records sent (r/s)` style: a count of `noun`, what happened to them, and the rate over the elapsed time. */
export function countAndRate(count: number, noun: string, elapsedMs: number, verb: string): string {
  const rate = elapsedMs > 0 ? Math.round((count * 1000) / elapsedMs) : 0;
  return `${plural(count, noun)} ${verb} (${rate}/s)`;
}
