/**
 * Opening a partition directory: which segment files to trust, which to scan, what to cut.
 *
 * The invariant that makes this cheap: a segment is sealed (log fsynced, index files written
 * atomically) *before* the next segment is created, and segment creation fsyncs the directory.
 * So every segment but the last is durable and indexed, and only the last one can have a torn
 * or unsynced tail. The last segment's base offset is the recovery checkpoint.
 *
 * | state found                         | action                                                        |
 * | ----------------------------------- | ------------------------------------------------------------- |
 * | clean-shutdown marker               | trust every index; read only from each last index entry on     |
 * | no marker (unclean stop)            | scan the last segment batch by batch, rebuild its indexes      |
 * | no marker, even if nothing is cut   | fsync the directory and the last segment (a killed process's   |
 * |                                     | writes may be in the page cache only) before any is visible    |
 * | torn tail / bad CRC in last segment | truncate at the first bad batch (fsync), append after it       |
 * | sealed segment: index missing/bad   | rebuild the index by scanning that segment, rewrite the files  |
 * | sealed index bad behind last entry  | found at the first read (indexes load lazily): rebuilt then    |
 * | sealed segment: bad batch           | refuse to open: CORRUPT_SEGMENT naming file and byte position  |
 * | offsets not contiguous across files | refuse to open: CORRUPT_SEGMENT                                |
 * | leftover *.tmp, orphan index files  | delete them                                                   |
 */
import { BrookError, mkdirDurable, type FileSystem } from '@brook/protocol';
import type { ScanProblem } from './batch-scanner.js';
import { Segment, type SegmentConfig } from './segment.js';
import { parseSegmentLogName, segmentStem } from './segment-files.js';

export interface RecoveryReport {
  /** Segments whose batches were scanned (the tail, plus any sealed one with a bad index). */
  readonly scannedSegments: number;
  /** Sealed segments whose index files were rebuilt. */
  readonly rebuiltIndexes: number;
  /** Bytes cut from the tail: a torn write or a bad batch and everything after it. */
  readonly truncatedBytes: number;
  /** File position where the tail was cut, if it was. */
  readonly truncatedAtPosition: number | undefined;
  readonly removedFiles: readonly string[];
}

export async function recoverSegments(
  fs: FileSystem, dir: string, config: SegmentConfig, cleanShutdown: boolean,
): Promise<{ segments: Segment[]; report: RecoveryReport }> {
  await mkdirDurable(fs, dir);
  const { baseOffsets, removedFiles } = await listSegments(fs, dir, cleanShutdown);
  const report = { scannedSegments: 0, rebuiltIndexes: 0, truncatedBytes: 0, truncatedAtPosition: undefined as number | undefined, removedFiles };
  if (baseOffsets.length === 0) return { segments: [await Segment.create(fs, dir, 0n, config)], report };

  const segments: Segment[] = [];
  try {
    for (let i = 0; i < baseOffsets.length - 1; i++) {
      const segment = await openSealed(fs, dir, baseOffsets[i]!, config, report);
      segments.push(segment);
      if (segment.nextOffset !== baseOffsets[i + 1]) {
        throw corruptSegmentError(segment.logPath, segment.sizeBytes, `offsets end at ${segment.nextOffset} but the next segment starts at ${baseOffsets[i + 1]}`);
      }
    }
    segments.push(await openTail(fs, dir, baseOffsets.at(-1)!, config, cleanShutdown, report));
  } catch (error) {
    await Promise.all(segments.map((segment) => segment.close()));
    throw error;
  }
  return { segments, report };
}

async function openSealed(fs: FileSystem, dir: string, baseOffset: bigint, config: SegmentConfig, report: { scannedSegments: number; rebuiltIndexes: number }): Promise<Segment> {
  const sealed = await Segment.openSealed(fs, dir, baseOffset, config);
  if (sealed !== 'rebuild') return sealed;
  const scanned = await Segment.openScanned(fs, dir, baseOffset, config);
  report.scannedSegments += 1;
  if (scanned.problem) {
    await scanned.segment.close();
    throw corruptAt(scanned.segment, scanned.problem);
  }
  await scanned.segment.persist();
  report.rebuiltIndexes += 1;
  return scanned.segment;
}

async function openTail(
  fs: FileSystem, dir: string, baseOffset: bigint, config: SegmentConfig, cleanShutdown: boolean,
  report: { scannedSegments: number; truncatedBytes: number; truncatedAtPosition: number | undefined },
): Promise<Segment> {
  if (cleanShutdown) {
    const indexed = await Segment.openIndexed(fs, dir, baseOffset, config);
    if (indexed !== 'rebuild' && !indexed.problem) return indexed.segment;
    if (indexed !== 'rebuild') await indexed.segment.close();
  }
  const { segment, problem, fileBytes } = await Segment.openScanned(fs, dir, baseOffset, config);
  report.scannedSegments += 1;
  if (problem || fileBytes > segment.sizeBytes) {
    await segment.truncate(segment.sizeBytes);
    report.truncatedBytes = fileBytes - segment.sizeBytes;
    report.truncatedAtPosition = segment.sizeBytes;
  }
  // Fsync even when nothing was cut: if only the process died, what the scan found may be in the
  // page cache alone (an append whose fsync never ran or failed), and it is about to become
  // visible; a later power cut must not take back a record readers have seen.
  await segment.sync();
  return segment;
}

/**
 * Segment base offsets in order; deletes leftovers of interrupted atomic writes and deletions.
 * After an unclean stop it fsyncs the directory even if it removed nothing: a process killed
 * between creating a segment and fsyncing the directory leaves a name that only the page cache
 * holds, and appends acknowledged into that segment would vanish with it at a power cut.
 */
async function listSegments(fs: FileSystem, dir: string, cleanShutdown: boolean): Promise<{ baseOffsets: bigint[]; removedFiles: string[] }> {
  const names = await fs.readdir(dir);
  const baseOffsets = names.map(parseSegmentLogName).filter((base): base is bigint => base !== undefined);
  const stems = new Set(baseOffsets.map(segmentStem));
  const removedFiles: string[] = [];
  for (const name of names) {
    const orphanIndex = /^(\d{20})\.(index|timeindex)$/.exec(name);
    if (name.endsWith('.tmp') || (orphanIndex && !stems.has(orphanIndex[1]!))) {
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

