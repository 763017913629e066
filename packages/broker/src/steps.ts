/**
 * Running several steps of a teardown (Broker.close, deleteTopic) so that one failing leaves no
 * later one undone: each runs whatever became of the ones before.
 */

/** Waits for every promise, then rejects with the first failure if any failed. */
export async function settleAll(promises: readonly Promise<unknown>[]): Promise<void> {
  const failed = (await Promise.allSettled(promises)).find((result) => result.status === 'rejected');
  if (failed) throw failed.reason;
}

/** Runs every step in turn, each whatever became of the ones before (a failure skips none). */
export async function runEach(steps: readonly (() => Promise<unknown>)[]): Promise<void> {
  for (const step of steps) await step().catch(() => undefined);
}
