/**
 * Idempotent produce, broker-wide: the producer registry (ids and epochs), each partition's
 * PartitionProducers, and the timer that snapshots them.
 *
 * Every partition's producer state is rebuilt at open, from its snapshot and the log's tail past
 * it (the first open of a partition without a snapshot reads its whole log once; the snapshot
 * written then makes the next opens read only the tail). The registry needs all of them before it
 * hands out an id: see open().
 */
import { BrookError, isBrookError, type BatchHeader, type Clock, type FileSystem, type Random, type Timer } from '@brook/protocol';
import { asIoError } from '../log/log-failure.js';
import type { PartitionLog } from '../log/partition-log.js';
import type { Admission, IdempotentAppendResult } from './append-group.js';
import { PartitionProducers } from './partition-producers.js';
import { NO_PRODUCER_ID } from './producer-entry.js';
import { ProducerRegistry, type InitProducerRequest, type ProducerIdentity } from './producer-registry.js';
import { discardSnapshotAheadOfLog } from './producer-state-recovery.js';
import { settleEach } from '../steps.js';

export interface ProducersOptions {
  readonly fs: FileSystem;
  readonly clock: Clock;
  /** With the clock, makes a new data directory's incarnation (producer-registry.ts). */
  readonly random: Random;
  readonly dataDir: string;
  /** fsync 'always': an append is durable once it resolves. */
  readonly appendsDurable: boolean;
  readonly producersPerPartitionMax: number;
  readonly producerSnapshotIntervalMs: number;
}

/** A partition as the broker knows it: its log and its directory (the snapshot goes there). */
export interface PartitionTarget {
  readonly log: PartitionLog;
  readonly dir: string;
}

export class Producers {
  /** By partition directory; a failed load is removed so that the next batch tries again. */
  private readonly partitions = new Map<string, Promise<PartitionProducers>>();
  private readonly registry: ProducerRegistry;
  /** By partition directory: why the periodic snapshot last failed, until one is written (describeTopic). */
  private readonly snapshotFailures = new Map<string, BrookError>();
  private snapshotTimer: Timer | undefined;
  private closed = false;

  constructor(private readonly options: ProducersOptions) {
    this.registry = new ProducerRegistry(options.fs, options.dataDir);
  }

  /**
   * Loads the registry and rebuilds every partition's producer state, each of which raises the
   * registry to what it remembers (see partition()). After an unclean stop (`cleanShutdown`
   * false) a snapshot ahead of a log is removed first (see discardSnapshotAheadOfLog): nothing
   * appended later can make it look valid. All of them, not only logs whose recovery cut a tail
   * this time: a crash between the cut and this check leaves the next open nothing to cut. Every
   * partition, at open: an id handed out before a partition was looked at could not be taken back.
   */
  async open(partitions: readonly PartitionTarget[], cleanShutdown: boolean): Promise<void> {
    await this.registry.load(this.options.clock, this.options.random);
    if (!cleanShutdown) for (const { log, dir } of partitions) await discardSnapshotAheadOfLog(this.options.fs, dir, log);
    for (const target of partitions) {
      await this.partition(target).catch((error: unknown) => {
        // A log damaged where open does not scan fails its own reads and idempotent produce, not
        // the broker's open (storage.md). Its table cannot be built, so no answer comes from it.
        if (!isBrookError(error, 'CORRUPT_SEGMENT')) throw error;
      });
    }
  }

  initProducer(request?: InitProducerRequest): Promise<ProducerIdentity> {
    return this.registry.initProducer(request);
  }

  /** The data directory's incarnation, announced in WELCOME. */
  get incarnation(): string {
    return this.registry.incarnation;
  }

  /**
   * Appends a checked batch (see batch-input.ts): at once if its producerId is -1, else through
   * the partition's idempotence table. `admit` runs the broker's own checks before an append; its
   * admission is released once the batch is in the log's queue (or will never be).
   * `incarnation`, if the sender names one, must be this data directory's (producer-registry.ts).
   */
  async append(target: PartitionTarget, header: BatchHeader, bytes: Uint8Array, incarnation: string | undefined, admit: () => Promise<Admission>): Promise<IdempotentAppendResult> {
    if (header.producerId === NO_PRODUCER_ID) {
      const admission = await admit();
      const appending = target.log.append(bytes); // a refusal rejects it: nothing throws past the release
      admission.release();
      return { ...(await appending), duplicate: false };
    }
    checkProducerFields(header);
    this.registry.checkIncarnation(header.producerId, incarnation);
    const partition = await this.partition(target);
    return partition.append(header, bytes, admit);
  }

  /**
   * Why the periodic snapshot of the partition in `dir` failed, until one is written; undefined
   * while snapshots work. Each tick tries again; meanwhile the previous snapshot stays, and the
   * next open replays the log from it: ever more of it while the failures go on.
   */
  snapshotFailure(dir: string): BrookError | undefined {
    return this.snapshotFailures.get(dir);
  }

  /**
   * deleteTopic: forgets the producer state of the partitions in `dirs` (the topic's), once their
   * appends and snapshots in flight are done. Looked up by name: a search of every partition's
   * made deleting n topics that had been produced to idempotently O(n^2) (10,000: 7.1 s).
   */
  async forget(dirs: readonly string[]): Promise<void> {
    const forgotten = dirs.flatMap((dir) => {
      const loading = this.partitions.get(dir);
      return loading ? [{ dir, loading }] : [];
    });
    for (const { dir } of forgotten) this.partitions.delete(dir);
    await Promise.all(forgotten.map(async ({ loading }) => (await loading.catch(() => undefined))?.retire()));
    for (const dir of dirs) this.snapshotFailures.delete(dir);
  }

  /** Lets batches in flight finish and snapshots every partition. Call before the logs close. */
  async close(): Promise<void> {
    this.closed = true;
    this.snapshotTimer?.cancel();
    await settleEach([...this.partitions.values()], async (loading) => {
      const partition = await loading.catch(() => undefined);
      await partition?.quiesce();
      // Best effort: without it the next open replays from the previous snapshot, just further.
      await partition?.snapshot().catch(() => undefined);
    });
  }

  /** The partition's producer state: rebuilt at open, or on first use for a partition created since or one whose rebuild failed. */
  private partition(target: PartitionTarget): Promise<PartitionProducers> {
    const loaded = this.partitions.get(target.dir);
    if (loaded) return loaded;
    const loading = PartitionProducers.open({
      fs: this.options.fs, log: target.log, dir: target.dir, producersMax: this.options.producersPerPartitionMax,
      appendsDurable: this.options.appendsDurable, checkEpoch: (id, epoch) => this.registry.checkEpoch(id, epoch),
    }).then(async (partition) => {
      // A producers.json lost or restored from an older copy must not issue an id or an epoch
      // this partition holds batches of (ProducerRegistry.remember); a no-op otherwise.
      await this.registry.remember(new Map(partition.producerEpochs()));
      return partition;
    });
    this.partitions.set(target.dir, loading);
    // The first tick snapshots what this partition's first use or the open's replay found; later
    // ones come as logs move (logMoved).
    if (!this.snapshotTimer) this.armSnapshotTimer();
    loading.catch(() => {
      if (this.partitions.get(target.dir) === loading) this.partitions.delete(target.dir);
    });
    return loading;
  }

  /**
   * A log moved (any append): its producer state is snapshotted within an interval. The timer is
   * armed by a move, not kept for ever, so a broker nobody writes to has no periodic work and a
   * VirtualClock can run it until idle. Partitions without producer state have none to write.
   */
  logMoved(): void {
    if (this.snapshotTimer === undefined && this.partitions.size > 0) this.armSnapshotTimer();
  }

  private armSnapshotTimer(): void {
    if (this.closed) return;
    this.snapshotTimer = this.options.clock.setTimer(this.options.producerSnapshotIntervalMs, () => {
      // From here a move arms the next tick (one during these writes too).
      this.snapshotTimer = undefined;
      if (this.closed) return;
      // A failed snapshot keeps the previous one, which is still valid; the next tick tries again,
      // moved or not. Nobody awaits it, so its failure is kept for describeTopic (snapshotFailure).
      const snapshots = [...this.partitions].map(([dir, loading]) => loading.then((partition) => partition.snapshot().then(
        () => void this.snapshotFailures.delete(dir),
        (error: unknown) => void this.snapshotFailures.set(dir, asIoError(error)),
      )));
      void Promise.allSettled(snapshots).then(() => {
        if (this.snapshotFailures.size > 0 && this.snapshotTimer === undefined) this.armSnapshotTimer();
      });
    });
  }
}

/** An idempotent batch needs producerId >= 0, an epoch and a first sequence >= 0. */
function checkProducerFields(header: BatchHeader): void {
  const { producerId, producerEpoch, baseSequence } = header;
  if (producerId < 0n || producerEpoch < 0 || baseSequence < 0) {
    throw new BrookError('INVALID_REQUEST', `producerId ${producerId}, producerEpoch ${producerEpoch}, baseSequence ${baseSequence}: an idempotent batch needs all three >= 0 (producerId -1 for none)`, {
      producerId, producerEpoch, baseSequence,
    });
  }
}
