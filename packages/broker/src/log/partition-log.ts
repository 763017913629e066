/**
 * A partition's log: an ordered list of segments, appended at the end, read anywhere, trimmed
 * at the start by retention.
 *
 * Appends are serialised through one queue and written in rounds: everything that queued while
 * the previous round was writing goes into the next round as one write and (under
 * fsync 'always') one fdatasync. That is group commit: the cost of an fsync is shared by every
 * producer waiting on it, so durable throughput grows with concurrency instead of being capped
 * at one batch per fsync.
 *
 * `endOffset` is what readers may see: it advances only when a round's appends resolve, i.e.
 * after the fsync under 'always'. A consumer can therefore never act on a record that a power
 * cut could still take away.
 *
 * A full segment is sealed (fsynced, index files written) behind the active one, in the
 * background: appends go on into the next segment meanwhile, instead of waiting for the fsync of
 * up to segmentBytesMax of dirty pages (65 ms for 64 MiB here). One seal runs at a time, so every
 * segment but the last two is sealed; recovery.ts knows the one before the last may not be. A
 * round that must be durable (fsync 'always') waits for the seal too; so does a flush.
 *
 * Under fsync 'never' and { intervalMs } a flush's fsync runs beside the rounds (flush-behind.ts):
 * appends, which those policies resolve once written, never wait behind it.
 */
import {
  BrookError, concatBytes, readBatchHeader, setBaseOffset, type Timer,
} from '@brook/protocol';
import { recoverSegments, type RecoveryReport } from './recovery.js';
import { segmentsToDelete, wholeLogExpired, type RetentionPolicy } from './retention.js';
import { Segment } from './segment.js';
import { SegmentDeletions } from './segment-deletion.js';
import { LogReader, type ReadLimits, type ReadBatch } from './log-reader.js';
import { TailCache } from './tail-cache.js';
import { FlushBehind, type PendingFlush } from './flush-behind.js';
import { asIoError, isFailureOf, logFailure } from './log-failure.js';
import { shouldRoll, type PendingAppend } from './segment-roll.js';
import { settleAll } from '../steps.js';
import type { AppendResult, PartitionLogOptions, RetentionResult } from './partition-log-options.js';

export type { AppendResult, PartitionLogOptions, RetentionResult };

export class PartitionLog {
  readonly recovery: RecoveryReport;
  private readonly segments: Segment[];
  private readonly reader: LogReader;
  private readonly tail: TailCache;
  private appendQueue: PendingAppend[] = [];
  /** Bytes of the appends queued or in the round being written, not yet in a segment nor refused. */
  private unwritten = 0;
  private flushQueue: PendingFlush[] = [];
  private draining: Promise<void> | undefined;
  private visibleEndOffset: bigint;
  /** Set when an fsync or roll failed: the file's durable state is unknown until reopen. */
  private failure: BrookError | undefined;
  private closed = false;
  private syncTimer: Timer | undefined;
  private dirty = false;
  /** The seal of the segment before the active one while it runs; cleared when it succeeds. */
  private sealing: Promise<void> | undefined;
  /** Retention's deletions (the log-start checkpoint, then the files): close() waits for them. */
  private readonly deletions: SegmentDeletions;
  private lastRetentionFailure: BrookError | undefined;
  /** sealActive() asked the next round to start a new segment first. */
  private rollRequested = false;
  /** Flushes under fsync 'never' and { intervalMs }: fsyncs beside the rounds. */
  private readonly flushBehind = new FlushBehind(() => {
    // Asked for by a round that was writing when the log failed: an fsync now could succeed on
    // pages the failed one lost ("fsyncgate"), so the flush fails with the log.
    if (this.failure) return Promise.reject(this.failure);
    this.dirty = false; // bytes written from now on are the next fsync's
    return Promise.all([this.active.sync(), this.sealing]).then(() => undefined);
  }, (error) => this.fail(error));

  private constructor(private readonly options: PartitionLogOptions, segments: Segment[], recovery: RecoveryReport, startOffset: bigint) {
    this.segments = segments;
    this.deletions = new SegmentDeletions(options.fs, options.dir, segments, startOffset, (error) => this.fail(error));
    this.recovery = recovery;
    this.visibleEndOffset = this.active.nextOffset;
    this.reader = new LogReader(segments, () => this.visibleEndOffset);
    this.tail = new TailCache(options.tailCacheBytes);
  }

  static async open(options: PartitionLogOptions): Promise<PartitionLog> {
    const { segments, report, startOffset } = await recoverSegments(options.fs, options.dir, options, options.cleanShutdown);
    return new PartitionLog(options, segments, report, startOffset);
  }

  get startOffset(): bigint {
    return this.deletions.startOffset;
  }

  /** The offset the next record will get, counting only appends that have resolved. */
  get endOffset(): bigint {
    return this.visibleEndOffset;
  }

  get sizeBytes(): number {
    return this.segments.reduce((total, segment) => total + segment.sizeBytes, 0);
  }

  /**
   * Bytes appended but not yet written (queued, or in the round under way): sizeBytes counts them
   * in the same step as this stops counting them, so their sum never drops while a batch is in
   * flight (discard 'new' checks room against it), only when one is refused.
   */
  get unwrittenBytes(): number {
    return this.unwritten;
  }

  get segmentCount(): number {
    return this.segments.length;
  }

  /** Why the log refuses writes until it is reopened (a failed fsync, seal or torn round); undefined while healthy. */
  get failed(): BrookError | undefined {
    return this.failure;
  }

  /** Why the last applyRetention could not finish (its `failure`), until one does; undefined while retention works. */
  get retentionFailure(): BrookError | undefined {
    return this.lastRetentionFailure;
  }

  /**
   * Appends one encoded record batch; the log assigns its offsets (patching baseOffset in place,
   * which the CRC does not cover). Resolves once the batch is written and, under
   * fsync 'always', fsynced. The caller hands over `bytes` and must not touch them afterwards;
   * they must be a valid batch, CRC included (the tail cache serves them without a check).
   */
  append(bytes: Uint8Array): Promise<AppendResult> {
    const unusable = this.unusableError();
    if (unusable) return Promise.reject(unusable);
    const header = readBatchHeader(bytes);
    if (header.recordCount < 1 || header.lastOffsetDelta !== header.recordCount - 1 || bytes.length !== 12 + header.batchLength) {
      return Promise.reject(new BrookError('CORRUPT_BATCH', 'batch header does not match its bytes', {
        recordCount: header.recordCount, lastOffsetDelta: header.lastOffsetDelta, batchLength: header.batchLength, bytes: bytes.length,
      }));
    }
    return new Promise<AppendResult>((resolve, reject) => {
      this.appendQueue.push({ bytes, header, resolve, reject });
      this.unwritten += bytes.length;
      this.kick();
    });
  }

  /** Fsyncs everything appended so far (what fsync { intervalMs } does on its timer). */
  flush(): Promise<void> {
    const unusable = this.unusableError();
    if (unusable) return Promise.reject(unusable);
    return new Promise<void>((resolve, reject) => {
      this.flushQueue.push({ resolve, reject });
      this.kick();
    });
  }

  /**
   * Starts a new segment now if the active one holds anything, and resolves once that one is
   * sealed and everything is durable (a flush). applyRetention never deletes the active segment:
   * a discard 'new' partition whose groups consumed all of it, or one whose every record is past
   * maxAgeMs, calls this to make its records deletable (an append would roll it, but the first
   * refuses appends and the second gets none).
   */
  sealActive(): Promise<void> {
    this.rollRequested = true;
    return this.flush();
  }

  /** Batches holding offsets >= `offset` (the first may start before it), below endOffset. */
  read(offset: bigint, limits: ReadLimits): Promise<ReadBatch[]> {
    if (this.closed) return Promise.reject(new BrookError('CLOSED', `log ${this.options.dir} is closed`));
    if (offset < this.startOffset || offset > this.endOffset) {
      return Promise.reject(new BrookError('OFFSET_OUT_OF_RANGE', `offset ${offset} is outside [${this.startOffset}, ${this.endOffset}]`, {
        offset, startOffset: this.startOffset, endOffset: this.endOffset,
      }));
    }
    return Promise.resolve(this.tail.read(offset, limits) ?? this.reader.read(offset, limits));
  }

  /** The first offset whose record timestamp is >= `timestampMs`, or endOffset if none is. */
  offsetForTimestamp(timestampMs: number): Promise<bigint> {
    // From startOffset: a first segment straddling the log-start checkpoint holds records below it.
    return this.reader.offsetForTimestamp(timestampMs, this.startOffset);
  }

  /** True when the log holds records and every one is older than `policy.maxAgeMs` (wholeLogExpired). */
  expiredWhole(policy: RetentionPolicy): boolean {
    return wholeLogExpired(this.segments, policy, this.options.clock.now());
  }

  /**
   * Deletes whole segments per `policy`; `startOffset` moves to the first kept segment once that is
   * durable (segment-deletion.ts: a file left behind cannot bring the records back at the next
   * open). Calls run one at a time. Files go by path: a closed log deletes none (CLOSED), and
   * close() waits for deletions under way, or a topic deleted meanwhile could be made again, with
   * the same file names, before they are done.
   */
  async applyRetention(policy: RetentionPolicy, consumedBelow?: bigint): Promise<RetentionResult> {
    if (this.closed) throw new BrookError('CLOSED', `log ${this.options.dir} is closed`);
    // Chosen now (the caller's consumedBelow and clock describe this moment), among the segments
    // no call still under way will take out.
    const count = segmentsToDelete(this.deletions.unclaimed, policy, this.options.clock.now(), consumedBelow);
    const ready = () => Promise.all([this.sealing?.catch(() => undefined), this.flushBehind.settled()]);
    const { deleted, previousStartOffset, startOffset, failure } = await this.deletions.delete(count, ready);
    this.lastRetentionFailure = failure;
    // Out of the log even if a file stayed: the caller counts their records. Nothing left it if
    // its new start could not be made durable (failure, deletedSegments 0).
    return { deletedSegments: deleted, previousStartOffset, startOffset, ...(failure ? { failure } : {}) };
  }

  /** Waits for pending appends, fsyncs, writes the active segment's index files, closes files. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.syncTimer?.cancel();
    await this.draining;
    await Promise.all([this.sealing?.catch(() => undefined), this.flushBehind.idle(), this.deletions.idle()]);
    try {
      if (!this.failure) await this.active.persist();
    } finally {
      await settleAll(this.segments.map((segment) => segment.close()));
    }
  }

  /** The log stops taking writes until it is reopened (the first failure is the one reported). */
  private fail(error: unknown): BrookError {
    if (!this.failure) {
      this.failure = logFailure(this.options.dir, error);
      this.options.onFailure?.(this.failure);
    }
    return this.failure;
  }

  private get active(): Segment {
    return this.segments[this.segments.length - 1]!;
  }

  private unusableError(): BrookError | undefined {
    if (this.closed) return new BrookError('CLOSED', `log ${this.options.dir} is closed`);
    return this.failure;
  }

  private kick(): void {
    this.draining ??= this.drain();
  }

  /**
   * Runs rounds until the queues are empty. `draining` is cleared in the same synchronous step
   * that sees the queues empty: an append queued by a continuation of the previous round is
   * either seen by the loop or finds `draining` unset and starts a new drain, never neither.
   */
  private async drain(): Promise<void> {
    await undefined; // let kick() assign `draining` before the loop can finish
    try {
      while ((this.appendQueue.length > 0 || this.flushQueue.length > 0) && !this.failure) {
        const appends = this.appendQueue;
        const flushes = this.flushQueue;
        this.appendQueue = [];
        this.flushQueue = [];
        await this.runRound(appends, flushes);
      }
      if (this.failure) this.rejectQueued(this.failure);
    } finally {
      this.draining = undefined;
    }
  }

  /** Writes one round of appends, rolling segments as needed, then fsyncs once if required. */
  private async runRound(appends: PendingAppend[], flushes: PendingFlush[]): Promise<void> {
    let written = 0;
    try {
      if (this.rollRequested) {
        this.rollRequested = false;
        if (this.active.sizeBytes > 0) await this.roll();
      }
      let runStart = 0;
      let runBytes = 0;
      let nextOffset = this.active.nextOffset;
      for (let i = 0; i < appends.length; i++) {
        const append = appends[i]!;
        if (shouldRoll(this.active, this.options, runBytes, append, appends[runStart]!)) {
          written += await this.writeRun(appends.slice(runStart, i));
          await this.roll();
          runStart = i;
          runBytes = 0;
        }
        setBaseOffset(append.bytes, nextOffset);
        append.header.baseOffset = nextOffset;
        nextOffset += BigInt(append.header.recordCount);
        runBytes += append.bytes.length;
      }
      written += await this.writeRun(appends.slice(runStart));
      if (this.options.fsync === 'always') await Promise.all([this.syncActive(), this.sealing]);
    } catch (error) {
      this.failRound(appends, written, flushes, error);
      return;
    }
    this.visibleEndOffset = this.active.nextOffset;
    for (const append of appends) {
      this.tail.add(append.header, append.bytes);
      append.resolve({ baseOffset: append.header.baseOffset, lastOffset: append.header.baseOffset + BigInt(append.header.lastOffsetDelta) });
    }
    if (this.options.fsync === 'always') for (const flush of flushes) flush.resolve();
    else if (flushes.length > 0) this.flushBehind.request(flushes);
  }

  /** Writes a run of batches into the active segment with one write call; returns how many. */
  private async writeRun(run: PendingAppend[]): Promise<number> {
    if (run.length === 0) return 0;
    const segment = this.active;
    const position = segment.sizeBytes;
    const bytes = run.length === 1 ? run[0]!.bytes : concatBytes(run.map((append) => append.bytes));
    try {
      await segment.file.write(bytes, position);
    } catch (error) {
      // Nothing of this run was recorded in memory; cut whatever part of it reached the file. A
      // file that cannot be cut back may hold bytes past the end the log knows (a partial write),
      // which a seal would keep inside a sealed segment: the log fails, and a reopen's recovery cuts them.
      await segment.truncate(position).catch((cutFailed: unknown) => void this.fail(cutFailed));
      throw error;
    }
    let at = position;
    for (const append of run) {
      segment.recordAppended(at, append.header, append.bytes.length);
      at += append.bytes.length;
    }
    this.unwritten -= at - position;
    this.dirty = true;
    this.armSyncTimer();
    return run.length;
  }

  /**
   * Starts a new segment at the active one's next offset and seals the full one behind it. The
   * seal of the previous roll must have finished first, which keeps every segment but the last
   * two sealed.
   */
  private async roll(): Promise<void> {
    await this.sealing;
    const full = this.active;
    this.segments.push(await Segment.create(this.options.fs, this.options.dir, full.nextOffset, this.options));
    // The full segment's unsynced bytes are the seal's to fsync now, not the interval timer's.
    this.dirty = false;
    this.sealBehind(full);
  }

  /**
   * Seals a full segment in the background. A failure fails the log as a failed fsync does (the
   * durable state is unknown until a reopen recovers it), and the rejected seal stays in
   * `sealing`, so that every later round that must be durable rejects with it.
   */
  private sealBehind(full: Segment): void {
    const sealing: Promise<void> = full.persist().then(() => {
      if (this.sealing === sealing) this.sealing = undefined;
    }, (error: unknown) => {
      this.fail(error);
      throw error;
    });
    sealing.catch(() => undefined); // a seal nobody waits for must not be an unhandled rejection
    this.sealing = sealing;
  }

  private async syncActive(): Promise<void> {
    await this.active.sync();
    this.dirty = false;
  }

  /**
   * A failed write (nothing recorded, file cut back) only fails its round: the log stays usable
   * (unless the cut failed too: writeRun has failed the log then).
   * A failed fsync or roll leaves the durable state unknown (the kernel may have dropped the
   * dirty pages: "fsyncgate"), so the log stops taking writes until it is reopened and recovered.
   */
  private failRound(appends: PendingAppend[], written: number, flushes: PendingFlush[], error: unknown): void {
    if (written > 0 || !isFailureOf(error, 'write')) this.fail(error);
    const rejection = this.failure ?? asIoError(error);
    this.refused(appends.slice(written));
    for (const append of appends) append.reject(rejection);
    for (const flush of flushes) flush.reject(rejection);
  }

  private rejectQueued(error: BrookError): void {
    this.refused(this.appendQueue);
    for (const append of this.appendQueue) append.reject(error);
    for (const flush of this.flushQueue) flush.reject(error);
    this.appendQueue = [];
    this.flushQueue = [];
  }

  /** `appends` will never be written: they stop counting as unwritten bytes. */
  private refused(appends: readonly PendingAppend[]): void {
    for (const append of appends) this.unwritten -= append.bytes.length;
  }

  /**
   * Under { intervalMs }: a write left the log dirty, so an fsync is due within intervalMs. Armed
   * by the write, not ticking on its own: an idle log (a broker may hold thousands) wakes nobody.
   * A write while it is armed shares its fsync, which comes sooner than its own would; so every
   * append is on disk within intervalMs, plus the flush's wait for an fsync already running.
   */
  private armSyncTimer(): void {
    const fsync = this.options.fsync;
    // Not after close() cancelled it: a round it waits for may still write.
    if (typeof fsync !== 'object' || this.syncTimer || this.closed) return;
    this.syncTimer = this.options.clock.setTimer(fsync.intervalMs, () => {
      this.syncTimer = undefined;
      if (this.closed || this.failure || !this.dirty) return;
      this.flush().catch(() => undefined);
    });
  }
}
