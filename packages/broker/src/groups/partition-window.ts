/**
 * A group's view of one partition: its durable AckState plus the records between ackFloor and
 * the read position that are not acked yet, each with its delivery state:
 *
 *   ready          may be delivered now
 *   blocked        'key' ordering: waits for an earlier record of the same key
 *   inflight       delivered, lease running
 *   backoff        failed, waits for its redelivery delay
 *   deadLettering  being copied to the dead-letter topic
 *
 * Acked records are not held: the window holds exactly the unacked offsets in [ackFloor, readOffset).
 *
 * Entries sit in a dense array by their `seq`, a plain number counted from the window's origin
 * (the ackFloor when it last started over), so finding, adding and dropping one is array
 * indexing: no bigint arithmetic, hashing or Map churn per record on the delivery path.
 */
import type { LogRecord } from '@brook/protocol';
import type { AckState } from './ack-state.js';
import type { Deadline } from './deadline-queue.js';
import type { Flight } from './flight.js';
import type { Member } from './member.js';

export type EntryState = 'ready' | 'blocked' | 'inflight' | 'backoff' | 'deadLettering';

export class Entry {
  state: EntryState = 'ready';
  flight: Flight | undefined;
  backoff: Deadline | undefined;

  constructor(
    readonly partition: number,
    readonly record: LogRecord,
    /** Key identity for 'key' ordering; undefined for a null key (no order to keep). */
    readonly keyId: string | undefined,
    /** Position in the window: offset - origin, as a number. */
    readonly seq: number,
  ) {}

  get offset(): bigint {
    return this.record.offset;
  }
}

function isWaiting(state: EntryState): boolean {
  return state === 'ready' || state === 'blocked';
}

/** Drop the consumed front of the slot array once it is most of it. */
const COMPACT_AFTER_SLOTS = 1024;

export class PartitionWindow {
  /** Offset of seq 0. */
  private origin: bigint;
  /** slots[i] holds the entry with seq baseSeq + i, or undefined (acked or never held). */
  private slots: (Entry | undefined)[] = [];
  private baseSeq = 0;
  /** Index of the first slot that may be occupied. */
  private low = 0;
  /** Number of entries held. */
  size = 0;
  /** Next offset to read from the log. */
  readOffset: bigint;
  /** 'partition' ordering: seq of the next record to deliver, in order. */
  cursorSeq = 0;
  /** 'partition' ordering: the member that owns this partition. */
  owner: Member | undefined;
  /** Entries in 'ready' or 'blocked' state: when few are left, read more. */
  undelivered = 0;
  deadLettered = 0;
  redeliveries = 0;
  lostToRetention = 0n;

  constructor(
    readonly partition: number,
    readonly ack: AckState,
  ) {
    this.origin = ack.ackFloor;
    this.readOffset = ack.ackFloor;
  }

  /** The seq an offset at or above the origin gets. */
  seqOf(offset: bigint): number {
    return Number(offset - this.origin);
  }

  /** The seq the next record read will have at the earliest. */
  get readSeq(): number {
    return this.seqOf(this.readOffset);
  }

  /** Takes a freshly read record into the window, ready to deliver. Seqs only grow. */
  add(entry: Entry): void {
    if (this.size === 0) {
      this.slots = [];
      this.baseSeq = entry.seq;
      this.low = 0;
    }
    const index = entry.seq - this.baseSeq;
    while (this.slots.length < index) this.slots.push(undefined);
    this.slots.push(entry);
    this.size += 1;
    entry.state = 'ready';
    this.undelivered += 1;
  }

  setState(entry: Entry, state: EntryState): void {
    if (isWaiting(entry.state)) this.undelivered -= 1;
    entry.state = state;
    if (isWaiting(state)) this.undelivered += 1;
  }

  /** Drops a record that is acked or dead-lettered. */
  remove(entry: Entry): void {
    if (isWaiting(entry.state)) this.undelivered -= 1;
    this.slots[entry.seq - this.baseSeq] = undefined;
    this.size -= 1;
    while (this.low < this.slots.length && this.slots[this.low] === undefined) this.low += 1;
    if (this.low > COMPACT_AFTER_SLOTS && this.low * 2 > this.slots.length) {
      this.slots = this.slots.slice(this.low);
      this.baseSeq += this.low;
      this.low = 0;
    }
  }

  /** The entry held at `seq`, if any. */
  at(seq: number): Entry | undefined {
    const index = seq - this.baseSeq;
    return index >= 0 && index < this.slots.length ? this.slots[index] : undefined;
  }

  /** True if `entry` is still this window's record for its offset (not dropped by a reset). */
  holds(entry: Entry): boolean {
    return this.at(entry.seq) === entry;
  }

  /** Every held entry, in offset order (a copy: callers may change the window meanwhile). */
  entries(): Entry[] {
    const held: Entry[] = [];
    for (let i = this.low; i < this.slots.length; i++) if (this.slots[i]) held.push(this.slots[i]!);
    return held;
  }

  /** Forgets every held record (not the acks): they are read again from ackFloor. */
  rewind(): void {
    this.startOver(this.ack.ackFloor);
  }

  /** Forgets every held record and restarts at `offset` (reset, or retention overtaking). */
  restartAt(offset: bigint): void {
    this.ack.resetTo(offset);
    this.startOver(offset);
  }

  private startOver(offset: bigint): void {
    for (const entry of this.entries()) entry.backoff?.cancel();
    this.slots = [];
    this.baseSeq = 0;
    this.low = 0;
    this.size = 0;
    this.undelivered = 0;
    this.origin = offset;
    this.readOffset = offset;
    this.cursorSeq = 0;
  }
}
