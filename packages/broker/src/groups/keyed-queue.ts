/**
 * Calls that must not overlap per key (joins of one group, resets of one group, redrives of one
 * dead-letter topic): each starts once the one queued before it under its key has ended, either
 * way, so they take effect in call order.
 */
export class KeyedQueue {
  /** Per key, settles when the last call queued so far has ended. */
  private readonly tails = new Map<string, Promise<void>>();

  /** Runs `work` once the calls queued before it under `key` have ended; settles as it does. */
  run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const result = (this.tails.get(key) ?? Promise.resolve()).then(work);
    const ended = result.then(() => undefined, () => undefined);
    this.tails.set(key, ended);
    void ended.then(() => {
      if (this.tails.get(key) === ended) this.tails.delete(key);
    });
    return result;
  }

  /** True while a call queued under `key` has not ended. */
  has(key: string): boolean {
    return this.tails.has(key);
  }

  /** Settles once every call queued so far has ended. */
  async settled(): Promise<void> {
    await Promise.all(this.tails.values());
  }
}
