/**
 * How many records a copy between topics puts in one produce: dead-letter copies (a write of
 * the copies waiting, dead-letter-copies.ts) and redrive (a run of records going back to one
 * origin partition, redrive.ts). Both must stay within the broker's batch limits, or the whole
 * write would be refused where its records one at a time would not.
 */
import { BATCH_HEADER_BYTES, sizeOfRecordMax } from '@brook/protocol';

/**
 * The batch limits a copy to a topic keeps to: the broker's, and under discard 'new' no more
 * bytes than the topic's retention.maxBytes (retention-runner.ts, batchBytesFit), past which a
 * batch is refused for good. Read for each batch: a topic's retention may change.
 */
export interface CopyLimits {
  readonly batchRecordsMax: number;
  readonly batchBytesMax: number;
}

/** A record's largest encoded size in any batch (its offset and timestamp deltas unknown yet). */
export const copySizeBytes = sizeOfRecordMax;

/**
 * Room left in one batch of copies (a room per batch): at most batchRecordsMax records and, by
 * their largest encoded sizes, batchBytesMax with the batch header. The first record always fits:
 * one too large for the limit goes alone, as it did before copies were batched, within the
 * allowance the broker gives a copy's trailers (copyBatchBytesMax).
 */
export class CopyBatchRoom {
  private records = 0;
  private bytes = BATCH_HEADER_BYTES;

  constructor(private readonly limits: CopyLimits) {}

  get count(): number {
    return this.records;
  }

  /** Takes a record of `sizeBytes` into the batch if it fits; false leaves the room as it was. */
  take(sizeBytes: number): boolean {
    const full = this.records >= this.limits.batchRecordsMax || this.bytes + sizeBytes > this.limits.batchBytesMax;
    if (this.records > 0 && full) return false;
    this.records += 1;
    this.bytes += sizeBytes;
    return true;
  }
}
