/**
 * A partition's idempotent-produce front: its idempotence table, a lane per producer with batches
 * in flight, and the snapshot that lets a restart replay only the tail of the log.
 *
 * Lanes. A producer's batches are checked and appended in groups (AppendGroup): while one group
 * is in the log, the producer's later batches wait in its lane and go as the next group once the
 * first has settled. So when a group fails, nothing behind it has reached the log: those batches
 * are checked against a table without the failed one and fail with OUT_OF_ORDER_SEQUENCE
 * (expected: the failed batch's first sequence), which tells the client to resend from there.
 * Pipelining survives: whatever queued up behind a group goes to the log together, one group per
 * round of the log. Different producers never wait for each other.
 *
 * Snapshots. `snapshot()` writes the table with the offset it covers: endOffset, or, while a group
 * is in the log, the endOffset when it was handed over (its batches land at or above it, and the
 * table does not have them yet). Batches other groups committed past that offset may be in the
 * snapshot too; replay skips them. Under an fsync policy other than 'always' the log is flushed
 * first, so the snapshot never holds a batch a power cut could take away.
 */
import type { BatchHeader, FileSystem } from '@brook/protocol';
import type { PartitionLog } from '../log/partition-log.js';
import { AppendGroup, type Admission, type EpochCheck, type IdempotentAppendResult, type WaitingBatch } from './append-group.js';
import { OneAtATime } from './one-at-a-time.js';
import { isOutOfSpace } from '../log/log-failure.js';
import { encodeSnapshot, removeSnapshot, writeSnapshot } from './producer-snapshot.js';
import { recoverProducerState, type ProducerRecoveryReport, type SnapshotUse } from './producer-state-recovery.js';
import type { ProducerStateTable } from './producer-state-table.js';

export interface PartitionProducersOptions {
  readonly fs: FileSystem;
  readonly log: PartitionLog;
  /** The partition's directory: the snapshot lives next to the segments. */
  readonly dir: string;
  readonly producersMax: number;
  /** fsync 'always': an append is durable once it resolves, so a snapshot needs no flush first. */
  readonly appendsDurable: boolean;
  readonly checkEpoch: EpochCheck;
}

interface Lane {
  waiting: WaitingBatch[];
  /** The log's endOffset when the lane's current group was handed over; undefined between groups. */
  handedOverAt: bigint | undefined;
  /** Settles once the lane is empty and removed. */
  drained: Promise<void>;
}

export class PartitionProducers {
  private readonly lanes = new Map<bigint, Lane>();
  private readonly snapshots = new OneAtATime();
  /** The offset of the snapshot on disk, if it is one this table agrees with. */
  private writtenOffset: bigint | undefined;
  /** Set by retire(): the partition is going away, and so is its directory. */
  private retired = false;

  private constructor(
    private readonly options: PartitionProducersOptions,
    private readonly table: ProducerStateTable,
    readonly recovery: ProducerRecoveryReport,
  ) {}

  /** Rebuilds the table from the snapshot and the log (see producer-state-recovery.ts). */
  static async open(options: PartitionProducersOptions): Promise<PartitionProducers> {
    const { table, report } = await recoverProducerState(options.fs, options.dir, options.log, options.producersMax);
    const producers = new PartitionProducers(options, table, report);
    if (report.snapshot === 'used') producers.writtenOffset = report.replayedFromOffset;
    else await producers.replaceSnapshot(report.snapshot);
    return producers;
  }

  /** Each producer the table remembers, with its epoch. */
  *producerEpochs(): IterableIterator<[bigint, number]> {
    for (const [producerId, { epoch }] of this.table) yield [producerId, epoch];
  }

  /** Producers the table remembers. */
  get producerCount(): number {
    return this.table.size;
  }

  /**
   * Appends an idempotent producer's batch, or answers a retry with the original's offsets.
   * Batches of one producer are checked in the order of the calls.
   */
  append(header: BatchHeader, bytes: Uint8Array, admit: () => Promise<Admission>): Promise<IdempotentAppendResult> {
    return new Promise((resolve, reject) => {
      const item: WaitingBatch = { header, bytes, admit, resolve, reject };
      const lane = this.lanes.get(header.producerId);
      if (lane) lane.waiting.push(item);
      else this.openLane(header.producerId, item);
    });
  }

  /** Resolves once no batch is waiting or in the log. */
  async quiesce(): Promise<void> {
    while (this.lanes.size > 0) await Promise.all([...this.lanes.values()].map((lane) => lane.drained));
  }

  /** Writes the snapshot if the log moved since the last one; one write at a time. */
  snapshot(): Promise<void> {
    return this.snapshots.run(() => (this.retired ? Promise.resolve() : this.writeSnapshot()));
  }

  /**
   * For a partition being deleted: lets its batches and a snapshot under way finish, and writes
   * no snapshot after. A write still under way when the directory is removed and created again
   * (deleteTopic, then createTopic of the name) would put this state into the new partition.
   */
  async retire(): Promise<void> {
    this.retired = true;
    await this.quiesce();
    await this.snapshot(); // writes nothing: it waits for the write queued before it
  }

  /**
   * At open: a snapshot that disagrees with the log is replaced before the log can grow past it
   * and make it look valid (and a missing one written, so that the next open replays less). On a
   * full disk the write is refused: the snapshot is removed instead (an unlink needs no room),
   * and the periodic snapshot writes one once there is room. A snapshot only saves a replay, and
   * a broker stopped by a full disk must open again to free space (deleteTopic, retention).
   */
  private async replaceSnapshot(use: SnapshotUse): Promise<void> {
    try {
      await this.snapshot();
    } catch (error) {
      if (!isOutOfSpace(error)) throw error;
      if (use !== 'missing') await removeSnapshot(this.options.fs, this.options.dir);
    }
  }

  private openLane(producerId: bigint, item: WaitingBatch): void {
    const lane: Lane = { waiting: [item], handedOverAt: undefined, drained: Promise.resolve() };
    this.lanes.set(producerId, lane);
    lane.drained = this.drainLane(producerId, lane);
  }

  private async drainLane(producerId: bigint, lane: Lane): Promise<void> {
    while (lane.waiting.length > 0) {
      const items = lane.waiting;
      lane.waiting = [];
      // Judged against the entry as it is now: admit's judgment of which batches are retries must be offer's.
      const group = new AppendGroup(this.table.get(producerId), this.options.log, this.options.checkEpoch);
      // Awaited together, in order: a slow check cannot let a later batch overtake an earlier one.
      const admissions = await group.admit(items);
      lane.handedOverAt = this.options.log.endOffset;
      items.forEach((item, i) => group.offer(item, admissions[i]!));
      this.table.touch(producerId);
      await group.settle((entry) => this.table.set(producerId, entry));
      lane.handedOverAt = undefined;
    }
    this.lanes.delete(producerId);
  }

  private async writeSnapshot(): Promise<void> {
    const offset = this.coveredOffset();
    if (offset === this.writtenOffset) return;
    const bytes = encodeSnapshot(offset, this.table);
    if (!this.options.appendsDurable) await this.options.log.flush();
    await writeSnapshot(this.options.fs, this.options.dir, bytes);
    this.writtenOffset = offset;
  }

  /** The offset below which the table holds every idempotent batch of the log. */
  private coveredOffset(): bigint {
    let offset = this.options.log.endOffset;
    for (const { handedOverAt } of this.lanes.values()) {
      if (handedOverAt !== undefined && handedOverAt < offset) offset = handedOverAt;
    }
    return offset;
  }
}
