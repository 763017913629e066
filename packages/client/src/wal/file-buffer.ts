/**
 * FileBuffer: a crash-safe write-ahead buffer of records, batched for a sender.
 *
 *   put(record)  the record is framed into the WAL; resolves once persisted per the fsync policy
 *   seal         a batch closes at maxRecords, before a record would take it past maxBytes
 *                (encoded), maxAgeMs after its first record (a Clock timer), or on flush()
 *   emit()       the oldest sealed batch, records oldest first, with a stable batch sequence;
 *                the same batch again until it is committed, before and after a crash
 *   commit()     exactly the emitted batch; its segment is deleted once all of it is committed
 *
 * Memory holds every uncommitted record (bounded by walBytesMax); the disk holds the same plus
 * at most one segment of committed ones. The format is in frame-codec.ts, recovery in
 * recovery.ts, docs/wal.md has the guarantees per fsync policy.
 */
import {
  BrookError, DirLock, NodeFileSystem, SystemClock, mkdirDurable, syncDirChain, type Clock, type RecordInput, type Timer,
} from '@brook/protocol';
import { drainBuffer, type BatchSink, type DrainOptions } from './drain.js';
import { commitFrame, sealFrame } from './frame-codec.js';
import { WAL_LOCK_NAME, resolveOptions, type FileBufferOptions, type ResolvedOptions } from './limits.js';
import { OpenBatch, type BatchContents } from './open-batch.js';
import { encodeRecord, frameRecord, toRecordInput, type EncodedRecord, type WalRecordInput } from './record-codec.js';
import { recoverWal, type RecoveredWal, type RecoveryReport } from './recovery.js';
import { SegmentWriter } from './segment-writer.js';
import { SpaceGate } from './space-gate.js';

/** What emit() hands out. Record i has record sequence firstRecordSequence + i. */
export interface WalBatch {
  /** 0, 1, 2, ... in seal order, never reused in this directory (not even after clear()). */
  readonly sequence: number;
  readonly firstRecordSequence: number;
  readonly records: readonly RecordInput[];
  /** Size of these records as one RecordBatch v2 (`encodeBatch(records).length`), <= maxBytes. */
  readonly encodedBytes: number;
}

export interface FileBufferStats {
  /** Uncommitted records: sealed batches and the open one. */
  readonly records: number;
  readonly openRecords: number;
  /** Sealed, uncommitted batches (the emitted one included). */
  readonly sealedBatches: number;
  /** Uncommitted WAL bytes, what walBytesMax bounds. */
  readonly walBytes: number;
  readonly segments: number;
  readonly fsyncs: number;
  readonly nextBatchSequence: number;
  /** Highest committed batch sequence, -1 if none. */
  readonly committedThrough: number;
  readonly recovery: RecoveryReport;
}

interface SealedBatch extends BatchContents {
  readonly view: WalBatch;
  /** The SEAL frame is fsynced: only then may the batch be emitted (see seal()). */
  durable: boolean;
  sealing: Promise<void>;
}

interface SegmentEntry {
  readonly segmentSeq: number;
  lastBatchSeq: number;
}

function noop(): void {}

function sealedBatch(sequence: number, contents: BatchContents, durable: boolean): SealedBatch {
  const first = contents.records[0]!;
  const view: WalBatch = Object.freeze({
    sequence,
    firstRecordSequence: first.sequence,
    records: Object.freeze(contents.records.map((r) => r.record)),
    encodedBytes: contents.encodedBytes,
  });
  return { ...contents, view, durable, sealing: Promise.resolve() };
}

export class FileBuffer {
  private readonly openBatch = new OpenBatch();
  private readonly sealed: SealedBatch[] = [];
  private readonly segments: SegmentEntry[];
  private readonly gate: SpaceGate;
  private readonly readyWaiters = new Set<() => void>();
  private emitted: SealedBatch | undefined;
  private nextBatchSeq: number;
  private nextRecordSeq: number;
  private committedThrough: number;
  private ageTimer: Timer | undefined;
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly options: ResolvedOptions,
    private readonly clock: Clock,
    private readonly writer: SegmentWriter,
    private readonly lock: DirLock,
    recovered: RecoveredWal,
  ) {
    this.recovery = recovered.report;
    this.nextBatchSeq = recovered.nextBatchSeq;
    this.nextRecordSeq = recovered.nextRecordSeq;
    this.committedThrough = recovered.committedThrough;
    this.segments = recovered.segments.map(({ segmentSeq, lastBatchSeq }) => ({ segmentSeq, lastBatchSeq }));
    if (this.segments.length === 0) this.segments.push({ segmentSeq: 0, lastBatchSeq: this.nextBatchSeq - 1 });
    for (const batch of recovered.batches) this.sealed.push(sealedBatch(batch.sequence, OpenBatch.of(batch.records).take(), true));
    for (const record of recovered.open) this.openBatch.add(record);
    const usedBytes = this.sealed.reduce((sum, b) => sum + b.walBytes, 0) + this.openBatch.walBytes;
    this.gate = new SpaceGate(options.walBytesMax, options.onFull, () => this.seal(), usedBytes);
    // Records reopened open wait maxAgeMs from now; with 0 ("seal every record at once") no put
    // may ever come to seal them, so they are sealed now.
    if (this.openBatch.count > 0 && options.maxAgeMs === 0) this.seal();
    else if (this.openBatch.count > 0) this.armAgeTimer();
  }

  /** What recovery found and did when this buffer opened. */
  readonly recovery: RecoveryReport;

  static async open(options: FileBufferOptions): Promise<FileBuffer> {
    const resolved = resolveOptions(options);
    const fs = options.fs ?? new NodeFileSystem();
    const clock = options.clock ?? new SystemClock();
    await mkdirDurable(fs, resolved.dir);
    const lock = await DirLock.acquire(fs, resolved.dir, { name: WAL_LOCK_NAME, what: 'a WAL directory', ...(options.owner ? { owner: options.owner } : {}) });
    try {
      // A process killed between creating a segment (or the directory) and fsyncing its
      // directory left an entry a power cut can still take, with every put made into it now.
      await syncDirChain(fs, resolved.dir);
      const recovered = await recoverWal(fs, resolved.dir);
      const fresh = { segmentSeq: 0, firstBatchSeq: recovered.nextBatchSeq, firstRecordSeq: recovered.nextRecordSeq };
      let buffer: FileBuffer | undefined;
      const writerOptions = { fs, clock, dir: resolved.dir, fsync: resolved.fsync, onFailure: () => buffer?.writerFailed() };
      const writer = await SegmentWriter.open(writerOptions, recovered.segments.at(-1), fresh);
      buffer = new FileBuffer(resolved, clock, writer, lock, recovered);
      return buffer;
    } catch (error) {
      await lock.release().catch(noop);
      throw error;
    }
  }

  /** Appends one record: `putAll([input])`. */
  put(input: WalRecordInput): Promise<void> {
    return this.putAll([input]);
  }

  /**
   * Appends records in order, all or none; resolves once all are persisted per the fsync policy.
   * Every record is checked before any is appended, so these refusals leave nothing in the WAL:
   * MESSAGE_TOO_LARGE if one alone exceeds maxBytes (`details.record` is its index) or all of
   * them together exceed walBytesMax (they could never be admitted at once), INVALID_REQUEST for
   * bad fields, BUFFER_FULL if they do not fit under walBytesMax now with onFull 'reject' (under
   * 'wait' they wait, in put order, for room, or until the WAL closes: CLOSED, or fails:
   * IO_ERROR), CLOSED. The records are admitted as one unit, because a caller that retries a
   * refused put must not find part of it already in the WAL. Only an IO_ERROR (the WAL failed;
   * reopen to recover) can leave some of them written.
   */
  putAll(inputs: readonly WalRecordInput[]): Promise<void> {
    const refusal = this.refusal();
    if (refusal) return Promise.reject(refusal);
    let encoded: EncodedRecord[];
    let bytes: number;
    try {
      encoded = inputs.map((input, index) => this.encodeWithinLimit(input, index));
      bytes = this.withinWalBytesMax(encoded);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.gate.admit(bytes, () => Promise.all(encoded.map((record) => this.append(record)))).then(noop);
  }

  /** True if emit() would return a batch. */
  shouldEmit(): boolean {
    return this.sealed[0]?.durable === true && this.refusal() === undefined;
  }

  /** The oldest sealed batch, or undefined if none is ready; the same one until commit(). */
  emit(): WalBatch | undefined {
    this.throwIfUnusable();
    const head = this.sealed[0];
    if (head === undefined || !head.durable) return undefined;
    this.emitted = head;
    return head.view;
  }

  /**
   * Commits the emitted batch; with `sequence`, checks that it is the one emitted. Committing a
   * sequence already committed (or cleared) is a no-op, so a sender may retry a commit.
   */
  async commit(sequence?: number): Promise<void> {
    this.throwIfUnusable();
    if (sequence !== undefined && sequence <= this.committedThrough) return;
    const batch = this.emitted;
    if (batch === undefined || (sequence !== undefined && sequence !== batch.view.sequence)) {
      throw new BrookError('INVALID_REQUEST', `commit(${sequence ?? ''}) but the emitted batch is ${batch?.view.sequence ?? 'none'}`, {
        sequence, emitted: batch?.view.sequence,
      });
    }
    this.emitted = undefined;
    this.sealed.shift();
    this.committedThrough = batch.view.sequence;
    const written = this.writer.append(commitFrame(batch.view.sequence), false);
    this.deleteCommittedSegments();
    this.gate.release(batch.walBytes);
    await written;
  }

  /** Seals the open batch now; resolves once it can be emitted. */
  async flush(): Promise<void> {
    this.throwIfUnusable();
    this.seal();
    await this.sealed.at(-1)?.sealing;
  }

  /**
   * Discards every uncommitted record, durably: the open batch is sealed and everything up to it
   * committed in one COMMIT frame, so a crash leaves either all of it or none. Sequences go on
   * from where they were; the directory ends with one fresh segment. Only the buffer's own
   * segment files are deleted.
   */
  async clear(): Promise<void> {
    this.throwIfUnusable();
    this.seal();
    const through = this.nextBatchSeq - 1;
    const discarded = this.sealed.splice(0);
    this.emitted = undefined;
    const done: Promise<void>[] = [];
    if (through > this.committedThrough) {
      this.committedThrough = through;
      done.push(this.writer.append(commitFrame(through), true));
    }
    done.push(this.roll(), ...this.deleteCommittedSegments());
    this.gate.release(discarded.reduce((sum, batch) => sum + batch.walBytes, 0));
    await Promise.all(done);
  }

  /**
   * Runs a sender in the background of the caller: emits every ready batch, awaits `sink(batch)`,
   * commits, and waits for the next, until the buffer closes or `options.signal` aborts. A sink
   * that throws stops the loop with its error and leaves the batch uncommitted, to be emitted again.
   */
  drain(sink: BatchSink, options: DrainOptions = {}): Promise<void> {
    return drainBuffer(this, sink, options);
  }

  /** Resolves when a batch is ready, or the buffer closed or failed (then emit() throws). */
  whenReady(): Promise<void> {
    if (this.shouldEmit() || this.refusal() !== undefined) return Promise.resolve();
    return new Promise((resolve) => this.readyWaiters.add(resolve));
  }

  /** The newest uncommitted record, e.g. for a source to know where to resume after a crash. */
  newestRecord(): RecordInput | undefined {
    return (this.openBatch.newest ?? this.sealed.at(-1)?.records.at(-1))?.record;
  }

  get stats(): FileBufferStats {
    const sealedRecords = this.sealed.reduce((sum, batch) => sum + batch.records.length, 0);
    return {
      records: sealedRecords + this.openBatch.count,
      openRecords: this.openBatch.count,
      sealedBatches: this.sealed.length,
      walBytes: this.gate.used,
      segments: this.segments.length,
      fsyncs: this.writer.syncs,
      nextBatchSequence: this.nextBatchSeq,
      committedThrough: this.committedThrough,
      recovery: this.recovery,
    };
  }

  /**
   * Writes and fsyncs what is pending, releases the lock. The open batch stays open: the next
   * open recovers it. Puts waiting for space reject with CLOSED.
   */
  close(): Promise<void> {
    this.closing ??= this.shutDown();
    return this.closing;
  }

  private async shutDown(): Promise<void> {
    this.ageTimer?.cancel();
    this.gate.rejectWaiting(new BrookError('CLOSED', `WAL ${this.options.dir} is closed`));
    this.notifyReady();
    const failedBefore = this.writer.failure !== undefined;
    try {
      await this.writer.close();
    } catch (error) {
      // A failure already reported to put()/commit() needs no second report.
      if (!failedBefore) throw error;
    } finally {
      await this.lock.release().catch(noop);
    }
  }

  private encodeWithinLimit(input: WalRecordInput, index: number): EncodedRecord {
    const encoded = encodeRecord(toRecordInput(input, this.clock.now()));
    const recordBytes = encoded.single.length;
    const { maxBytes } = this.options;
    if (recordBytes > maxBytes) {
      throw new BrookError('MESSAGE_TOO_LARGE', `record ${index} is ${recordBytes} bytes encoded, over maxBytes ${maxBytes}`, { record: index, recordBytes, maxBytes });
    }
    return encoded;
  }

  private withinWalBytesMax(encoded: readonly EncodedRecord[]): number {
    const bytes = encoded.reduce((sum, record) => sum + record.frameBytes, 0);
    const { walBytesMax } = this.options;
    if (bytes > walBytesMax) {
      throw new BrookError('MESSAGE_TOO_LARGE', `${encoded.length} records take ${bytes} WAL bytes, over walBytesMax ${walBytesMax}`, { bytes, walBytesMax });
    }
    return bytes;
  }

  private append(encoded: EncodedRecord): Promise<void> {
    const { maxBytes, maxRecords, maxAgeMs } = this.options;
    // A batch reopened open may already hold maxRecords (a power cut took its SEAL, not its
    // records), or more if maxRecords was lowered: the SEAL must close every open record, so it
    // is sealed as it is rather than grown.
    const full = this.openBatch.count >= maxRecords;
    if (full || (this.openBatch.count > 0 && this.openBatch.encodedBytesWith(encoded.single.length, encoded.record.timestamp) > maxBytes)) this.seal();
    const { buffered, frame } = frameRecord(encoded, this.nextRecordSeq);
    this.nextRecordSeq += 1;
    if (this.openBatch.count === 0) this.armAgeTimer();
    this.openBatch.add(buffered);
    const written = this.writer.append(frame, false);
    if (this.openBatch.count >= maxRecords || maxAgeMs === 0) this.seal();
    return written;
  }

  /**
   * Closes the open batch. Its SEAL frame is fsynced whatever the policy, and the batch is
   * emittable only after that: a batch handed to a sender goes out under its sequence, so it must
   * survive a power cut with exactly those records, or a resend could reuse the sequence for
   * different ones. Rolls the segment here, right after a seal, so no batch spans two segments.
   */
  private seal(): void {
    if (this.openBatch.count === 0) return;
    this.ageTimer?.cancel();
    this.ageTimer = undefined;
    const batch = sealedBatch(this.nextBatchSeq, this.openBatch.take(), false);
    this.nextBatchSeq += 1;
    this.sealed.push(batch);
    this.segments.at(-1)!.lastBatchSeq = batch.view.sequence;
    batch.sealing = this.writer.append(sealFrame(batch.view.sequence, batch.records.length), true).then(() => {
      batch.durable = true;
      this.notifyReady();
    });
    batch.sealing.catch(noop); // a failed WAL reports itself on every later call
    if (this.writer.projectedBytes >= this.options.segmentBytesMax) this.roll().catch(noop);
  }

  private roll(): Promise<void> {
    const segmentSeq = this.segments.at(-1)!.segmentSeq + 1;
    this.segments.push({ segmentSeq, lastBatchSeq: this.nextBatchSeq - 1 });
    return this.writer.roll({ segmentSeq, firstBatchSeq: this.nextBatchSeq, firstRecordSeq: this.nextRecordSeq });
  }

  /** Deletes leading segments all of whose batches are committed, never the active one. */
  private deleteCommittedSegments(): Promise<void>[] {
    const deletions: Promise<void>[] = [];
    while (this.segments.length > 1 && this.segments[0]!.lastBatchSeq <= this.committedThrough) {
      const deletion = this.writer.deleteSegment(this.segments.shift()!.segmentSeq);
      deletion.catch(noop);
      deletions.push(deletion);
    }
    return deletions;
  }

  private armAgeTimer(): void {
    if (this.options.maxAgeMs === 0) return;
    this.ageTimer = this.clock.setTimer(this.options.maxAgeMs, () => {
      this.ageTimer = undefined;
      if (this.refusal() === undefined) this.seal();
    });
  }

  /** The writer failed for good: puts waiting for room and drain loops get its failure now. */
  private writerFailed(): void {
    this.gate.rejectWaiting(this.writer.failure);
    this.notifyReady();
  }

  private notifyReady(): void {
    const waiters = [...this.readyWaiters];
    this.readyWaiters.clear();
    for (const wake of waiters) wake();
  }

  private refusal(): BrookError | undefined {
    if (this.closing) return new BrookError('CLOSED', `WAL ${this.options.dir} is closed`);
    return this.writer.failure;
  }

  private throwIfUnusable(): void {
    const refusal = this.refusal();
    if (refusal) throw refusal;
  }
}
