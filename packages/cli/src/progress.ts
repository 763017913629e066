/**
 * Progress of a long operation on stderr, once a second: nothing for runs shorter than that, so a
 * small produce stays quiet and a large one shows it is alive.
 */
export const PROGRESS_INTERVAL_MS = 1000;

export function startProgress(describe: (elapsedMs: number) => string, write: (line: string) => void = (line) => process.stderr.write(line)): () => void {
  const startedAtMs = performance.now();
  const timer = setInterval(() => write(`brook: ${describe(performance.now() - startedAtMs)}\n`), PROGRESS_INTERVAL_MS);
  timer.unref();
  return () => clearInterval(timer);
}

/** `n records sent (r/s)` style: a count and its rate over the elapsed time. */
export function countAndRate(count: number, noun: string, elapsedMs: number): string {
  const rate = elapsedMs > 0 ? Math.round((count * 1000) / elapsedMs) : 0;
  return `${count} ${noun} (${rate}/s)`;
}
