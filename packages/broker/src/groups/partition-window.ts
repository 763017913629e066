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
 * Entries sit in arrays by their `seq`, a plain number counted from the window's origin (the
 * ackFloor when it last started over), so finding, adding and dropping one is array indexing:
 * no bigint arithmetic, hashing or Map churn per record on the delivery path. The arrays are
 * chunks of CHUNK_SLOTS, each freed once empty: one record stuck in backoff below millions of
 * acked ones costs a pointer per chunk between them, not a slot per record.
 */
import type { StoredRecord } from '@brook/protocol';
import type { AckState } from './ack-state.js';
import type { Deadline } from './deadline-queue.js';
import type { Flight } from './flight.js';
import type { Member } from './member.js';

export type EntryState = 'ready' | 'blocked' | 'inflight' | 'backoff' | 'deadLettering';

export class Entry {
  state: EntryState = 'ready';
  flight: Flight | undefined;
  backoff: Deadline | undefined;
  /**
   * 'partition': its last delivery was taken back by a go-back or a rebalance, which its handler
   * had not failed, so its next attempt is owed even past maxDeliveries. In memory only: read
   * again (a restart, a reconfigure), the record has just its attempt count.
   */
  attemptOwed = false;
  /**
   * What its last failed attempt's nack said failed (a handler's thrown error, say), for its
   * dead-letter reason should it run out of attempts; undefined if that attempt expired, its
   * member left, or its nack gave no reason. In memory only, as attemptOwed.
   */
  lastFailureReason: string | undefined = undefined;

  constructor(
    readonly partition: number,
    readonly record: StoredRecord,
    /** Key identity for 'key' ordering; undefined for a null key (no order to keep). */
    readonly keyId: string | undefined,
    /** Position in the window: offset - origin, as a number. */
    readonly seq: number,
  ) {}

  get offset(): bigint {
    return this.record.offset;
  }

  /**
   * offset + 1, made once. An attempt and an ack each extend a range in AckState and one in the
   * journal to it: four bigints a delivered record otherwise, where this is one.
   */
  get nextOffset(): bigint {
    return (this.next ??= this.record.offset + 1n);
  }

  private next: bigint | undefined = undefined;
}

/**
 * What `undelivered` counts. Not 'blocked': a record waiting for its key waits on that key, not
 * for a member, and counted it would stop the reading behind a key that backs off, so records of
 * other keys further on would wait for it too (up to unackedRecordsMax, the window's room, holds).
 */
function isReady(state: EntryState): boolean {
  return state === 'ready';
}

/** What `held` counts. */
function isHeld(state: EntryState): boolean {
  return state === 'inflight' || state === 'deadLettering';
}

const CHUNK_SLOTS = 1024;

interface Chunk {
  readonly slots: (Entry | undefined)[];
  held: number;
}

export class PartitionWindow {
  /** Offset of seq 0. */
  private origin: bigint;
  /** chunks[i] holds the seqs of chunk number firstChunk + i; undefined once none is held. */
  private chunks: (Chunk | undefined)[] = [];
  private firstChunk = 0;
  /**
   * The last chunk emptied by remove(), every slot cleared, kept for the next one needed: a
   * window that keeps up with a trickle of records empties after each few and would otherwise
   * allocate a fresh 8 KiB slot array for the next few (most of what a record cost the GC).
   */
  private spare: Chunk | undefined;
  /** Number of entries held. */
  size = 0;
  /** Next offset to read from the log. */
  readOffset: bigint;
  /** 'partition' ordering: seq of the next record to deliver, in order. */
  cursorSeq = 0;
  /** 'partition' ordering: the member that owns this partition. */
  owner: Member | undefined;
  /** Entries in 'ready' state, which a member could take now: when few are left, read more. */
  undelivered = 0;
  /**
   * Entries held outside the group's reach ('inflight': a consumer has them; 'deadLettering': a
   * copy is being made): they leave only when that ends, which a handler that runs for hours or a
   * full dead-letter topic puts off for as long as it likes, so the window's reading does not wait
   * for their room (window-reader.ts, wantsRead).
   */
  held = 0;
  deadLettered = 0;
  redeliveries = 0;
  lostToRetention = 0n;
  /**
   * Counts the times the window started over (reset, retention, reconfigure): a log read begun
   * before cannot add its records to the window that started over, whose read position moved.
   */
  generation = 0;

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

  /**
   * Takes a freshly read record (a new Entry: 'ready') into the window, ready to deliver. Seqs
   * only grow, but for the records a rewind kept: false for a record still held from before
   * (read again, it is not taken).
   */
  add(entry: Entry): boolean {
    if (!this.place(entry)) return false;
    this.undelivered += 1;
    return true;
  }

  private place(entry: Entry): boolean {
    const number = Math.floor(entry.seq / CHUNK_SLOTS);
    if (this.size === 0) {
      this.chunks.length = 0;
      this.firstChunk = number;
    } else if (number < this.firstChunk) {
      // Read again below the records a rewind kept (being dead-lettered): chunks go in front.
      this.chunks = new Array<Chunk | undefined>(this.firstChunk - number).fill(undefined).concat(this.chunks);
      this.firstChunk = number;
    }
    const index = number - this.firstChunk;
    while (this.chunks.length <= index) this.chunks.push(undefined);
    const chunk = (this.chunks[index] ??= this.takeSpare() ?? { slots: new Array<Entry | undefined>(CHUNK_SLOTS), held: 0 });
    const slot = entry.seq - number * CHUNK_SLOTS;
    if (chunk.slots[slot] !== undefined) return false;
    chunk.slots[slot] = entry;
    chunk.held += 1;
    this.size += 1;
    return true;
  }

  setState(entry: Entry, state: EntryState): void {
    if (isReady(entry.state)) this.undelivered -= 1;
    if (isHeld(entry.state)) this.held -= 1;
    entry.state = state;
    if (isReady(state)) this.undelivered += 1;
    if (isHeld(state)) this.held += 1;
  }

  /** Drops a record that is acked or dead-lettered. */
  remove(entry: Entry): void {
    if (isReady(entry.state)) this.undelivered -= 1;
    if (isHeld(entry.state)) this.held -= 1;
    const number = Math.floor(entry.seq / CHUNK_SLOTS);
    const index = number - this.firstChunk;
    const chunk = this.chunks[index]!;
    chunk.slots[entry.seq - number * CHUNK_SLOTS] = undefined;
    this.size -= 1;
    chunk.held -= 1;
    if (chunk.held > 0) return;
    this.chunks[index] = undefined;
    this.spare = chunk;
    let empty = 0;
    while (empty < this.chunks.length && this.chunks[empty] === undefined) empty += 1;
    if (empty > 0) {
      this.chunks.splice(0, empty);
      this.firstChunk += empty;
    }
  }

  private takeSpare(): Chunk | undefined {
    const spare = this.spare;
    this.spare = undefined;
    return spare;
  }

  /** The entry held at `seq`, if any. */
  at(seq: number): Entry | undefined {
    const number = Math.floor(seq / CHUNK_SLOTS);
    // A seq below the first chunk has a negative index, which holds nothing either.
    return this.chunks[number - this.firstChunk]?.slots[seq - number * CHUNK_SLOTS];
  }

  /** True if `entry` is still this window's record for its offset (not dropped by a reset). */
  holds(entry: Entry): boolean {
    return this.at(entry.seq) === entry;
  }

  /** Every held entry, in offset order (a copy: callers may change the window meanwhile). */
  entries(): Entry[] {
    const held: Entry[] = [];
    for (const chunk of this.chunks) {
      if (chunk) for (const entry of chunk.slots) if (entry) held.push(entry);
    }
    return held;
  }

  /**
   * Forgets the held records (not the acks): they are read again from ackFloor (a reconfigure).
   * Records being dead-lettered stay, and are not read again: their copy is under way, and read
   * again they would be delivered, or copied, a second time. Seqs stay: the origin is kept.
   */
  rewind(): void {
    this.startOver(this.ack.ackFloor, this.origin, this.entries().filter((entry) => entry.state === 'deadLettering'));
  }

  /** Forgets every held record (not the acks): the group ends. */
  clear(): void {
    this.startOver(this.ack.ackFloor);
  }

  /** Forgets every held record and its acks, and restarts at `offset` (a reset). */
  restartAt(offset: bigint): void {
    this.ack.resetTo(offset);
    this.startOver(offset);
  }

  /**
   * Retention took every record below `offset`: forgets those and moves the floor there (ack
   * skipTo); the records held above it stay as they are, in flight or not. Returns those dropped.
   */
  skipTo(offset: bigint): Entry[] {
    this.ack.skipTo(offset);
    const dropped = this.entries().filter((entry) => entry.offset < offset);
    for (const entry of dropped) {
      entry.backoff?.cancel();
      this.remove(entry);
    }
    if (this.readOffset < offset) this.startOver(offset);
    return dropped;
  }

  /** Reads again from `offset`, seqs counted from `origin` (at or below it), holding only `kept`. */
  private startOver(offset: bigint, origin = offset, kept: readonly Entry[] = []): void {
    this.generation += 1;
    // A kept record being dead-lettered may wait on `backoff` for its next copy attempt.
    for (const entry of this.entries()) if (!kept.includes(entry)) entry.backoff?.cancel();
    this.chunks = [];
    this.firstChunk = 0;
    this.size = 0;
    this.undelivered = 0;
    this.held = kept.filter((entry) => isHeld(entry.state)).length;
    this.origin = origin;
    this.readOffset = offset;
    this.cursorSeq = this.seqOf(offset);
    for (const entry of kept) this.place(entry);
  }
}
