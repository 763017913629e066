/**
 * Reading a partition's log into a group's window: how much to read ahead, and taking a batch's
 * records in as entries. The group decides when (each pump step) and what to do with a window
 * that retention overtook.
 */
import { decodeStoredBatch, isBrookError } from '@brook/protocol';
import type { ReadBatch } from '../log/log-reader.js';
import type { PartitionLog } from '../log/partition-log.js';
import { Entry, type PartitionWindow } from './partition-window.js';

export interface WindowReadLimits {
  readonly unackedRecordsMax: number;
  readonly fetchBytes: number;
}

export interface WindowLogs extends WindowReadLimits {
  readonly logs: readonly PartitionLog[];
}

/**
 * A window's share of one round of the members' credit: what it reads ahead. Not much more than
 * a round: records read far ahead live long enough to be promoted out of V8's young generation,
 * and then each costs the GC a copy.
 */
function readAheadShare(credit: number, windows: number): number {
  return Math.max(64, Math.ceil(credit / windows));
}

/**
 * Reads more records into every window that wantsRead, a share of `credit` each. Undefined when no
 * window needs a read: a step of a few records at a time makes no promise it does not need. A read
 * that retention overtook (its offset now below the log's start) goes to `overtaken` instead.
 */
export function fillWindows(
  windows: readonly PartitionWindow[], credit: number, logs: WindowLogs, keyed: boolean, enqueue: (entry: Entry) => void,
  overtaken: (partition: number, startOffset: bigint) => Promise<void>,
): Promise<void> | undefined {
  if (credit === 0) return undefined;
  const share = readAheadShare(credit, windows.length);
  const reads: Promise<void>[] = [];
  for (const window of windows) {
    const log = logs.logs[window.partition]!;
    if (!wantsRead(window, log, share, logs)) continue;
    reads.push(readIntoWindow(window, log, share, logs, keyed, enqueue).catch((error: unknown) => {
      if (!isBrookError(error, 'OFFSET_OUT_OF_RANGE') || window.readOffset >= log.startOffset) throw error;
      return overtaken(window.partition, log.startOffset);
    }));
  }
  if (reads.length === 0) return undefined;
  return reads.length === 1 ? reads[0] : Promise.all(reads).then(() => undefined);
}

/**
 * The least room a window reads into: a share, or a quarter of the room the group itself frees
 * (the window less what consumers and dead-letter copies hold), if that is less; at least 1.
 * Without it a window kept nearly full (records waiting behind busy keys under 'key', up to
 * unackedRecordsMax) read again at every step that freed a place or two: a log read, a scan and
 * the decoding of whole batches for a few records each time (300k records under 'key': 14 739
 * reads of 20 records, each batch decoded ~8 times). Records waiting for their key, or for a
 * backoff, go out without further reads (a record waits only for earlier ones of its key, all in
 * a window already), so that room comes. Held ones may not for hours (a long handler, a full
 * dead-letter topic): counted, 7 held of 8 stopped the partition for every other member.
 */
function readRoomMin(share: number, freedByGroup: number): number {
  return Math.max(1, Math.min(share, Math.ceil(freedByGroup / 4)));
}

/** True when a window is running low (fewer than `share` undelivered), has room enough, and the log has more. */
function wantsRead(window: PartitionWindow, log: PartitionLog, share: number, limits: WindowReadLimits): boolean {
  const room = limits.unackedRecordsMax - window.size;
  const freedByGroup = limits.unackedRecordsMax - window.held;
  return window.undelivered < share && room >= readRoomMin(share, freedByGroup) && window.readOffset < log.endOffset;
}

/**
 * Reads up to `share` records into a window that wantsRead (never more than its room: the rest
 * would be decoded only to be dropped), handing each new entry to `enqueue`.
 */
async function readIntoWindow(
  window: PartitionWindow, log: PartitionLog, share: number, limits: WindowReadLimits, keyed: boolean, enqueue: (entry: Entry) => void,
): Promise<void> {
  const maxRecords = Math.min(share, limits.unackedRecordsMax - window.size);
  const generation = window.generation;
  // Shared: the records reach consumers through Delivery, which hands out copies of their bytes.
  const batches = await log.read(window.readOffset, { maxBytes: limits.fetchBytes, maxRecords, shared: true });
  // The window started over while reading (a reset to an earlier offset, say): these records
  // would move its read position past the ones it must now read first. The step that restarted
  // it scheduled another, which reads from the new position.
  if (window.generation !== generation) return;
  for (const batch of batches) intake(window, batch, limits.unackedRecordsMax, keyed, enqueue);
}

/** Takes a batch's unacked records at or after the read position into the window, while it has room. */
function intake(window: PartitionWindow, batch: ReadBatch, unackedRecordsMax: number, keyed: boolean, enqueue: (entry: Entry) => void): void {
  const { records } = decodeStoredBatch(batch.bytes);
  if (records.length === 0) return;
  // Brook writes batches without offset gaps: a record's seq is then the first one's plus its
  // index, one bigint subtraction a batch instead of one a record.
  const dense = records.length === batch.header.lastOffsetDelta + 1;
  const firstSeq = window.seqOf(records[0]!.offset);
  let taken: bigint | undefined;
  for (let i = 0; i < records.length && window.size < unackedRecordsMax; i++) {
    const record = records[i]!;
    if (record.offset < window.readOffset) continue;
    taken = record.offset;
    if (window.ack.isAcked(record.offset)) continue;
    const keyId = keyed ? (record.keyLatin1() ?? undefined) : undefined;
    const entry = new Entry(window.partition, record, keyId, dense ? firstSeq + i : window.seqOf(record.offset));
    if (window.add(entry)) enqueue(entry);
  }
  if (taken !== undefined) window.readOffset = taken + 1n;
}
