/**
 * Sends in flight, oldest first, for commands that stream many records (produce, bench): adding
 * one waits for the oldest once the window is full, so memory stays flat however large the
 * input; the first failure wins and is thrown by the next add or by finish.
 */

/** Sends (chunks of records) unanswered at once; the producer batches within them. */
export const SENDS_IN_FLIGHT_MAX = 8;

export class SendWindow {
  private readonly pending: Promise<void>[] = [];
  private failure: { error: unknown } | undefined;

  async add(send: Promise<void>): Promise<void> {
    this.pending.push(send.catch((error: unknown) => void (this.failure ??= { error })));
    if (this.pending.length >= SENDS_IN_FLIGHT_MAX) await this.pending.shift();
    if (this.failure) throw this.failure.error;
  }

  async finish(): Promise<void> {
    await Promise.all(this.pending.splice(0));
    if (this.failure) throw this.failure.error;
  }
}
