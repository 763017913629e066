/**
 * A group's durable state: a snapshot file plus a journal of changes since it, the way Kafka
 * keeps consumer offsets in a log. The journal is a partition log of its own, so it gets CRC
 * framing, torn-tail recovery, group commit and the broker's fsync policy for free.
 *
 *   groups/<topic>/<group>/state.json        { generation, partitions: [AckStateSnapshot] } (group-state-file.ts)
 *   groups/<topic>/<group>/journal-<gen>/    segments of journal records
 *
 * A journal record holds what one flush changed on one partition (journal-codec.ts has the
 * grammar): a reset (ackFloor := offset, acks and attempts forgotten), offset ranges delivered
 * once, attempt counts above one (or given back), acked offset ranges.
 *
 * Every entry is idempotent (counts are absolute, acks are sets), so replaying a record twice is
 * harmless; that is what lets compaction write a snapshot of the live state and then simply start
 * a new journal generation. At open, the generation named by state.json wins and any other
 * journal directory is removed.
 *
 * Compaction runs behind the journal, so that flushes (which deliveries and acks wait for) do not
 * wait for its fsyncs: once the journal passes groupJournalBytesMax, open journal-(g+1); from the
 * moment it is open, take the snapshot (the live state, in the same synchronous step) and write
 * every flush to both journals; write state.json for g+1 (tmp -> fsync -> rename -> fsync dir);
 * then write to journal-(g+1) alone and delete journal-g. A crash before the rename recovers from
 * state.json g and journal-g, which has every change; after it, from the snapshot and
 * journal-(g+1), which has every change since the snapshot. A compaction that fails keeps writing
 * to both and is tried again once another groupJournalBytesMax has been written (compactAtBytes).
 */
import { dirname } from 'node:path';
import { BrookError, assert, encodeBatch, decodeBatch, mkdirDurable, writeFileAtomic, type FileSystem } from '@brook/protocol';
import { isOutOfSpace, logFailure } from '../log/log-failure.js';
import { PartitionLog, type PartitionLogOptions } from '../log/partition-log.js';
import { AckState } from './ack-state.js';
import { encodeStateFile, parseStateFile } from './group-state-file.js';
import { decodeChanges, encodeChangesList, type PartitionChanges } from './journal-codec.js';

/** A journal generation's directory: journal-<generation>. */
const JOURNAL_DIR_PATTERN = /^journal-(0|[1-9]\d*)$/;

export type JournalLogOptions = Omit<PartitionLogOptions, 'dir'>;

/**
 * The first failure of either of a journal's logs, kept for good. A compaction switching to the
 * next generation's log must not make the journal healthy again: after a failed fsync what is on
 * disk is unknown ("fsyncgate"), and the snapshot may hold changes whose write had failed (their
 * acks were answered IO_ERROR). Only a reopen, which replays what is there, can say. Its owner
 * (the logs' onFailure) is told once.
 */
class FirstFailure {
  error: BrookError | undefined;

  /** `logOptions` whose logs record their failure here, and tell the caller's onFailure of the first only. */
  static watching(logOptions: JournalLogOptions): { first: FirstFailure; logOptions: JournalLogOptions } {
    const first = new FirstFailure();
    const onFailure = (error: BrookError) => {
      if (first.error !== undefined) return;
      first.error = error;
      logOptions.onFailure?.(error);
    };
    return { first, logOptions: { ...logOptions, onFailure } };
  }
}

const JOURNAL_READ_BYTES = 1024 * 1024;

const SETTLED: Promise<void> = Promise.resolve();

export class GroupJournal {
  private pending: PartitionChanges[] = [];
  private flushing: Promise<void> | undefined;
  private nextFlush: Promise<void> | undefined;
  /** journal-(generation + 1) while a compaction runs (or failed and waits to be tried again). */
  private nextLog: PartitionLog | undefined;
  private compacting: Promise<void> | undefined;
  /** Set by close() once its last flush is done: a change recorded after it is refused, not a failure. */
  private closed = false;
  /** Why the last compaction failed, until one succeeds (describeGroup shows it). */
  compactionFailure: unknown;
  /** Why changes wait unwritten (a write refused for want of space), until a write succeeds (describeGroup shows it). */
  refusedWrite: unknown;
  /**
   * The journal size that starts the next compaction: journalBytesMax, and after a failure another
   * journalBytesMax further on, so that a disk that keeps failing costs one more attempt per
   * journalBytesMax written rather than one per flush.
   */
  private compactAtBytes: number;

  private constructor(
    private readonly fs: FileSystem,
    private readonly dir: string,
    private readonly logOptions: JournalLogOptions,
    private readonly firstFailure: FirstFailure,
    private readonly journalBytesMax: number,
    private log: PartitionLog,
    private generation: number,
    private readonly states: AckState[],
  ) {
    this.compactAtBytes = journalBytesMax;
  }

  /**
   * Why the journal refuses every write until the broker is reopened (a failed write or fsync,
   * the fsync { intervalMs } timer's too, which no caller waits for); undefined while healthy.
   */
  get failure(): BrookError | undefined {
    return this.firstFailure.error;
  }

  /** Opens (or creates, with every partition's floor at `initialFloors`, one per partition) a group's state. */
  static async open(
    fs: FileSystem, dir: string, givenLogOptions: JournalLogOptions, journalBytesMax: number, partitions: number, initialFloors: () => Promise<bigint[]>,
  ): Promise<{ journal: GroupJournal; states: AckState[]; created: boolean }> {
    const { first, logOptions } = FirstFailure.watching(givenLogOptions);
    await mkdirDurable(fs, dir);
    // A group directory made before a kill may exist without a durable entry in its parent
    // (groups/<topic>/), and that one in groups/: make both durable before trusting them.
    if (!logOptions.cleanShutdown) {
      await fs.syncDir(dirname(dir));
      await fs.syncDir(dirname(dirname(dir)));
    }
    const statePath = `${dir}/state.json`;
    const stateFile = (await fs.exists(statePath)) ? parseStateFile(statePath, await fs.readFile(statePath), partitions) : undefined;
    const created = stateFile === undefined;
    const states = stateFile
      ? stateFile.snapshots.map((snapshot) => AckState.restore(snapshot))
      : (await initialFloors()).map((floor) => new AckState(floor));
    const generation = stateFile?.generation ?? 0;
    if (created) await writeFileAtomic(fs, statePath, encodeStateFile(generation, states));
    // Other generations' journals are what a crash left of a compaction; a name that no
    // generation has is not Brook's and stays.
    for (const name of await fs.readdir(dir)) {
      if (JOURNAL_DIR_PATTERN.test(name) && name !== `journal-${generation}`) await fs.rmdir(`${dir}/${name}`);
    }
    const log = await PartitionLog.open({ ...logOptions, dir: `${dir}/journal-${generation}` });
    try {
      await replay(log, states, `${dir}/journal-${generation}`);
    } catch (error) {
      // A record that does not replay fails the open: no handle (nor fsync timer) of it may stay.
      await log.close();
      throw error;
    }
    return { journal: new GroupJournal(fs, dir, logOptions, first, journalBytesMax, log, generation, states), states, created };
  }

  /**
   * Records that `offset` was handed out for the `count`-th time. Durable with the next flush.
   * `nextOffset` is offset + 1 (Entry.nextOffset), as for ack().
   */
  attempt(partition: number, offset: bigint, count: number, nextOffset: bigint): void {
    const changes = this.changesFor(partition);
    // Replay applies "f" before "n": once this record has an "n" (a count given back), first
    // attempts go there too, after it.
    if (count === 1 && !changes.n) addToRanges((changes.f ??= []), offset, nextOffset);
    else (changes.n ??= []).push([offset, count]);
  }

  /** Records that an attempt did not happen after all: `offset` is back to `count` attempts. */
  attemptGivenBack(partition: number, offset: bigint, count: number): Promise<void> {
    (this.changesFor(partition).n ??= []).push([offset, count]);
    return this.flush();
  }

  ack(partition: number, offset: bigint, nextOffset = offset + 1n): Promise<void> {
    addToRanges((this.changesFor(partition).a ??= []), offset, nextOffset);
    return this.flush();
  }

  /**
   * Retention took [from, to): journaled as acked, which moves the floor to `to` on replay and,
   * unlike a reset, keeps the acks and attempts above it.
   */
  skip(partition: number, from: bigint, to: bigint): Promise<void> {
    (this.changesFor(partition).a ??= []).push([from, to]);
    return this.flush();
  }

  reset(partition: number, floor: bigint): Promise<void> {
    this.pending.push({ p: partition, r: floor });
    return this.flush();
  }

  /**
   * Resolves once everything recorded so far is durable (per the fsync policy). Every caller
   * until the write starts gets the same promise: one per flush, not one per ack.
   */
  flush(): Promise<void> {
    if (this.nextFlush) return this.nextFlush;
    // After the flush under way, failed or not, and at least a microtask later: every change of
    // this turn joins the same flush. One that failed for good left the journal's failure for
    // writePending to refuse this one with; one refused for want of space, its changes for this
    // one to write. A `then`, not an async function: a flush runs twice a round at a low rate,
    // and a suspended frame and a promise per await cost more heap than the write.
    const write = (): Promise<void> => {
      this.nextFlush = undefined;
      this.flushing = this.writePending();
      return this.flushing;
    };
    this.nextFlush = (this.flushing ?? SETTLED).then(write, write);
    // Callers may drop it (a handler's implicit ack does): a failed write must not also be an
    // unhandled rejection. Whoever awaits it still gets the error.
    this.nextFlush.catch(() => undefined);
    return this.nextFlush;
  }

  /**
   * Flushes, then closes both journals. They close even when the flush fails (a log's write
   * failure is sticky, so every later flush fails too): no file handle outlives the journal.
   */
  async close(): Promise<void> {
    try {
      await this.flush();
    } finally {
      this.closed = true;
      await this.compacting;
      await this.nextLog?.close();
      await this.log.close();
    }
  }

  private async writePending(): Promise<void> {
    // A failure is for good, even once a compaction has moved on to a healthy log.
    if (this.firstFailure.error) throw this.firstFailure.error;
    const changes = this.pending;
    this.pending = [];
    if (changes.length === 0) return;
    // The group was closed (its topic deleted, the group deleted, the broker closing) and a change
    // came after, e.g. the ack of a record a redrive moved back. Its closed logs would refuse the
    // write with CLOSED, which is no failure of the disk: reported as one, it would mark the data
    // directory unhealthy and cost the next open its clean shutdown.
    if (this.closed) throw new BrookError('CLOSED', `group journal ${this.dir} is closed`, { dir: this.dir });
    const timestamp = this.logOptions.clock.now();
    const records = encodeChangesList(changes).map((value) => ({ key: null, value, timestamp }));
    // Each log patches its batch's baseOffset in place, so each gets its own encoding. Promise.all
    // only while a compaction writes to both: it costs more than the append itself, twice a round.
    const next = this.nextLog;
    try {
      const appended = this.log.append(encodeBatch(records));
      await (next ? Promise.all([appended, next.append(encodeBatch(records))]) : appended);
    } catch (error) {
      if (this.firstFailure.error === undefined && isOutOfSpace(error)) {
        // A write refused for want of space left its log healthy: the log cut back whatever
        // part reached the file (in a compaction's other log all of it may be there, and a
        // record replayed twice is harmless). Its changes go back ahead of those recorded since,
        // in order, for the next flush: a disk that fills up and is freed again costs the
        // flushes meanwhile (their acks IO_ERROR), not the group until a restart.
        this.pending = [...changes, ...this.pending];
        this.refusedWrite = error;
        throw error;
      }
      // Any other failed write fails the journal for good: the device is failing, and writing
      // later changes without the lost ones would put on disk a state the group never had (a
      // reset lost before the acks made after it).
      this.logOptions.onFailure?.(logFailure(`${this.dir}/journal-${this.generation}`, error));
      throw this.firstFailure.error ?? error;
    }
    this.refusedWrite = undefined;
    if (this.log.sizeBytes > this.compactAtBytes) this.compacting ??= this.compact();
  }

  /** The compaction in the file comment; never rejects (a failed one is tried again later). */
  private async compact(): Promise<void> {
    const generation = this.generation + 1;
    try {
      this.nextLog ??= await PartitionLog.open({ ...this.logOptions, dir: `${this.dir}/journal-${generation}` });
      // Taken in the step that starts the double writes: every change is in the snapshot or in
      // a flush written to journal-(g+1), or both.
      // A failed journal writes no snapshot: it could hold changes whose write failed.
      if (this.firstFailure.error) throw this.firstFailure.error;
      const snapshot = encodeStateFile(generation, this.states);
      await writeFileAtomic(this.fs, `${this.dir}/state.json`, snapshot);
      const old = this.log;
      this.log = this.nextLog;
      this.nextLog = undefined;
      this.generation = generation;
      await old.close();
      await this.fs.rmdir(`${this.dir}/journal-${generation - 1}`);
      this.compactionFailure = undefined;
      this.compactAtBytes = this.journalBytesMax;
    } catch (error) {
      // Still writing to both journals if journal-(g+1) is open: whichever state.json is on
      // disk, its journal has every change since. Tried again journalBytesMax further on.
      this.compactionFailure = error;
      this.compactAtBytes = this.log.sizeBytes + this.journalBytesMax;
    } finally {
      this.compacting = undefined;
    }
  }

  /** The open changes record for a partition: a reset always starts a new one. */
  private changesFor(partition: number): PartitionChanges {
    for (let i = this.pending.length - 1; i >= 0; i--) {
      if (this.pending[i]!.p === partition) return this.pending[i]!;
    }
    const changes: PartitionChanges = { p: partition };
    this.pending.push(changes);
    return changes;
  }
}

async function replay(log: PartitionLog, states: AckState[], file: string): Promise<void> {
  for (let offset = log.startOffset; offset < log.endOffset;) {
    const batches = await log.read(offset, { maxBytes: JOURNAL_READ_BYTES });
    // Never empty below endOffset; stopping there would drop every later change in silence.
    assert(batches.length > 0, 'a journal read below its end returned nothing', { file, offset });
    for (const batch of batches) {
      for (const record of decodeBatch(batch.bytes, 0, { crcVerified: true }).records) {
        applyChanges(states, decodeChanges(record.value!, file), file);
        offset = record.offset + 1n;
      }
    }
  }
}

function applyChanges(states: AckState[], changes: PartitionChanges, file: string): void {
  const state = states[changes.p];
  // The partition count never changes, so a record of another partition is no change to skip:
  // a bug, or a journal that is not this group's (the CRC passed).
  if (!state) {
    throw new BrookError('CORRUPT_METADATA', `${file}: a group journal record names partition ${changes.p}, the topic has ${states.length}`, {
      file, partition: changes.p,
    });
  }
  if (changes.r !== undefined) state.resetTo(changes.r);
  for (const [start, end] of changes.f ?? []) {
    for (let o = start; o < end; o++) if (state.attempts(o) === 0) state.restoreAttempts(o, 1);
  }
  for (const [offset, count] of changes.n ?? []) state.restoreAttempts(offset, count);
  for (const [start, end] of changes.a ?? []) {
    // A range from the floor up (a skip past what retention took can be millions) moves it at once.
    if (start <= state.ackFloor) state.skipTo(end);
    else for (let o = start; o < end; o++) state.ack(o);
  }
}

/** Appends `offset` to a list of [start, end) ranges, extending the last one when adjacent. */
function addToRanges(ranges: [bigint, bigint][], offset: bigint, nextOffset: bigint): void {
  const last = ranges[ranges.length - 1];
  if (last && last[1] === offset) last[1] = nextOffset;
  else ranges.push([offset, nextOffset]);
}
