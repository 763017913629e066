/**
 * Running several steps of a teardown (Broker.close, deleteTopic) so that one failing leaves no
 * later one undone: each runs whatever became of the ones before.
 */

/** Waits for every promise, then rejects with the first failure if any failed. */
export async function settleAll(promises: readonly Promise<unknown>[]): Promise<void> {
  const failed = (await Promise.allSettled(promises)).find((result) => result.status === 'rejected');
  if (failed) throw failed.reason;
}

/**
 * How many partitions (or groups) a teardown closes at once. Each may open a file of its own
 * while it closes (a segment's index files, a producer snapshot, a journal's last write), so a
 * broker of thousands of partitions closing them all at once could run out of file descriptors
 * (EMFILE) exactly when it closes, and leave an unclean shutdown behind; a few at a time keep
 * the disk busy as well.
 */
export const TEARDOWN_STEPS_MAX = 16;

/**
 * Runs `step` on every item, at most `stepsMax` at once, each whatever became of the others;
 * then rejects with the first failure (in the items' order) if any failed.
 */
export async function settleEach<T>(items: readonly T[], step: (item: T) => Promise<unknown>, stepsMax = TEARDOWN_STEPS_MAX): Promise<void> {
  let next = 0;
  let first: { at: number; reason: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const at = next++;
      try {
        await step(items[at]!);
      } catch (reason) {
        if (first === undefined || at < first.at) first = { at, reason };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(stepsMax, items.length) }, worker));
  if (first) throw first.reason;
}

/** Runs every step in turn, each whatever became of the ones before (a failure skips none). */
export async function runEach(steps: readonly (() => Promise<unknown>)[]): Promise<void> {
  for (const step of steps) await step().catch(() => undefined);
}
