/**
 * The one writer of a WAL directory's files. Everything that touches disk after open goes through
 * its FIFO queue, so the order of frames, fsyncs, rolls and deletes on disk is the order the
 * buffer asked for them, and a crash leaves a prefix of that history.
 *
 * Frames are written in rounds (group commit, as in the broker's PartitionLog): every frame that
 * queued while the previous round was busy goes out in one write, followed by one fdatasync if
 * the fsync policy is 'always' or any frame in the round asked to be durable. So under 'always',
 * N concurrent put()s cost one fsync, not N. The fsync is pipelined: the next round is written
 * while it runs, and waits only for its own fsync, so the disk never idles between the two.
 *
 * Any I/O failure stops the writer for good: after a failed write or fsync the durable state of
 * the file is unknown (the kernel may have dropped dirty pages), so the buffer must be reopened,
 * which recovers from what really is on disk.
 */
import { BrookError, closeOnFailure, concatBytes, type Clock, type FileHandle, type FileSystem, type Timer } from '@brook/protocol';
import { headerFrame, type SegmentHeader } from './frame-codec.js';
import type { FsyncPolicy } from './limits.js';
import { segmentPath } from './segment-names.js';

interface Deferred {
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

type Item =
  | (Deferred & { readonly kind: 'write'; readonly bytes: Uint8Array; readonly durable: boolean })
  | (Deferred & { readonly kind: 'sync' })
  | (Deferred & { readonly kind: 'roll'; readonly header: SegmentHeader })
  | (Deferred & { readonly kind: 'delete'; readonly segmentSeq: number });

export interface WriterOptions {
  readonly fs: FileSystem;
  readonly clock: Clock;
  readonly dir: string;
  readonly fsync: FsyncPolicy;
  /** Told once, when the writer fails: the buffer wakes whoever waits for ready batches. */
  readonly onFailure: () => void;
}

export class SegmentWriter {
  private queue: Item[] = [];
  private draining: Promise<void> | undefined;
  private failed: BrookError | undefined;
  /** Write rounds done, and how many of them a completed fsync covers. */
  private writeRounds = 0;
  private syncedRounds = 0;
  /** The fsync chain: the one running, then the ones asked for while it ran. */
  private syncing: Promise<void> = Promise.resolve();
  private syncTimer: Timer | undefined;
  /** Bytes the active segment will hold once everything queued is written: roll decisions use it. */
  projectedBytes: number;
  /** fdatasync calls so far, for stats and the group-commit test. */
  syncs = 0;

  private constructor(
    private readonly options: WriterOptions,
    private handle: FileHandle,
    private sizeBytes: number,
  ) {
    this.projectedBytes = sizeBytes;
    this.armSyncTimer();
  }

  /** Set once a write, fsync, roll or delete failed: every later call rejects with it. */
  get failure(): BrookError | undefined {
    return this.failed;
  }

  /** Continues the last recovered segment, or creates the first one from `fresh`. */
  static async open(options: WriterOptions, last: { segmentSeq: number; sizeBytes: number } | undefined, fresh: SegmentHeader): Promise<SegmentWriter> {
    if (last === undefined) {
      const { handle, sizeBytes } = await createSegment(options, fresh);
      return new SegmentWriter(options, handle, sizeBytes);
    }
    // A crashed process's writes may still be only in the page cache: make them durable before
    // the buffer treats what it recovered (sealed batches above all) as safe to emit.
    const handle = await options.fs.open(segmentPath(options.dir, last.segmentSeq), 'rw');
    await closeOnFailure(handle, () => handle.sync());
    return new SegmentWriter(options, handle, last.sizeBytes);
  }

  append(bytes: Uint8Array, durable: boolean): Promise<void> {
    this.projectedBytes += bytes.length;
    return this.enqueue((deferred) => ({ ...deferred, kind: 'write', bytes, durable }));
  }

  sync(): Promise<void> {
    return this.enqueue((deferred) => ({ ...deferred, kind: 'sync' }));
  }

  /** Makes the active segment durable and continues in a new one that starts with `header`. */
  roll(header: SegmentHeader): Promise<void> {
    this.projectedBytes = headerFrame(header).length;
    return this.enqueue((deferred) => ({ ...deferred, kind: 'roll', header }));
  }

  deleteSegment(segmentSeq: number): Promise<void> {
    return this.enqueue((deferred) => ({ ...deferred, kind: 'delete', segmentSeq }));
  }

  /**
   * Writes and fsyncs what is queued, whatever the policy, then closes the file. The buffer calls
   * it once, from its own close(), after which it refuses every call itself: nothing is enqueued
   * after this.
   */
  async close(): Promise<void> {
    const synced = this.sync();
    this.syncTimer?.cancel();
    try {
      await synced;
    } finally {
      await this.handle.close().catch(() => undefined);
    }
  }

  private enqueue(make: (deferred: Deferred) => Item): Promise<void> {
    if (this.failed) return Promise.reject(this.failed);
    return new Promise<void>((resolve, reject) => {
      this.queue.push(make({ resolve, reject }));
      this.draining ??= this.drain();
    });
  }

  /** `draining` is cleared in the step that sees the queue empty, so no enqueue is ever stranded. */
  private async drain(): Promise<void> {
    await undefined;
    try {
      while (this.queue.length > 0 && !this.failed) {
        const count = this.queue.findIndex((item) => item.kind === 'roll' || item.kind === 'delete');
        const round = this.queue.splice(0, count === 0 ? 1 : count < 0 ? this.queue.length : count);
        let settled: Promise<void>;
        try {
          ({ settled } = await this.run(round));
        } catch (error) {
          this.fail(round, error);
          return;
        }
        settled.then(() => round.forEach((item) => item.resolve()), (error: unknown) => this.fail(round, error));
      }
    } finally {
      this.draining = undefined;
    }
  }

  /**
   * Performs a round; resolves, once its writes are done, with when its callers may hear back
   * (wrapped, as awaiting a promise of a promise would wait for both):
   * at once, or when the fsync it needs completes. That fsync is not awaited here, so the next
   * round's write proceeds while it runs (pipelined group commit); fsyncs still run one at a
   * time, each covering every write finished before it was asked for.
   */
  private async run(round: Item[]): Promise<{ settled: Promise<void> }> {
    const head = round[0]!;
    if (head.kind === 'roll' || head.kind === 'delete') {
      await this.syncing;
      if (head.kind === 'roll') await this.rollNow(head.header);
      else await this.deleteNow(head.segmentSeq);
      return { settled: Promise.resolve() };
    }
    const writes = round.flatMap((item) => (item.kind === 'write' ? [item] : []));
    if (writes.length > 0) {
      const bytes = writes.length === 1 ? writes[0]!.bytes : concatBytes(writes.map((item) => item.bytes));
      await this.handle.write(bytes, this.sizeBytes);
      this.sizeBytes += bytes.length;
      this.writeRounds += 1;
    }
    const mustSync = this.options.fsync === 'always' || round.some((item) => item.kind === 'sync' || (item.kind === 'write' && item.durable));
    return { settled: mustSync ? this.chainSync() : Promise.resolve() };
  }

  private get dirty(): boolean {
    return this.syncedRounds < this.writeRounds;
  }

  /** Queues an fsync behind the one running, covering every write round finished so far. */
  private chainSync(): Promise<void> {
    const target = this.writeRounds;
    const handle = this.handle;
    this.syncing = this.syncing.then(async () => {
      if (this.syncedRounds >= target) return;
      await handle.sync();
      this.syncs += 1;
      // Targets only grow along the chain, so this one covers every earlier one.
      this.syncedRounds = target;
    });
    return this.syncing;
  }

  private async rollNow(header: SegmentHeader): Promise<void> {
    if (this.dirty) await this.chainSync();
    await this.handle.close();
    const created = await createSegment(this.options, header);
    this.handle = created.handle;
    this.sizeBytes = created.sizeBytes;
  }

  private async deleteNow(segmentSeq: number): Promise<void> {
    await this.options.fs.unlink(segmentPath(this.options.dir, segmentSeq));
    await this.options.fs.syncDir(this.options.dir);
  }

  /** Idempotent: a failed fsync of one round and a failed write of the next may both report. */
  private fail(round: Item[], error: unknown): void {
    if (this.failed) {
      for (const item of round) item.reject(this.failed);
      return;
    }
    const cause = error instanceof BrookError ? error : undefined;
    this.failed = new BrookError(cause?.code === 'CLOSED' ? 'CLOSED' : 'IO_ERROR', `WAL ${this.options.dir} failed and must be reopened: ${String((error as Error)?.message ?? error)}`, {
      dir: this.options.dir, ...cause?.details,
    }, { cause: error });
    for (const item of [...round, ...this.queue]) item.reject(this.failed);
    this.queue = [];
    this.syncTimer?.cancel();
    this.options.onFailure();
  }

  private armSyncTimer(): void {
    const fsync = this.options.fsync;
    if (typeof fsync !== 'object') return;
    // close() and fail() cancel the timer, so it never fires on a closed or failed writer.
    this.syncTimer = this.options.clock.setTimer(fsync.intervalMs, () => {
      if (this.dirty) this.sync().catch(() => undefined);
      this.armSyncTimer();
    });
  }
}

/** A new segment: created, header written and fsynced, then its directory entry fsynced. */
async function createSegment(options: WriterOptions, header: SegmentHeader): Promise<{ handle: FileHandle; sizeBytes: number }> {
  const handle = await options.fs.open(segmentPath(options.dir, header.segmentSeq), 'rw');
  return closeOnFailure(handle, async () => {
    const bytes = headerFrame(header);
    await handle.write(bytes, 0);
    await handle.sync();
    await options.fs.syncDir(options.dir);
    return { handle, sizeBytes: bytes.length };
  });
}
