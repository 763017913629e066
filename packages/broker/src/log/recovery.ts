/**
 * Opening a partition directory: which segment files to trust, which to scan, what to cut.
 *
 * The invariant that makes this cheap: a full segment is sealed (log fsynced, then index files
 * written atomically) behind the next one, and a roll waits for the previous seal before it
 * creates a segment (partition-log.ts); segment creation fsyncs the directory. So every segment
 * but the last two is durable and indexed; the one before the last is too once both its index
 * files exist, and otherwise it is treated like the last: only those can have a torn or unsynced
 * tail. The first segment without index files is the recovery checkpoint.
 *
 * | state found                         | action                                                        |
 * | ----------------------------------- | ------------------------------------------------------------- |
 * | clean-shutdown marker               | trust every index; read only from each last index entry on     |
 * | no marker (unclean stop)            | scan the last segment batch by batch, rebuild its indexes      |
 * | no marker, even if nothing is cut   | fsync the directory and the last segment (a killed process's   |
 * |                                     | writes may be in the page cache only) before any is visible    |
 * | torn tail / bad CRC in last segment | truncate at the first bad batch (fsync), append after it       |
 * | whole batch at a wrong offset there | refuse to open: CORRUPT_SEGMENT (a misnamed or damaged file)   |
 * | segment before the last, unsealed   | scan it; cut as above; if it lost anything or ends short of    |
 * |   (an index file missing)           | the last one, delete the last (records after a hole)           |
 * | sealed segment: index missing/bad   | rebuild the index by scanning that segment, rewrite the files  |
 * | sealed index bad behind last entry  | found at the first read (indexes load lazily): rebuilt then    |
 * | sealed segment: bad batch           | refuse to open: CORRUPT_SEGMENT naming file and byte position  |
 * | offsets not contiguous across files | refuse to open: CORRUPT_SEGMENT                                |
 * | leftover .tmp of an index file, the | delete them; any other file is not Brook's and stays           |
 * |   producer snapshot or log-start;   |                                                               |
 * |   orphan index files                |                                                               |
 * | segments wholly below log-start.json| delete them (a retention cut short) before anything reads them;|
 * |                                     | the log starts at max(first base offset, the checkpoint)       |
 * | log-start.json past the log's end   | refuse to open: CORRUPT_METADATA                              |
 */
import { BrookError, closeOnFailure, mkdirDurable, type FileSystem } from '@brook/protocol';
import type { ScanProblem } from './batch-scanner.js';
import { Segment, type SegmentConfig } from './segment.js';
import { logStartPastEndError, readLogStart } from './log-start.js';
import { isAtomicWriteLeftover, parseIndexFileStem, parseSegmentLogName, segmentPath, segmentStem, type SegmentFileSuffix } from './segment-files.js';

export interface RecoveryReport {
  /** Segments whose batches were scanned (the tail, the one before it if unsealed, any sealed one with a bad index). */
  readonly scannedSegments: number;
  /** Segments whose index files recovery wrote: sealed ones with a bad index, an unsealed one it sealed. */
  readonly rebuiltIndexes: number;
  /** Bytes cut from the tail: a torn write or a bad batch and everything after it (a last segment deleted behind an unsealed one included). */
  readonly truncatedBytes: number;
  /** File position where the tail was cut, if it was. */
  readonly truncatedAtPosition: number | undefined;
  readonly removedFiles: readonly string[];
}

/**
 * Opens the partition in `dir`. `startOffset` is where the log starts: its first segment's base
 * offset, or the log-start checkpoint when that is higher (a segment straddling it keeps its file).
 */
export async function recoverSegments(
  fs: FileSystem, dir: string, config: SegmentConfig, cleanShutdown: boolean,
): Promise<{ segments: Segment[]; report: RecoveryReport; startOffset: bigint }> {
  await mkdirDurable(fs, dir);
  const listed = await listSegments(fs, dir, cleanShutdown);
  const { removedFiles } = listed;
  const logStart = await readLogStart(fs, dir);
  const baseOffsets = await deleteBelowLogStart(fs, dir, listed.baseOffsets, logStart, removedFiles);
  const report = { scannedSegments: 0, rebuiltIndexes: 0, truncatedBytes: 0, truncatedAtPosition: undefined as number | undefined, removedFiles };
  if (baseOffsets.length === 0) {
    if (logStart > 0n) throw logStartPastEndError(dir, logStart, 0n);
    return { segments: [await Segment.create(fs, dir, 0n, config)], report, startOffset: 0n };
  }
  const segments = await openSegments(fs, dir, baseOffsets, config, cleanShutdown, report);
  const endOffset = segments[segments.length - 1]!.nextOffset;
  if (logStart > endOffset) {
    await Promise.allSettled(segments.map((segment) => segment.close()));
    throw logStartPastEndError(dir, logStart, endOffset);
  }
  return { segments, report, startOffset: logStart > baseOffsets[0]! ? logStart : baseOffsets[0]! };
}

/**
 * Deletes the segments wholly below the log-start checkpoint, the log file first (as
 * Segment.delete), then fsyncs the directory: a retention whose unlinks failed or were taken back
 * by a power cut, finished now, before anything reads them. The last segment always stays (retention
 * never deletes it). Returns the base offsets left. Not the only guard: the files would only be
 * deleted again at the next open (the checkpoint is durable before retention unlinks anything), and
 * a checkpoint whose own directory fsync failed is also made durable by listSegments' fsync (that
 * failure fails the log, so the open is unclean) or, after a clean close, removeTailIndexFiles';
 * removing both lets a power cut move startOffset back after a clean close (log-start.test.ts).
 */
async function deleteBelowLogStart(fs: FileSystem, dir: string, baseOffsets: bigint[], logStart: bigint, removed: string[]): Promise<bigint[]> {
  let below = 0;
  while (below < baseOffsets.length - 1 && baseOffsets[below + 1]! <= logStart) below += 1;
  for (const baseOffset of baseOffsets.slice(0, below)) {
    removed.push(...(await unlinkSegmentFiles(fs, dir, baseOffset, ['.log', '.index', '.timeindex'])));
  }
  if (below > 0) await fs.syncDir(dir);
  return baseOffsets.slice(below);
}

/** Opens the segments left, the last (and an unsealed one before it) scanned; see the table above. */
async function openSegments(
  fs: FileSystem, dir: string, baseOffsets: bigint[], config: SegmentConfig, cleanShutdown: boolean, report: TailReport,
): Promise<Segment[]> {

  const segments: Segment[] = [];
  try {
    const last = baseOffsets.length - 1;
    for (let i = 0; i < last; i++) {
      if (i === last - 1 && !(await hasIndexFiles(fs, dir, baseOffsets[i]!))) {
        const unsealed = await openUnsealed(fs, dir, baseOffsets[i]!, baseOffsets[last]!, config, report);
        segments.push(unsealed.segment);
        if (unsealed.isTail) {
          await removeTailIndexFiles(fs, dir, baseOffsets[i]!);
          return segments;
        }
        break;
      }
      const segment = await openSealed(fs, dir, baseOffsets[i]!, config, report);
      segments.push(segment);
      if (segment.nextOffset !== baseOffsets[i + 1]) {
        throw corruptSegmentError(segment.logPath, segment.sizeBytes, `offsets end at ${segment.nextOffset} but the next segment starts at ${baseOffsets[i + 1]}`);
      }
    }
    segments.push(await openTail(fs, dir, baseOffsets[last]!, config, cleanShutdown, report));
    await removeTailIndexFiles(fs, dir, baseOffsets[last]!);
  } catch (error) {
    await Promise.allSettled(segments.map((segment) => segment.close()));
    throw error;
  }
  return segments;
}

async function openSealed(fs: FileSystem, dir: string, baseOffset: bigint, config: SegmentConfig, report: { scannedSegments: number; rebuiltIndexes: number }): Promise<Segment> {
  const sealed = await Segment.openSealed(fs, dir, baseOffset, config);
  if (sealed !== 'rebuild') return sealed;
  const { segment, problem } = await Segment.openScanned(fs, dir, baseOffset, config);
  report.scannedSegments += 1;
  return closeOnFailure(segment, async () => {
    if (problem) throw corruptAt(segment, problem);
    await segment.persist();
    report.rebuiltIndexes += 1;
    return segment;
  });
}

async function openTail(
  fs: FileSystem, dir: string, baseOffset: bigint, config: SegmentConfig, cleanShutdown: boolean,
  report: TailReport,
): Promise<Segment> {
  if (cleanShutdown) {
    const indexed = await Segment.openIndexed(fs, dir, baseOffset, config);
    if (indexed !== 'rebuild' && !indexed.problem) return indexed.segment;
    if (indexed !== 'rebuild') await indexed.segment.close();
  }
  const { segment, problem, fileBytes } = await Segment.openScanned(fs, dir, baseOffset, config);
  report.scannedSegments += 1;
  return closeOnFailure(segment, async () => {
    await cutAfterScan(segment, problem, fileBytes, report);
    // Fsync even when nothing was cut: if only the process died, what the scan found may be in the
    // page cache alone (an append whose fsync never ran or failed), and it is about to become
    // visible; a later power cut must not take back a record readers have seen.
    await segment.sync();
    return segment;
  });
}

/**
 * Cuts a scanned segment at its first bad batch, or after its last good one. A whole batch at the
 * wrong offset is refused instead (CORRUPT_SEGMENT): a crash only cuts writes short, and the CRC
 * does not cover baseOffset, so such a batch is a damaged or misnamed file whose batches may all
 * be acknowledged; cutting there would drop them without a word.
 */
async function cutAfterScan(segment: Segment, problem: ScanProblem | undefined, fileBytes: number, report: TailReport): Promise<void> {
  if (problem?.reason === 'bad-offset') throw corruptAt(segment, problem);
  if (!problem && fileBytes === segment.sizeBytes) return;
  await segment.truncate(segment.sizeBytes);
  report.truncatedBytes += fileBytes - segment.sizeBytes;
  report.truncatedAtPosition = segment.sizeBytes;
}

/** The report as recovery fills it in. */
interface TailReport {
  scannedSegments: number;
  rebuiltIndexes: number;
  truncatedBytes: number;
  truncatedAtPosition: number | undefined;
  removedFiles: string[];
}

async function hasIndexFiles(fs: FileSystem, dir: string, baseOffset: bigint): Promise<boolean> {
  return (await fs.exists(segmentPath(dir, baseOffset, '.index'))) && (await fs.exists(segmentPath(dir, baseOffset, '.timeindex')));
}

/**
 * The segment before the last, whose seal had not finished (an index file is missing): its tail
 * may be torn or unsynced like the last segment's. Scanned and cut like it; whole and running on
 * into the last segment, it is sealed now; otherwise the last segment (records after a hole)
 * is deleted and this one becomes the tail. Under fsync 'always' it is always whole: a round
 * waits for the seal before it resolves.
 */
async function openUnsealed(
  fs: FileSystem, dir: string, baseOffset: bigint, lastBaseOffset: bigint, config: SegmentConfig, report: TailReport,
): Promise<{ segment: Segment; isTail: boolean }> {
  const { segment, problem, fileBytes } = await Segment.openScanned(fs, dir, baseOffset, config);
  report.scannedSegments += 1;
  return closeOnFailure(segment, async () => {
    if (!problem && fileBytes === segment.sizeBytes && segment.nextOffset === lastBaseOffset) {
      await segment.persist();
      report.rebuiltIndexes += 1;
      return { segment, isTail: false };
    }
    await cutAfterScan(segment, problem, fileBytes, report);
    report.truncatedBytes += await deleteSegmentFiles(fs, dir, lastBaseOffset, report.removedFiles);
    await fs.syncDir(dir);
    await segment.sync();
    return { segment, isTail: true };
  });
}

/**
 * A clean close writes the active segment's index files, and the reopened log appends to that
 * segment: they would go stale, and once the segment is the one before the last, stale index
 * files would pass for a finished seal (hasIndexFiles). So they go, durably, before any append;
 * its seal writes them afresh. Their contents are already loaded (openIndexed) or rebuilt. The
 * fsync is a second guard: the roll that makes this segment the one before the last fsyncs the
 * directory (Segment.create) before the new segment takes a record, which makes these unlinks
 * durable too, so no test fails without it (mutation testing found it so).
 */
async function removeTailIndexFiles(fs: FileSystem, dir: string, baseOffset: bigint): Promise<void> {
  if ((await unlinkSegmentFiles(fs, dir, baseOffset, ['.index', '.timeindex'])).length > 0) await fs.syncDir(dir);
}

/** Deletes the last segment's files, the log first (as Segment.delete); returns the log's size. */
async function deleteSegmentFiles(fs: FileSystem, dir: string, baseOffset: bigint, removed: string[]): Promise<number> {
  const log = await fs.open(segmentPath(dir, baseOffset, '.log'), 'r');
  const logBytes = await closeOnFailure(log, () => log.size());
  await log.close();
  removed.push(...(await unlinkSegmentFiles(fs, dir, baseOffset, ['.log', '.index', '.timeindex'])));
  return logBytes;
}

/** Unlinks those of a segment's files that exist, in the order given; returns their names. */
async function unlinkSegmentFiles(fs: FileSystem, dir: string, baseOffset: bigint, kinds: readonly SegmentFileSuffix[]): Promise<string[]> {
  const unlinked: string[] = [];
  for (const kind of kinds) {
    const path = segmentPath(dir, baseOffset, kind);
    if (!(await fs.exists(path))) continue;
    await fs.unlink(path);
    unlinked.push(`${segmentStem(baseOffset)}${kind}`);
  }
  return unlinked;
}

/**
 * Segment base offsets in order; deletes leftovers of interrupted atomic writes and deletions.
 * After an unclean stop it fsyncs the directory even if it removed nothing: a process killed
 * between creating a segment and fsyncing the directory leaves a name that only the page cache
 * holds, and appends acknowledged into that segment would vanish with it at a power cut. (Today
 * a roll creates a segment before it seals the one before, so that one is unsealed then, and its
 * recovery, index files written atomically or the last segment deleted, fsyncs the directory too;
 * this fsync does not lean on that order, nor on a pending log-start.json rename having segments
 * below it for deleteBelowLogStart to fsync.)
 */
async function listSegments(fs: FileSystem, dir: string, cleanShutdown: boolean): Promise<{ baseOffsets: bigint[]; removedFiles: string[] }> {
  const names = await fs.readdir(dir);
  const baseOffsets = names.map(parseSegmentLogName).filter((base): base is bigint => base !== undefined);
  const stems = new Set(baseOffsets.map(segmentStem));
  const removedFiles: string[] = [];
  for (const name of names) {
    const indexStem = parseIndexFileStem(name);
    if (isAtomicWriteLeftover(name) || (indexStem !== undefined && !stems.has(indexStem))) {
      await fs.unlink(`${dir}/${name}`);
      removedFiles.push(name);
    }
  }
  if (removedFiles.length > 0 || !cleanShutdown) await fs.syncDir(dir);
  baseOffsets.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return { baseOffsets, removedFiles };
}

function corruptAt(segment: Segment, problem: ScanProblem): BrookError {
  return corruptSegmentError(segment.logPath, problem.position, `${problem.reason}: ${problem.detail}`);
}

export function corruptSegmentError(file: string, position: number, detail: string): BrookError {
  return new BrookError('CORRUPT_SEGMENT', `${file} at byte ${position}: ${detail}`, { file, position });
}

