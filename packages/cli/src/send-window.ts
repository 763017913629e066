/**
 * Sends in flight, oldest first, for commands that stream many records (produce, bench): adding
 * one waits for the oldest once the window is full, so memory stays flat however large the
 * input; the first failure wins and is thrown by the next add or by finish. A send is started by
 * the window, and not once a failure is known: records after a failed send are not sent.
 */

/** Sends (chunks of records) unanswered at once; the producer batches within them. */
export const SENDS_IN_FLIGHT_MAX = 8;

export class SendWindow {
  private readonly pending: Promise<void>[] = [];
  private failure: { error: unknown } | undefined;

  async add(start: () => Promise<void>): Promise<void> {
    this.throwIfFailed();
    this.pending.push(start().catch((error: unknown) => this.fail(error)));
    if (this.pending.length >= SENDS_IN_FLIGHT_MAX) await this.pending.shift();
    this.throwIfFailed();
  }

  /** A failure known before its send settles (it still has work to do): no send starts after this. */
  fail(error: unknown): void {
    this.failure ??= { error };
  }

  async finish(): Promise<void> {
    await Promise.all(this.pending.splice(0));
    this.throwIfFailed();
  }

  private throwIfFailed(): void {
    if (this.failure) throw this.failure.error;
  }
}
