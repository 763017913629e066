/**
 * Retention's deletions from one partition log. Records retention dropped must never come back:
 * groups were told they are lost (retentionDropped), and a group reading from 'earliest' must not
 * find them after a restart. A segment file can stay behind its deletion (an unlink that failed, or
 * one a power cut took back before the directory's fsync), so each deletion first makes the log's
 * new start durable (log-start.json, whatever the fsync policy, as a seal's fsync is), then takes the
 * segments out of the log, then unlinks their files; an open deletes whatever files stayed below
 * the checkpoint (recovery.ts). A file that cannot be deleted now is also retried at the next call.
 *
 * Calls run one at a time, each choosing its segments when it is made (among those no earlier call
 * still queued has claimed), so each result describes its own deletions. (If an earlier call took
 * nothing out, its checkpoint failing, a later one takes its count from the oldest: older segments,
 * which its policy would delete too.)
 */
import type { BrookError, FileSystem } from '@brook/protocol';
import { asIoError, isFailureOf } from './log-failure.js';
import { writeLogStart } from './log-start.js';
import type { Segment } from './segment.js';

export interface Deletion {
  readonly deleted: number;
  readonly previousStartOffset: bigint;
  readonly startOffset: bigint;
  readonly failure?: BrookError;
}

export class SegmentDeletions {
  private last: Promise<unknown> = Promise.resolve();
  /** Oldest segments the calls queued in `last` chose to delete and have not taken out yet. */
  private claimed = 0;
  /** Segments taken out whose files could not be deleted: the next call tries again. */
  private readonly undeleted: Segment[] = [];

  /**
   * `checkpointedStart`: the log start recovery found, at or above the first segment's base offset.
   * `failLog`: fails the log (until a reopen), returning the error it then answers with.
   */
  constructor(
    private readonly fs: FileSystem, private readonly dir: string, private readonly segments: Segment[], private checkpointedStart: bigint,
    private readonly failLog: (error: unknown) => BrookError,
  ) {}

  /** The first offset in the log: above the first segment's base offset if that segment straddles the checkpoint. */
  get startOffset(): bigint {
    const base = this.segments[0]!.baseOffset;
    return base > this.checkpointedStart ? base : this.checkpointedStart;
  }

  /** The segments no queued call has claimed: what a new call chooses from, oldest first. */
  get unclaimed(): readonly Segment[] {
    return this.segments.slice(this.claimed);
  }

  /** Settles once every call made so far has. */
  idle(): Promise<unknown> {
    return this.last;
  }

  /**
   * Deletes the `count` oldest unclaimed segments, after the calls before it, once `ready` settles
   * (the seal and flushes under way: a segment's seal writes its files, and once every segment
   * before the new start is sealed no recovery can cut the log below the start the checkpoint
   * names). If the checkpoint cannot be written nothing leaves the log. Never rejects.
   */
  delete(count: number, ready: () => Promise<unknown>): Promise<Deletion> {
    this.claimed += count;
    const deletion = this.last.then(() => this.run(count, ready));
    this.last = deletion.catch(() => undefined);
    return deletion;
  }

  private async run(claimed: number, ready: () => Promise<unknown>): Promise<Deletion> {
    const previousStartOffset = this.startOffset;
    let deleted = claimed;
    let failure: BrookError | undefined;
    if (deleted > 0) {
      await ready();
      const startOffset = this.segments[deleted]!.baseOffset;
      try {
        await writeLogStart(this.fs, this.dir, startOffset);
        this.checkpointedStart = startOffset;
      } catch (error) {
        // If its directory's fsync failed, the checkpoint is renamed in place, but a power cut may
        // take it back, and no later fsync can vouch for it ("fsyncgate"). So nothing leaves the
        // log (no group is told of a loss that could be undone) and the log fails as after any
        // failed fsync; the next call writes it again, and the reopen finds which start holds.
        failure = isFailureOf(error, 'syncDir') ? this.failLog(error) : asIoError(error);
        deleted = 0;
      }
    }
    this.claimed -= claimed;
    const deleting = [...this.undeleted.splice(0), ...this.segments.splice(0, deleted)];
    const startOffset = this.startOffset;
    failure ??= await this.unlink(deleting);
    return { deleted, previousStartOffset, startOffset, ...(failure ? { failure } : {}) };
  }

  /** Deletes each segment's files, then fsyncs the directory; returns the first failure. */
  private async unlink(segments: readonly Segment[]): Promise<BrookError | undefined> {
    let failure: BrookError | undefined;
    for (const segment of segments) {
      await segment.delete().catch((error: unknown) => {
        failure ??= asIoError(error);
        this.undeleted.push(segment);
      });
    }
    if (segments.some((segment) => !this.undeleted.includes(segment))) {
      await this.fs.syncDir(this.dir).catch((error: unknown) => void (failure ??= asIoError(error)));
    }
    return failure;
  }
}
