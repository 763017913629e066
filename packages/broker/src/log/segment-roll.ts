/**
 * An append waiting in a partition log's queue for its round, and when one starts a new segment:
 * the active one would pass segmentBytesMax, or its records would span segmentMsMax.
 */
import type { BatchHeader } from '@brook/protocol';
import type { Segment } from './segment.js';
import type { AppendResult, PartitionLogOptions } from './partition-log-options.js';

export interface PendingAppend {
  readonly bytes: Uint8Array;
  /** Read from the bytes at append(); its baseOffset is set when the log assigns offsets. */
  readonly header: BatchHeader;
  readonly resolve: (result: AppendResult) => void;
  readonly reject: (error: unknown) => void;
}

/** Whether `append` goes to a new segment; `runFirst` is the first append of the run not yet written (`append` itself if none). */
export function shouldRoll(segment: Segment, options: PartitionLogOptions, runBytes: number, append: PendingAppend, runFirst: PendingAppend): boolean {
  const bytes = segment.sizeBytes + runBytes;
  if (bytes === 0) return false;
  if (bytes + append.bytes.length > options.segmentBytesMax) return true;
  // Record time against record time, as Kafka's segment.ms: against the broker's clock, a
  // producer stamping its records in the past would roll a segment per batch. An empty segment's
  // first record is the run's: the appends of one round ahead of this one go to it too.
  const firstTimestampMs = segment.firstTimestampMs ?? runFirst.header.baseTimestamp;
  return append.header.maxTimestamp - firstTimestampMs >= options.segmentMsMax;
}
