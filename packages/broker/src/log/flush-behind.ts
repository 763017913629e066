/**
 * The fsyncs that flush() asks for under fsync 'never' and { intervalMs }, run beside the
 * append rounds instead of inside one.
 *
 * Under those policies an append resolves once written, not once durable, so nothing but the
 * flush itself needs to wait for its fsync. Run inside a round, the fsync held every append
 * queued behind it for as long as the disk took (each interval tick of { intervalMs } stalled
 * producers and, through endOffset, consumers). Here the fsync runs while later rounds write:
 * fdatasync covers every byte written to the file before it started, which includes every
 * append resolved before the flush was asked for.
 *
 * One fsync runs at a time. Flushes asked for meanwhile share the next one, started when the
 * running one ends (so a disk slower than the interval does not pile fsyncs up).
 */
import type { BrookError } from '@brook/protocol';

export interface PendingFlush {
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

export class FlushBehind {
  private running: Promise<void> | undefined;
  private waiting: PendingFlush[] = [];

  /**
   * @param sync fsyncs everything written so far (the active segment and the seal behind it);
   *   called when an fsync starts, so it sees the segments of that moment.
   * @param failed records a failed fsync as the log's failure and returns the error to answer with.
   */
  constructor(
    private readonly sync: () => Promise<void>,
    private readonly failed: (error: unknown) => BrookError,
  ) {}

  /** Resolves `flushes` once an fsync that started after this call has succeeded. */
  request(flushes: readonly PendingFlush[]): void {
    this.waiting.push(...flushes);
    if (!this.running) this.start();
  }

  /** Resolves once no fsync runs or waits (close, once nothing can ask for more). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  /**
   * Resolves once the fsync running now, if any, has ended: retention before it deletes files.
   * An fsync that starts later syncs the segments of its moment, never one retention took out
   * of the log before; and waiting for idle() instead could wait for ever while produces go on
   * and each fsync takes longer than intervalMs, the next one starting as the last ends.
   */
  async settled(): Promise<void> {
    await this.running;
  }

  private start(): void {
    const flushes = this.waiting;
    this.waiting = [];
    this.running = this.sync().then(
      () => {
        for (const flush of flushes) flush.resolve();
      },
      (error: unknown) => {
        const failure = this.failed(error);
        for (const flush of [...flushes, ...this.waiting]) flush.reject(failure);
        this.waiting = [];
      },
    ).finally(() => {
      this.running = undefined;
      if (this.waiting.length > 0) this.start();
    });
  }
}
