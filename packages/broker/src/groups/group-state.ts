/**
 * Opening a group's durable state: its journal (group-journal.ts), started at `from` when the
 * group is new, and a window per partition, made to agree with what the topic's logs hold.
 */
import { closeOnFailure, type BrookError, type FileSystem } from '@brook/protocol';
import type { PartitionLog } from '../log/partition-log.js';
import { GroupJournal, type JournalLogOptions } from './group-journal.js';
import { PartitionWindow } from './partition-window.js';
import type { StartPosition } from './subscribe-options.js';

export interface GroupStateOptions {
  readonly fs: FileSystem;
  readonly dir: string;
  readonly journalLogOptions: JournalLogOptions;
  readonly journalBytesMax: number;
  readonly logs: readonly PartitionLog[];
  readonly from: StartPosition;
  /** Runs once a new group's journal exists: its config.json, written last, commits it. */
  readonly created: () => Promise<void>;
  /** Told once when the journal fails (the broker's `logFailed`, naming the group). */
  readonly journalFailed: (error: BrookError) => void;
}

export async function openGroupState(options: GroupStateOptions): Promise<{ journal: GroupJournal; windows: PartitionWindow[]; created: boolean }> {
  const { logs } = options;
  const base = options.journalLogOptions;
  // The journal tells its first failure only, of whichever of its logs (GroupJournal).
  const logOptions: JournalLogOptions = {
    ...base,
    onFailure: (error) => {
      base.onFailure?.(error);
      options.journalFailed(error);
    },
  };
  const { journal, states, created } = await GroupJournal.open(
    options.fs, options.dir, logOptions, options.journalBytesMax, logs.length,
    () => Promise.all(logs.map((log) => startOffsetFor(log, options.from))),
  );
  // A group that failed to open is no group: nothing would ever close its journal.
  return closeOnFailure(journal, async () => {
    if (created) await options.created();
    const windows = states.map((state, partition) => new PartitionWindow(partition, state));
    await forgetAcksPastLogEnd(journal, windows, logs);
    return { journal, windows, created };
  });
}

/**
 * A group just created starts no lower than its logs' startOffsets when it is listed: retention
 * may have run while it was being made (its `from` looked up, its files written), and no pass
 * could tell a group not listed yet. What it deleted before the group existed is no loss of the
 * group's (as for a reset or a reader: raisedToStart), so it is not counted lost when the group
 * first reads. Called in the same synchronous step as listing the group, so that no retention
 * pass runs between the two; resolves once the new floors are journaled.
 */
export function raiseNewGroupToStart(journal: GroupJournal, windows: readonly PartitionWindow[], logs: readonly PartitionLog[]): Promise<unknown> {
  const raised: Promise<void>[] = [];
  for (const window of windows) {
    const floor = window.ack.ackFloor;
    const { startOffset } = logs[window.partition]!;
    if (floor >= startOffset) continue;
    window.skipTo(startOffset);
    // As retention's skip is journaled: the floor moves there on replay too.
    raised.push(journal.skip(window.partition, floor, startOffset));
  }
  return Promise.all(raised);
}

/**
 * After an unclean stop with fsync other than 'always', a partition log can come back shorter
 * than what its group journal (a separate file) remembers acking. New records will take those
 * offsets again and must not count as acked: the partition restarts at min(ackFloor, endOffset),
 * so the records between are delivered again (at-least-once) and none is ever skipped.
 */
async function forgetAcksPastLogEnd(journal: GroupJournal, windows: readonly PartitionWindow[], logs: readonly PartitionLog[]): Promise<void> {
  for (const window of windows) {
    const endOffset = logs[window.partition]!.endOffset;
    if (window.ack.ackedEnd <= endOffset) continue;
    const restartAt = window.ack.ackFloor < endOffset ? window.ack.ackFloor : endOffset;
    window.restartAt(restartAt);
    await journal.reset(window.partition, restartAt);
  }
}

/** Offset where a reader or a new group starts, clamped to what the log holds. */
export async function startOffsetFor(log: PartitionLog, from: StartPosition): Promise<bigint> {
  if (from === 'earliest') return log.startOffset;
  if (from === 'latest') return log.endOffset;
  if ('offset' in from) return from.offset < log.startOffset ? log.startOffset : from.offset > log.endOffset ? log.endOffset : from.offset;
  return log.offsetForTimestamp(from.timestamp);
}

/**
 * Where a reader or a group (reset) starts, `found` by startOffsetFor, each raised to its log's
 * startOffset: retention may have run while they were looked up, and what it deleted before the
 * start is no loss of the reader's or the group's (counted as lost, it would be counted twice, or
 * told to a reader that never had it). Called in the same synchronous step as the start itself,
 * so that no retention pass runs between the two.
 */
export function raisedToStart(found: readonly bigint[], logs: readonly PartitionLog[]): bigint[] {
  return found.map((offset, partition) => (offset < logs[partition]!.startOffset ? logs[partition]!.startOffset : offset));
}
