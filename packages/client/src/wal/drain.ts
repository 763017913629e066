/**
 * The background sender loop over a FileBuffer (failure case 12 of the original: one batch per
 * put). It drains everything ready, back to back, then sleeps until the next seal (by size, by
 * age on the Clock, or by flush), so a backlog left by a sink outage empties as fast as the sink
 * takes it, with no put needed to push it along.
 */
import { isBrookError } from '@brook/protocol';
import type { FileBuffer, WalBatch } from './file-buffer.js';

export type BatchSink = (batch: WalBatch) => Promise<void> | void;

export interface DrainOptions {
  /** Stops the loop after the batch in progress, if any, is committed. */
  signal?: AbortSignal;
}

export async function drainBuffer(buffer: FileBuffer, sink: BatchSink, { signal }: DrainOptions = {}): Promise<void> {
  const aborted = signal && new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
  while (signal?.aborted !== true) {
    let batch: WalBatch | undefined;
    try {
      batch = buffer.emit();
    } catch (error) {
      // Closed: the sender's job is over. A failed WAL is the caller's to hear about.
      if (isBrookError(error, 'CLOSED')) return;
      throw error;
    }
    if (batch === undefined) {
      await (aborted ? Promise.race([buffer.whenReady(), aborted]) : buffer.whenReady());
      continue;
    }
    await sink(batch);
    try {
      await buffer.commit(batch.sequence);
    } catch (error) {
      // Closed while the sink ran: the batch stays uncommitted and is emitted again on reopen.
      if (isBrookError(error, 'CLOSED')) return;
      throw error;
    }
  }
}
