/** What a PartitionLog is opened with, and what its appends and retention answer. */
import type { BrookError, Clock, FileSystem } from '@brook/protocol';
import type { FsyncPolicy } from '../config/defaults.js';
import type { SegmentConfig } from './segment.js';

export interface PartitionLogOptions extends SegmentConfig {
  readonly fs: FileSystem;
  readonly clock: Clock;
  readonly dir: string;
  readonly fsync: FsyncPolicy;
  readonly segmentBytesMax: number;
  readonly segmentMsMax: number;
  /** The broker found its clean-shutdown marker: trust index files, skip the tail scan. */
  readonly cleanShutdown: boolean;
  /** Bytes of the latest batches kept in memory for readers at the tail (logTailCacheBytes); 0: none. */
  readonly tailCacheBytes: number;
  /**
   * Told once when the log fails (a failed fsync, seal or torn round): its durable state is
   * unknown until a reopen recovers it, so the broker must not mark its close clean.
   */
  readonly onFailure?: (error: BrookError) => void;
}

export interface AppendResult {
  readonly baseOffset: bigint;
  readonly lastOffset: bigint;
}

export interface RetentionResult {
  readonly deletedSegments: number;
  readonly previousStartOffset: bigint;
  readonly startOffset: bigint;
  /** A file it failed to delete (or the directory's fsync): the segments are out of the log all the same. */
  readonly failure?: BrookError;
}
