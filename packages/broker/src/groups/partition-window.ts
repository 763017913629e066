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
 * Acked records are not held: `entries` has exactly the unacked offsets in [ackFloor, readOffset).
 */
import type { LogRecord } from '@brook/protocol';
import type { AckState } from './ack-state.js';
import type { Deadline } from './deadline-queue.js';
import type { Lease } from './lease-queue.js';
import type { Member } from './member.js';

export type EntryState = 'ready' | 'blocked' | 'inflight' | 'backoff' | 'deadLettering';

export interface Flight {
  readonly attemptId: number;
  readonly member: Member;
  lease: Lease;
  readonly deliveryCount: number;
  /** False while the attempt is being journaled: taken back then, it never reached the member. */
  handedOut: boolean;
}

export class Entry {
  state: EntryState = 'ready';
  flight: Flight | undefined;
  backoff: Deadline | undefined;

  constructor(
    readonly partition: number,
    readonly record: LogRecord,
    /** Key identity for 'key' ordering; undefined for a null key (no order to keep). */
    readonly keyId: string | undefined,
  ) {}

  get offset(): bigint {
    return this.record.offset;
  }
}

function isWaiting(state: EntryState): boolean {
  return state === 'ready' || state === 'blocked';
}

export class PartitionWindow {
  readonly entries = new Map<bigint, Entry>();
  /** Next offset to read from the log. */
  readOffset: bigint;
  /** 'partition' ordering: next offset to deliver, in order. */
  cursor: bigint;
  /** 'partition' ordering: the member that owns this partition. */
  owner: Member | undefined;
  /** Entries in 'ready' or 'blocked' state: when few are left, read more. */
  undelivered = 0;
  fetching = false;
  deadLettered = 0;
  redeliveries = 0;
  lostToRetention = 0n;

  constructor(
    readonly partition: number,
    readonly ack: AckState,
  ) {
    this.readOffset = ack.ackFloor;
    this.cursor = ack.ackFloor;
  }

  /** Takes a freshly read record into the window, ready to deliver. */
  add(entry: Entry): void {
    this.entries.set(entry.offset, entry);
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
    this.entries.delete(entry.offset);
  }

  /** True if `entry` is still this window's record for its offset (not dropped by a reset). */
  holds(entry: Entry): boolean {
    return this.entries.get(entry.offset) === entry;
  }

  /** Forgets every held record (not the acks): they are read again from ackFloor. */
  rewind(): void {
    for (const entry of this.entries.values()) entry.backoff?.cancel();
    this.entries.clear();
    this.undelivered = 0;
    this.readOffset = this.ack.ackFloor;
    this.cursor = this.ack.ackFloor;
  }

  /** Forgets every held record and restarts at `offset` (reset, or retention overtaking). */
  restartAt(offset: bigint): void {
    for (const entry of this.entries.values()) entry.backoff?.cancel();
    this.entries.clear();
    this.undelivered = 0;
    this.ack.resetTo(offset);
    this.readOffset = offset;
    this.cursor = offset;
  }
}
