/**
 * Rebuilds a partition's idempotence table at open: load the snapshot, then replay the batch
 * headers the log holds from the snapshot's offset to endOffset (headers only: no record is
 * decoded). The log is the truth; the snapshot only saves reading all of it, so it is used only
 * when it agrees with the log:
 *
 * | snapshot found                       | what it means                                   | replay from |
 * | ------------------------------------ | ----------------------------------------------- | ----------- |
 * | none                                 | first use of the partition, or never written    | startOffset |
 * | fails validation                     | damaged: a cache, so ignored                    | startOffset |
 * | offset > endOffset, or a batch at or | the log lost a tail the snapshot had seen (a    | startOffset |
 * | past endOffset ('ahead-of-log')      | CRC-bad tail was cut): using it would answer    |             |
 * |                                      | retries of lost batches as duplicates           |             |
 * | offset < startOffset                 | retention deleted batches the snapshot never    | startOffset |
 * | ('behind-log-start')                 | saw; any entry may be stale, and a stale one    |             |
 * |                                      | would reject its producer's next batch as out   |             |
 * |                                      | of order. Forgetting is honest: its producers   |             |
 * |                                      | get UNKNOWN_PRODUCER_ID (Kafka, too, expires    |             |
 * |                                      | producers whose batches retention removed)      |             |
 * | otherwise                            | used                                            | its offset  |
 *
 * A snapshot that was not used must be replaced before the log grows past it again (the caller
 * writes a fresh one at once): a snapshot ahead of the log would otherwise look valid once the
 * log caught up, describing batches that are no longer there. Appends without a producer id do
 * not wait for that first idempotent batch, so after an unclean stop a snapshot ahead of its log
 * is removed at open (discardSnapshotAheadOfLog).
 */
import { assert, isBrookError, type FileSystem } from '@brook/protocol';
import type { PartitionLog } from '../log/partition-log.js';
import { lastBatch } from './producer-entry.js';
import { readSnapshot, removeSnapshot, type ProducerSnapshot } from './producer-snapshot.js';
import { ProducerStateTable } from './producer-state-table.js';

export type SnapshotUse = 'used' | 'missing' | 'invalid' | 'ahead-of-log' | 'behind-log-start';

export interface ProducerRecoveryReport {
  readonly snapshot: SnapshotUse;
  /** The snapshot's offset if it was used, else startOffset. */
  readonly replayedFromOffset: bigint;
  readonly replayedBatches: number;
}

/** Replay reads the log in chunks of this size. */
const REPLAY_READ_BYTES = 1024 * 1024;

export async function recoverProducerState(
  fs: FileSystem,
  dir: string,
  log: PartitionLog,
  producersMax: number,
): Promise<{ table: ProducerStateTable; report: ProducerRecoveryReport }> {
  const { snapshot, use } = await loadSnapshot(fs, dir, log);
  const table = new ProducerStateTable(producersMax);
  for (const [producerId, entry] of snapshot?.producers ?? []) table.set(producerId, entry);
  const from = snapshot?.offset ?? log.startOffset;
  const replayedBatches = await replay(log, from, table);
  return { table, report: { snapshot: use, replayedFromOffset: from, replayedBatches } };
}

/**
 * At open, for a log opened after an unclean stop, before anything is appended: removes the
 * partition's snapshot if it is ahead of what is left. Left until the partition's first
 * idempotent batch, it could look valid by then (appends without a producer id, and restarts
 * after them, grow the log past its offset), and answer a resend of a lost batch as a
 * duplicate, with the offsets of other records.
 */
export async function discardSnapshotAheadOfLog(fs: FileSystem, dir: string, log: PartitionLog): Promise<void> {
  const { use } = await loadSnapshot(fs, dir, log);
  if (use === 'ahead-of-log') await removeSnapshot(fs, dir);
}

async function loadSnapshot(fs: FileSystem, dir: string, log: PartitionLog): Promise<{ snapshot?: ProducerSnapshot; use: SnapshotUse }> {
  let snapshot: ProducerSnapshot | undefined;
  try {
    snapshot = await readSnapshot(fs, dir);
  } catch (error) {
    if (isBrookError(error, 'CORRUPT_METADATA')) return { use: 'invalid' };
    throw error;
  }
  if (snapshot === undefined) return { use: 'missing' };
  if (snapshot.offset < log.startOffset) return { use: 'behind-log-start' };
  const endOffset = log.endOffset;
  if (snapshot.offset > endOffset || snapshot.producers.some(([, entry]) => lastBatch(entry).lastOffset >= endOffset)) {
    return { use: 'ahead-of-log' };
  }
  return { snapshot, use: 'used' };
}

/** Applies every batch from `from` to endOffset; returns how many batches it read. */
async function replay(log: PartitionLog, from: bigint, table: ProducerStateTable): Promise<number> {
  let offset = from;
  let batches = 0;
  while (offset < log.endOffset) {
    const read = await log.read(offset, { maxBytes: REPLAY_READ_BYTES });
    assert(read.length > 0, 'log read below endOffset returned nothing', { offset, endOffset: log.endOffset });
    for (const { header } of read) {
      table.replay(header);
      offset = header.baseOffset + BigInt(header.lastOffsetDelta) + 1n;
    }
    batches += read.length;
  }
  return batches;
}
