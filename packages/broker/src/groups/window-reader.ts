/**
 * Reading a partition's log into a group's window: how much to read ahead, and taking a batch's
 * records in as entries. The group decides when (each pump step) and what to do with a window
 * that retention overtook.
 */
import { decodeBatch } from '@brook/protocol';
import type { ReadBatch } from '../log/log-reader.js';
import type { PartitionLog } from '../log/partition-log.js';
import { Entry, type PartitionWindow } from './partition-window.js';

export interface WindowReadLimits {
  readonly unackedRecordsMax: number;
  readonly fetchBytes: number;
}

const keyText = new TextDecoder('latin1');

/**
 * A window's share of one round of the members' credit: what it reads ahead. Not much more than
 * a round: records read far ahead live long enough to be promoted out of V8's young generation,
 * and then each costs the GC a copy.
 */
export function readAheadShare(credit: number, windows: number): number {
  return Math.max(64, Math.ceil(credit / windows));
}

/**
 * Reads up to `share` records into a window that is running low and has room (never more than
 * its room: the rest would be decoded only to be dropped), handing each new entry to `enqueue`.
 */
export async function readIntoWindow(
  window: PartitionWindow, log: PartitionLog, share: number, limits: WindowReadLimits, keyed: boolean, enqueue: (entry: Entry) => void,
): Promise<void> {
  if (window.undelivered >= share || window.size >= limits.unackedRecordsMax || window.readOffset >= log.endOffset) return;
  const maxRecords = Math.min(share, limits.unackedRecordsMax - window.size);
  const batches = await log.read(window.readOffset, { maxBytes: limits.fetchBytes, maxRecords });
  for (const batch of batches) intake(window, batch, limits.unackedRecordsMax, keyed, enqueue);
}

/** Takes a batch's unacked records at or after the read position into the window, while it has room. */
function intake(window: PartitionWindow, batch: ReadBatch, unackedRecordsMax: number, keyed: boolean, enqueue: (entry: Entry) => void): void {
  const { records } = decodeBatch(batch.bytes, 0, { crcVerified: true });
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
    const keyId = keyed && record.key !== null ? keyText.decode(record.key) : undefined;
    const entry = new Entry(window.partition, record, keyId, dense ? firstSeq + i : window.seqOf(record.offset));
    window.add(entry);
    enqueue(entry);
  }
  if (taken !== undefined) window.readOffset = taken + 1n;
}
