/** The producer's write-ahead buffer: a crash-safe, bounded, batched WAL (docs/wal.md). */
export { FileBuffer, type FileBufferStats, type WalBatch } from './file-buffer.js';
export type { BatchSink, DrainOptions } from './drain.js';
export { WAL_LIMITS, WAL_DEFAULTS, type FileBufferOptions, type FsyncPolicy, type OnFull, type LockOwnerIdentity } from './limits.js';
export type { WalRecordInput } from './record-codec.js';
export type { RecoveryReport } from './recovery.js';
