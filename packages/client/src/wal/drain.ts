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
  for (let batch = await nextReadyBatch(buffer, () => signal?.aborted === true, aborted); batch; batch = await nextReadyBatch(buffer, () => signal?.aborted === true, aborted)) {
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

/**
 * The oldest batch ready to send, waiting until one is sealed; undefined once the buffer is
 * closed or the sender stops (`stopped()` is true, `stopping` resolves to wake the wait). A
 * failed WAL throws: that is the caller's to hear about. Every sender loop (drainBuffer, the WAL
 * producer's) takes its batches through here.
 */
export async function nextReadyBatch(buffer: FileBuffer, stopped: () => boolean, stopping?: Promise<void>): Promise<WalBatch | undefined> {
  while (!stopped()) {
    let batch: WalBatch | undefined;
    try {
      batch = buffer.emit();
    } catch (error) {
      if (isBrookError(error, 'CLOSED')) return undefined;
      throw error;
    }
    if (batch !== undefined) return batch;
    await (stopping ? Promise.race([buffer.whenReady(), stopping]) : buffer.whenReady());
  }
  return undefined;
}
