/**
 * Redrive: moving what a dead-letter topic holds back to the topics its records came from, oldest
 * first. Progress is the ackFloor of an internal group on the dead-letter topic that never has
 * members: records are read from its floor and acked here directly, with no deliveries or leases,
 * so a redrive survives restarts like any group's position. It is made at the first record moved.
 *
 * Each record is moved once: redrives of one dead-letter topic run one after another (a call made
 * while another runs waits for it, then moves what is left), and a record counts as redriven only
 * once its ack is durable. That ack follows the append to the origin topic, so a crash between the
 * two moves the record again after the restart: at-least-once, like any consumer's
 * process-then-ack. The copy back is fsynced before the ack whatever the policy (produceCopies),
 * so the ack never outlives it.
 */
import { BrookError, checkRedriveArgs, decodeBatch, invalidField, isBrookError, type LogRecord } from '@brook/protocol';
import { topicDeletedError } from '../ending-errors.js';
import type { PartitionLog } from '../log/partition-log.js';
import type { ProduceRecord } from '../topics/record-input.js';
import { CopyBatchRoom, copySizeBytes, type CopyLimits } from './copy-batch.js';
import { deadLetterRecord, type ParsedDeadLetter } from './dead-letter.js';
import type { Group } from './group.js';
import { KeyedQueue } from './keyed-queue.js';

/** The internal group that remembers how far a dead-letter topic has been redriven. */
export const REDRIVE_GROUP = 'brook.redrive';

export interface RedriveResult {
  /** Records appended to their origin topic and partition; they count as redriven from then on. */
  readonly moved: number;
  /**
   * Records left waiting in the dead-letter topic because they cannot go back: their origin topic
   * or partition no longer exists, the origin refuses them for good (MESSAGE_TOO_LARGE), or they
   * are not dead-letter records. Every redrive tries them
   * again, so a topic created again under the origin's name takes them back.
   */
  readonly skipped: number;
}

export interface RedriveOptions {
  /** Most records to move. */
  readonly maxRecords?: number | undefined;
  /**
   * Per dead-letter partition, the offset before which to stop (the endOffsets a caller saw): a
   * redrive in several calls moves what waited when it began, not records dead-lettered since.
   */
  readonly endOffsets?: readonly bigint[] | undefined;
}

/** redrive's options checked: the number of records it may move (all, without maxRecords), and where to stop. */
export function checkRedriveOptions(options: RedriveOptions): { maxRecords: number; endOffsets?: readonly bigint[] | undefined } {
  checkRedriveArgs(options);
  return { maxRecords: options.maxRecords ?? Number.MAX_SAFE_INTEGER, endOffsets: options.endOffsets };
}

export type ProduceBack = (topic: string, records: ProduceRecord[]) => Promise<unknown>;

export interface RedriveDeps {
  readonly fetchBytes: number;
  readonly partitions: (topic: string) => readonly PartitionLog[];
  /** The dead-letter topic's REDRIVE_GROUP if it has one, else undefined, or with `create`, one made at its earliest offset. */
  readonly progress: (deadLetterTopic: string, create: boolean) => Promise<Group | undefined>;
  readonly produceBack: ProduceBack;
  /** The batch limits of a topic: a run of records going back to it is one batch. */
  readonly copyLimits: (topic: string) => CopyLimits;
}

export class Redriver {
  /** Per dead-letter topic, the redrives under way, one at a time. */
  private readonly queues = new KeyedQueue();

  constructor(private readonly deps: RedriveDeps) {}

  /**
   * Redrives up to `maxRecords`. Only what the dead-letter topic holds when called is moved:
   * records dead-lettered later (during this or an earlier redrive) wait for the next call.
   * `endOffsets` bound it further (a partition they leave out has none).
   */
  redrive(deadLetterTopic: string, maxRecords: number, endOffsets?: readonly bigint[]): Promise<RedriveResult> {
    const partitions = this.deps.partitions(deadLetterTopic);
    // More than one per partition: offsets seen of another topic, not a place to stop in this one.
    if (endOffsets && endOffsets.length > partitions.length) {
      throw invalidField('endOffsets', `at most one offset per partition of ${deadLetterTopic} (${partitions.length})`, endOffsets, { partitions: partitions.length });
    }
    const ends = partitions.map((log, i) => {
      const end = endOffsets?.[i];
      return end !== undefined && end < log.endOffset ? end : log.endOffset;
    });
    return this.queues.run(deadLetterTopic, async () => {
      // Deleted and made again while this call waited behind another: `ends` are offsets of the
      // topic it was called on, and the one there now holds only records dead-lettered since.
      const sameTopic = (): void => {
        if (this.deleted(deadLetterTopic, partitions)) throw topicDeletedError(deadLetterTopic);
      };
      sameTopic();
      const group = new ProgressGroup(await this.deps.progress(deadLetterTopic, false), () => this.deps.progress(deadLetterTopic, true));
      sameTopic();
      return this.run(deadLetterTopic, group, partitions, ends, maxRecords);
    });
  }

  /** Moves what `logs` (the dead-letter topic's partitions when called) hold below `ends`. */
  private async run(topic: string, group: ProgressGroup, logs: readonly PartitionLog[], ends: readonly bigint[], maxRecords: number): Promise<RedriveResult> {
    const progress: RedriveProgress = { moved: 0, skipped: 0 };
    try {
      for (const [partition, log] of logs.entries()) {
        // A delete under the read closes the log (CLOSED, which Broker.redrive tells as UNKNOWN_TOPIC).
        const run = new RunBack(partition, this.deps.copyLimits);
        // Skipped records stay unacked below acked ones, so the floor is where reading starts, not a
        // cursor; the runs acked above them are read over, not read (recordsBetween).
        const unacked = (offset: bigint): bigint => group.firstUnackedFrom(partition, offset);
        for await (const record of recordsBetween(log, group.floor(partition, log), ends[partition]!, this.deps.fetchBytes, unacked)) {
          if (group.isAcked(partition, record.offset)) continue;
          const parsed = deadLetterRecord.parse(record);
          if (!parsed) {
            // Behind a run, it counts once the run is done: a run that fails stops before it.
            if (run.count > 0) run.skipOne();
            else progress.skipped += 1;
            continue;
          }
          if (!run.takes(parsed, record.offset)) {
            await this.moveBack(group, run, progress);
            run.takes(parsed, record.offset);
          }
          // Moved at once, so that a redrive that has moved its last record looks no further.
          if (progress.moved + run.count === maxRecords) {
            await this.moveBack(group, run, progress);
            if (progress.moved === maxRecords) return { moved: progress.moved, skipped: progress.skipped };
          }
        }
        // Short of maxRecords still: the loop returns once it is reached.
        await this.moveBack(group, run, progress);
      }
    } catch (error) {
      // Deleted under it (its redrive group, made at the first ack, then fails to open on a topic
      // gone): no records are left to retry, so no progress to tell, however it failed.
      if (this.deleted(topic, logs)) throw topicDeletedError(topic);
      throw stoppedPartWay(topic, error, progress);
    }
    return { moved: progress.moved, skipped: progress.skipped };
  }

  /** Whether the dead-letter topic whose partitions were `logs` is gone (deleted, or deleted and made again). */
  private deleted(topic: string, logs: readonly PartitionLog[]): boolean {
    try {
      return this.deps.partitions(topic)[0] !== logs[0];
    } catch (error) {
      if (isBrookError(error, 'UNKNOWN_TOPIC')) return true;
      throw error;
    }
  }

  /**
   * Appends the run to its origin partition in one produce (a record at a time if the origin has
   * no room for it whole), then acks its records here; if its origin topic or partition is gone,
   * they are skipped (RedriveResult.skipped). Empty after.
   */
  private async moveBack(group: ProgressGroup, run: RunBack, progress: RedriveProgress): Promise<void> {
    if (run.count === 0) return;
    try {
      await this.moveRecords(group, run, 0, run.count, progress);
    } catch (error) {
      // A discard 'new' origin may have room for fewer records than the run (or hold less than
      // the run at all, MESSAGE_TOO_LARGE): they go a record at a time, as far as room allows,
      // as the records alone would have.
      if (run.count === 1 || !(isBrookError(error, 'TOPIC_FULL') || isBrookError(error, 'MESSAGE_TOO_LARGE'))) throw error;
      for (let i = 0; i < run.count; i++) await this.moveRecords(group, run, i, i + 1, progress);
    }
    run.clear();
  }

  /** moveBack of the run's records [from, to): one produce, then their acks. */
  private async moveRecords(group: ProgressGroup, run: RunBack, from: number, to: number, progress: RedriveProgress): Promise<void> {
    const offsets = run.offsets.slice(from, to);
    progress.stoppedAt = { partition: run.partition, offset: offsets[0]! };
    try {
      await this.deps.produceBack(run.originTopic, run.records.slice(from, to));
    } catch (error) {
      if (!cannotGoBack(error, offsets.length)) throw error;
      progress.skipped += offsets.length + run.skippedAfter(from, to);
      progress.stoppedAt = undefined;
      return;
    }
    try {
      await group.ack(run.partition, offsets);
    } catch (error) {
      // In the origin already, but not acked: a later redrive (after a reopen) moves them again.
      progress.appendedNotAcked = offsets.length;
      throw error;
    }
    progress.moved += offsets.length;
    progress.skipped += run.skippedAfter(from, to);
    progress.stoppedAt = undefined;
  }
}

/**
 * The redrive group as a redrive sees it, made at the first record moved: a redrive that moves
 * nothing (of a topic holding no dead-letter records, a typo; or records none of which can go
 * back yet) leaves none, whose floor would hold a discard 'new' topic's room for good while every
 * consumer keeps up. Until made, nothing is acked and reading starts at the topic's startOffset.
 */
class ProgressGroup {
  constructor(
    private group: Group | undefined,
    private readonly create: () => Promise<Group | undefined>,
  ) {}

  floor(partition: number, log: PartitionLog): bigint {
    return this.group?.windows[partition]!.ack.ackFloor ?? log.startOffset;
  }

  isAcked(partition: number, offset: bigint): boolean {
    return this.group?.windows[partition]!.ack.isAcked(offset) ?? false;
  }

  firstUnackedFrom(partition: number, offset: bigint): bigint {
    return this.group?.windows[partition]!.ack.firstUnackedFrom(offset) ?? offset;
  }

  async ack(partition: number, offsets: readonly bigint[]): Promise<void> {
    this.group ??= await this.create();
    const group = this.group!;
    await Promise.all(offsets.map((offset) => group.ackDirectly(partition, offset)));
  }
}

/**
 * Whether a produce of `count` records back to their origin failed because they cannot go back
 * (RedriveResult.skipped) rather than not now: the origin topic or partition is gone, or a record
 * alone is more than the origin can ever take (MESSAGE_TOO_LARGE, not retriable: its
 * batchBytesMax lowered, or made again with a smaller discard 'new' maxBytes). Stopping there
 * would hold back every later record of its dead-letter partition on every redrive. A run of
 * several refused as too large goes again a record at a time (moveBack), so is not skipped whole.
 */
function cannotGoBack(error: unknown, count: number): boolean {
  return isBrookError(error, 'UNKNOWN_TOPIC') || isBrookError(error, 'UNKNOWN_PARTITION') || (count === 1 && isBrookError(error, 'MESSAGE_TOO_LARGE'));
}

/**
 * Dead-letter records of one partition going back together: consecutive ones (skipping what
 * cannot go back) with the same origin topic and partition, within the batch limits, so that
 * one produce (one batch, one fsync) and one journal flush move them all. A run is one batch of
 * one partition, so it is appended whole or not at all.
 */
class RunBack {
  originTopic = '';
  private originPartition = -1;
  readonly records: ProduceRecord[] = [];
  readonly offsets: bigint[] = [];
  /** Per record, the records after it (before the next) that cannot go back (RedriveResult.skipped). */
  private readonly skipped: number[] = [];
  /** Made for each run, with its origin topic's limits (under discard 'new', its maxBytes). */
  private room: CopyBatchRoom | undefined;

  constructor(
    readonly partition: number,
    private readonly limitsOf: (topic: string) => CopyLimits,
  ) {}

  get count(): number {
    return this.records.length;
  }

  /** Adds the record at `offset` if it goes where the run goes and fits; false leaves the run as it was. */
  takes(parsed: ParsedDeadLetter, offset: bigint): boolean {
    const { origin, record } = parsed;
    if (this.count > 0 && (origin.topic !== this.originTopic || origin.partition !== this.originPartition)) return false;
    this.room ??= new CopyBatchRoom(this.limitsOf(origin.topic));
    if (!this.room.take(copySizeBytes(record))) return false;
    this.originTopic = origin.topic;
    this.originPartition = origin.partition;
    this.records.push({ ...record, partition: origin.partition });
    this.offsets.push(offset);
    this.skipped.push(0);
    return true;
  }

  /** A record after the run's last that cannot go back. */
  skipOne(): void {
    this.skipped[this.count - 1]! += 1;
  }

  /** The records skipped after each of records [from, to). */
  skippedAfter(from: number, to: number): number {
    let sum = 0;
    for (let i = from; i < to; i++) sum += this.skipped[i]!;
    return sum;
  }

  clear(): void {
    this.records.length = 0;
    this.offsets.length = 0;
    this.skipped.length = 0;
    this.room = undefined;
  }
}

/** How far a redrive got: its counts, and the dead-letter record it is handling, if any. */
interface RedriveProgress {
  moved: number;
  skipped: number;
  stoppedAt?: { partition: number; offset: bigint } | undefined;
  /** Records from stoppedAt that went back but whose acks failed (a failed journal). */
  appendedNotAcked?: number;
}

/**
 * A redrive's failure (an origin topic full, an I/O error, ...) with what it did before: what it
 * moved stays moved, so a caller retrying needs to know how far it got. Same code and retriable;
 * details gain `moved`, `skipped` and, if it failed on a record, `deadLetterPartition` /
 * `deadLetterOffset` of that record (not moved: it waits with everything after it).
 */
function stoppedPartWay(deadLetterTopic: string, error: unknown, progress: RedriveProgress): unknown {
  if (!isBrookError(error)) return error;
  const { moved, skipped, stoppedAt, appendedNotAcked } = progress;
  const at = stoppedAt ? { deadLetterPartition: stoppedAt.partition, deadLetterOffset: stoppedAt.offset } : {};
  const where = stoppedAt ? ` at ${deadLetterTopic}/${stoppedAt.partition}@${stoppedAt.offset}` : '';
  const twice = appendedNotAcked ? `; ${appendedNotAcked} from there went back but their acks failed, and will go back again` : '';
  return new BrookError(error.code, `redrive of ${deadLetterTopic} stopped${where} (moved ${moved}, skipped ${skipped} before it${twice}): ${error.description}`, {
    ...error.details, deadLetterTopic, moved, skipped, ...at, ...(appendedNotAcked ? { appendedNotAcked } : {}),
  }, { cause: error });
}

/**
 * The records of [from, end) in offset order, read `fetchBytes` at a time, less what the
 * dead-letter topic's retention deletes meanwhile (the redrive group counts those as lost). Each
 * read starts at `unacked(next)`, past the run acked there: a record that stays (skipped) keeps the
 * floor below every record moved after it, and each redrive read them all again from there, so
 * a large dead-letter topic redriven in requests (the CLI's) cost O(n^2) reads.
 */
async function* recordsBetween(
  log: PartitionLog, from: bigint, end: bigint, fetchBytes: number, unacked: (offset: bigint) => bigint,
): AsyncGenerator<LogRecord> {
  let next = from;
  while (next < end) {
    next = unacked(next);
    // In the step that reads: the read checks its offset against startOffset when called.
    if (next < log.startOffset) next = log.startOffset;
    if (next >= end) return;
    const batches = await log.read(next, { maxBytes: fetchBytes });
    if (batches.length === 0) return;
    const readFrom = next;
    for (const { header, bytes } of batches) {
      // Wholly below next (acked, or read already): not decoded.
      if (header.baseOffset + BigInt(header.lastOffsetDelta) < next) continue;
      for (const record of decodeBatch(bytes, 0, { crcVerified: true }).records) {
        if (record.offset < next) continue;
        if (record.offset >= end) return;
        yield record;
        next = unacked(record.offset + 1n);
      }
    }
    // Nothing in what was read lay at or past next: the log holds no more.
    if (next === readFrom) return;
  }
}
