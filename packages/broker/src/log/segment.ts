/**
 * One segment of a partition log: a `.log` file of record batches plus its two sparse indexes.
 *
 * The in-memory state (size, next offset, timestamps, index entries) is advanced only by
 * `recordAppended`, after the bytes are in the file, so a failed write never leaves the
 * segment describing bytes that are not there. Index files are written whole (tmp -> fsync ->
 * rename) when the segment is sealed and at clean shutdown; while a segment is active its
 * indexes live in memory only, because after an unclean stop the active segment is rescanned
 * anyway (docs/storage.md, "Recovery").
 */
import { BrookError, assert, closeOnFailure, isBrookError, writeFileAtomic, type BatchHeader, type FileHandle, type FileSystem } from '@brook/protocol';
import { BatchScanner, type ScanProblem } from './batch-scanner.js';
import { INDEX_ENTRY_BYTES, SparseIndex, readLastEntry } from './sparse-index.js';
import { segmentPath } from './segment-files.js';
import { firstBatchTimestamp, isLastTimeEntry, walkHeaders } from './sealed-segment-check.js';

/** A segment's files in the order delete() removes them: the log first (see delete()). */
const SEGMENT_SUFFIXES = ['.log', '.index', '.timeindex'] as const;

export interface SegmentConfig {
  readonly indexIntervalBytes: number;
  /** Largest batch a scan accepts as sane: the format's ceiling, not the produce limit. */
  readonly batchBytesMax: number;
  /** Scans read the file in chunks of this many bytes. */
  readonly readChunkBytes: number;
}

/** Where a scan of a segment starts: a batch's byte position and the base offset it must have. */
export interface ScanStart {
  readonly position: number;
  readonly baseOffset: bigint;
}

export class Segment {
  readonly baseOffset: bigint;
  readonly logPath: string;
  /** Bytes of whole batches in the file. */
  sizeBytes = 0;
  /** Offset the next record appended here would get. */
  nextOffset: bigint;
  /** Timestamp of the first record, for `segmentMsMax`; undefined while empty. */
  firstTimestampMs: number | undefined;
  /** Largest record timestamp, for time lookups and `maxAgeMs` retention. */
  maxTimestampMs = Number.NEGATIVE_INFINITY;
  private offsetIndex: SparseIndex | undefined;
  private timeIndex: SparseIndex | undefined;
  private bytesSinceIndexEntry = 0;
  private loadingIndexes: Promise<void> | undefined;
  /** Reads in progress; a deleted segment closes its file only when the last one ends. */
  private readers = 0;
  private deleted = false;
  /** How many of SEGMENT_SUFFIXES delete() has unlinked. */
  private filesUnlinked = 0;

  private constructor(
    private readonly fs: FileSystem,
    private readonly dir: string,
    readonly file: FileHandle,
    baseOffset: bigint,
    private readonly config: SegmentConfig,
  ) {
    this.baseOffset = baseOffset;
    this.nextOffset = baseOffset;
    this.logPath = segmentPath(dir, baseOffset, '.log');
  }

  /** Creates an empty segment and makes its directory entry durable before anything is written to it. */
  static async create(fs: FileSystem, dir: string, baseOffset: bigint, config: SegmentConfig): Promise<Segment> {
    const file = await fs.open(segmentPath(dir, baseOffset, '.log'), 'rw');
    return closeOnFailure(file, async () => {
      await file.truncate(0);
      await fs.syncDir(dir);
      const segment = new Segment(fs, dir, file, baseOffset, config);
      segment.offsetIndex = new SparseIndex('offset');
      segment.timeIndex = new SparseIndex('time');
      return segment;
    });
  }

  /**
   * Opens an existing segment trusting its index files: the caller knows the segment was sealed
   * or cleanly closed. Reads the first batch (for its timestamp) and scans only from the last
   * index entry to the end of the file (at most ~indexIntervalBytes plus one batch), so opening
   * costs the same whatever the segment's size. Returns 'rebuild' if an index file is missing or
   * does not match the log, and a problem if the bytes after the last index entry are bad.
   */
  static async openIndexed(
    fs: FileSystem, dir: string, baseOffset: bigint, config: SegmentConfig,
  ): Promise<{ segment: Segment; problem: ScanProblem | undefined } | 'rebuild'> {
    const file = await fs.open(segmentPath(dir, baseOffset, '.log'), 'rw');
    return closeOnFailure(file, async () => {
      const segment = new Segment(fs, dir, file, baseOffset, config);
      const fileBytes = await file.size();
      const indexes = await segment.readIndexFiles();
      const lastOffset = indexes?.offset.lastKey();
      const lastPosition = indexes?.offset.lastValue();
      if (!indexes || lastOffset === undefined || lastPosition === undefined || lastPosition >= fileBytes) {
        await file.close();
        return 'rebuild';
      }
      segment.offsetIndex = indexes.offset;
      segment.timeIndex = indexes.time;
      segment.maxTimestampMs = indexes.time.lastKey() ?? Number.NEGATIVE_INFINITY;
      segment.firstTimestampMs = await firstBatchTimestamp(file, fileBytes);
      const scanner = segment.scanner({ position: lastPosition, baseOffset: baseOffset + BigInt(lastOffset) }, fileBytes);
      const first = await scanner.next();
      if (!first) {
        await file.close();
        return 'rebuild';
      }
      segment.bytesSinceIndexEntry = 0;
      for (let batch: typeof first | undefined = first; batch; batch = await scanner.next()) {
        segment.advance(batch.position, batch.header, batch.size);
      }
      return { segment, problem: scanner.problem };
    });
  }

  /**
   * Opens a sealed segment (any but the last) at a cost that does not depend on its size: no
   * index file is read whole and no CRC is checked here. The last entry of each index file gives
   * the last indexed batch and the largest timestamp; batch headers are walked from that batch
   * to the end of the file to learn the next offset, which the caller checks against the next
   * segment's base. The indexes themselves load on the first read of this segment.
   * Returns 'rebuild' when any of this does not add up (the caller then scans the segment).
   */
  static async openSealed(fs: FileSystem, dir: string, baseOffset: bigint, config: SegmentConfig): Promise<Segment | 'rebuild'> {
    const file = await fs.open(segmentPath(dir, baseOffset, '.log'), 'rw');
    return closeOnFailure(file, async () => {
      const segment = new Segment(fs, dir, file, baseOffset, config);
      const fileBytes = await file.size();
      const lastIndexEntry = await readLastEntry(fs, segmentPath(dir, baseOffset, '.index'), INDEX_ENTRY_BYTES.offset);
      const lastTimeEntry = await readLastEntry(fs, segmentPath(dir, baseOffset, '.timeindex'), INDEX_ENTRY_BYTES.time);
      const walked = lastIndexEntry && lastTimeEntry
        ? await walkHeaders(file, baseOffset, lastIndexEntry.getUint32(0), lastIndexEntry.getUint32(4), fileBytes)
        : undefined;
      if (!walked || !(await isLastTimeEntry(file, baseOffset, lastTimeEntry!, walked, fileBytes))) {
        await file.close();
        return 'rebuild';
      }
      segment.sizeBytes = fileBytes;
      segment.nextOffset = walked.nextOffset;
      segment.maxTimestampMs = Number(lastTimeEntry!.getBigInt64(0));
      return segment;
    });
  }

  /**
   * Opens a segment by scanning every batch, rebuilding both indexes. Stops at the first problem
   * and returns it; the segment then describes only the good prefix, and the caller decides
   * whether to truncate (the log's tail) or refuse to open (a sealed segment).
   */
  static async openScanned(
    fs: FileSystem, dir: string, baseOffset: bigint, config: SegmentConfig,
  ): Promise<{ segment: Segment; problem: ScanProblem | undefined; fileBytes: number }> {
    const file = await fs.open(segmentPath(dir, baseOffset, '.log'), 'rw');
    return closeOnFailure(file, async () => {
      const segment = new Segment(fs, dir, file, baseOffset, config);
      segment.offsetIndex = new SparseIndex('offset');
      segment.timeIndex = new SparseIndex('time');
      const fileBytes = await file.size();
      const scanner = segment.scanner({ position: 0, baseOffset }, fileBytes);
      for (let batch = await scanner.next(); batch; batch = await scanner.next()) segment.recordAppended(batch.position, batch.header, batch.size);
      return { segment, problem: scanner.problem, fileBytes };
    });
  }

  get isEmpty(): boolean {
    return this.sizeBytes === 0;
  }

  /** Scans from `start` (whose batch must have its base offset, each next batch continuing it). */
  scanner(start: ScanStart, endPosition = this.sizeBytes): BatchScanner {
    return new BatchScanner(this.file, {
      startPosition: start.position, firstBaseOffset: start.baseOffset, endPosition,
      chunkBytes: this.config.readChunkBytes, batchBytesMax: this.config.batchBytesMax,
    });
  }

  /**
   * Advances the in-memory state over a batch that is now in the file at `position`. Index
   * entries go at the start of a batch every ~indexIntervalBytes; the time entry added with an
   * offset entry says "every record before this offset has a timestamp <= key".
   */
  recordAppended(position: number, header: BatchHeader, sizeBytes: number): void {
    const offsetIndex = this.requireIndex(this.offsetIndex);
    const timeIndex = this.requireIndex(this.timeIndex);
    if (this.sizeBytes === 0 || this.bytesSinceIndexEntry >= this.config.indexIntervalBytes) {
      const relativeOffset = Number(header.baseOffset - this.baseOffset);
      offsetIndex.append(relativeOffset, position);
      const lastTime = timeIndex.lastKey();
      if (this.sizeBytes > 0 && (lastTime === undefined || this.maxTimestampMs > lastTime)) {
        timeIndex.append(this.maxTimestampMs, relativeOffset);
      }
      this.bytesSinceIndexEntry = 0;
    }
    this.advance(position, header, sizeBytes);
  }

  /** Moves size, next offset and timestamps past a batch, leaving the indexes alone. */
  private advance(position: number, header: BatchHeader, sizeBytes: number): void {
    this.bytesSinceIndexEntry += sizeBytes;
    this.sizeBytes = position + sizeBytes;
    this.nextOffset = header.baseOffset + BigInt(header.lastOffsetDelta) + 1n;
    this.firstTimestampMs ??= header.baseTimestamp;
    if (header.maxTimestamp > this.maxTimestampMs) this.maxTimestampMs = header.maxTimestamp;
  }

  /** Where to start scanning to find `offset` (which must be in this segment). */
  async positionFor(offset: bigint): Promise<ScanStart> {
    await this.ensureIndexes();
    const entry = this.requireIndex(this.offsetIndex).floor(Number(offset - this.baseOffset));
    return entry === undefined ? { position: 0, baseOffset: this.baseOffset } : { position: entry.value, baseOffset: this.baseOffset + BigInt(entry.key) };
  }

  /** Where to start scanning to find the first record with timestamp >= `timestampMs`. */
  async positionForTimestamp(timestampMs: number): Promise<ScanStart> {
    await this.ensureIndexes();
    const before = this.requireIndex(this.timeIndex).floor(timestampMs - 1);
    return before === undefined ? { position: 0, baseOffset: this.baseOffset } : await this.positionFor(this.baseOffset + BigInt(before.value));
  }

  /**
   * A scan from an index entry found a batch other than the one the entry names: the index is
   * damaged (a sealed segment's index is trusted after a clean stop). Rebuilds both indexes
   * from the log, which checks every batch; CORRUPT_SEGMENT if the log itself is bad.
   */
  async distrustIndexes(): Promise<void> {
    await this.loadingIndexes;
    this.loadingIndexes ??= this.rebuildIndexes().finally(() => {
      this.loadingIndexes = undefined;
    });
    await this.loadingIndexes;
  }

  /** Fsyncs the log file. */
  async sync(): Promise<void> {
    await this.file.sync();
  }

  /**
   * Makes the segment durable and self-describing: fsync the log, then write both index files
   * atomically. The final time entry records the segment's largest timestamp so that a reopen
   * can read it from the index without scanning.
   *
   * Only the fsync's failure is thrown. Index files are a shortcut that an open rebuilds from the
   * log when one is missing (docs/storage.md, Recovery), and the segment keeps its indexes in
   * memory: one that cannot be written (ENOSPC on a full disk) fails nothing, where failing the
   * seal would fail a healthy log until a restart, and an open on a still full disk.
   */
  async persist(): Promise<void> {
    await this.file.sync();
    const offsetIndex = this.requireIndex(this.offsetIndex);
    const timeIndex = this.requireIndex(this.timeIndex);
    const lastTime = timeIndex.lastKey();
    if (this.sizeBytes > 0 && (lastTime === undefined || this.maxTimestampMs > lastTime)) {
      timeIndex.append(this.maxTimestampMs, Number(this.nextOffset - this.baseOffset));
    }
    try {
      await writeFileAtomic(this.fs, segmentPath(this.dir, this.baseOffset, '.index'), offsetIndex.encode());
      await writeFileAtomic(this.fs, segmentPath(this.dir, this.baseOffset, '.timeindex'), timeIndex.encode());
    } catch (error) {
      if (!isBrookError(error, 'IO_ERROR')) throw error;
    }
  }

  async truncate(sizeBytes: number): Promise<void> {
    await this.file.truncate(sizeBytes);
  }

  async close(): Promise<void> {
    await this.file.close();
  }

  /**
   * Deletes the segment's files: the log first, so a crash midway leaves orphan indexes (removed
   * at the next open), never a sealed log without its index. Reads already running keep their
   * open file (POSIX keeps an unlinked file readable through open descriptors).
   */
  async delete(): Promise<void> {
    const firstCall = !this.deleted;
    this.deleted = true;
    try {
      // Called again after a failed unlink: it goes on with the files still there.
      for (; this.filesUnlinked < SEGMENT_SUFFIXES.length; this.filesUnlinked++) {
        await this.fs.unlink(segmentPath(this.dir, this.baseOffset, SEGMENT_SUFFIXES[this.filesUnlinked]!));
      }
    } finally {
      // Out of the log either way: nothing else would close its file.
      if (firstCall && this.readers === 0) await this.file.close();
    }
  }

  /** Marks a read in progress; pair with `release()`. */
  retain(): void {
    this.readers += 1;
  }

  async release(): Promise<void> {
    this.readers -= 1;
    assert(this.readers >= 0, 'unbalanced release of a segment', { logPath: this.logPath });
    if (this.readers === 0 && this.deleted) await this.file.close();
  }

  /**
   * Loads the index files of a segment opened by openSealed. Should a file not parse (damage
   * after the open checked its last entry), the indexes are rebuilt by scanning the segment,
   * and a bad batch found then is corruption of a sealed segment: CORRUPT_SEGMENT.
   */
  private ensureIndexes(): Promise<void> {
    if (this.offsetIndex && this.timeIndex) return Promise.resolve();
    this.loadingIndexes ??= (async () => {
      const indexes = await this.readIndexFiles();
      if (indexes) {
        this.offsetIndex = indexes.offset;
        this.timeIndex = indexes.time;
        return;
      }
      await this.rebuildIndexes();
    })().finally(() => {
      this.loadingIndexes = undefined;
    });
    return this.loadingIndexes;
  }

  /**
   * Rebuilds both indexes by scanning the whole segment into a scratch segment, adopted only if
   * it ends where open said the segment ends: a failed rebuild changes nothing (size, next
   * offset, timestamps), so the log's size, retention and later reads go on from what open
   * established, and each read of the segment fails the same way.
   */
  private async rebuildIndexes(): Promise<void> {
    const scanned = new Segment(this.fs, this.dir, this.file, this.baseOffset, this.config);
    scanned.offsetIndex = new SparseIndex('offset');
    scanned.timeIndex = new SparseIndex('time');
    const scanner = scanned.scanner({ position: 0, baseOffset: this.baseOffset }, this.sizeBytes);
    for (let batch = await scanner.next(); batch; batch = await scanner.next()) scanned.recordAppended(batch.position, batch.header, batch.size);
    const problem = scanner.problem;
    if (problem || scanned.sizeBytes !== this.sizeBytes || scanned.nextOffset !== this.nextOffset) {
      const position = problem?.position ?? scanned.sizeBytes;
      throw new BrookError('CORRUPT_SEGMENT', `${this.logPath} at byte ${position}: ${problem?.detail ?? 'batches do not reach the end of the file'}`, {
        file: this.logPath, position,
      });
    }
    this.offsetIndex = scanned.offsetIndex;
    this.timeIndex = scanned.timeIndex;
    this.firstTimestampMs = scanned.firstTimestampMs;
    this.maxTimestampMs = scanned.maxTimestampMs;
    await this.persist();
  }

  private async readIndexFiles(): Promise<{ offset: SparseIndex; time: SparseIndex } | undefined> {
    const offsetBytes = await this.readIfExists(segmentPath(this.dir, this.baseOffset, '.index'));
    const timeBytes = await this.readIfExists(segmentPath(this.dir, this.baseOffset, '.timeindex'));
    if (!offsetBytes || !timeBytes) return undefined;
    const offset = SparseIndex.decode('offset', offsetBytes);
    const time = SparseIndex.decode('time', timeBytes);
    return offset && time ? { offset, time } : undefined;
  }

  private async readIfExists(path: string): Promise<Uint8Array | undefined> {
    return (await this.fs.exists(path)) ? await this.fs.readFile(path) : undefined;
  }

  private requireIndex(index: SparseIndex | undefined): SparseIndex {
    assert(index, 'indexes are not loaded', { logPath: this.logPath });
    return index;
  }
}
