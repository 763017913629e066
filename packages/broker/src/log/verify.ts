/**
 * `brook verify`: checks a data directory without changing it. Every partition log (topic
 * partitions and group journals alike: both are segment logs) is read batch by batch, and
 * every rule docs/storage.md states is checked:
 *
 *   - every batch passes checkBatch (length, magic, CRC-32C), its records parse, and its header's
 *     baseTimestamp and maxTimestamp are its first record's and its largest (the produce check,
 *     headerTimestampsMismatch: the time index and retention trust them);
 *   - offsets are contiguous: a segment starts at the offset in its name, each batch where the
 *     previous one ended, each segment where the previous segment ended;
 *   - every `.index` entry points at the start of a batch with that offset;
 *   - every `.timeindex` entry names a batch start, and no record before it is later than its key;
 *   - sealed segments (all but the last) have both index files (the one before the last is
 *     reported as a seal cut short: recovery scans it);
 *   - every `*.json` metadata file parses; a partition's log-start.json is valid, and the segments
 *     wholly below it (a retention an open will finish: recovery.ts deletes them) are not checked;
 *   - the directory holds `topics/`, as every broker's does.
 *
 * Index files of a segment with a bad batch are not checked: the first bad batch is what to fix.
 *
 * A problem names the file and byte position. A torn tail of the last segment is a problem too
 * (recovery would cut it); verify reports, it never repairs.
 */
import { isBrookError, isDirectory, type FileSystem } from '@brook/protocol';
import { inspectIndex, inspectLog, type InspectedBatch, type StorageProblem } from './inspect.js';
import { readLogStart } from './log-start.js';
import { LOG_START_FILE, parseSegmentLogName, segmentPath } from './segment-files.js';
import { INDEX_ENTRY_BYTES } from './sparse-index.js';

export interface LogDirVerification {
  readonly dir: string;
  readonly segments: number;
  readonly batches: number;
  readonly records: number;
  readonly problems: readonly StorageProblem[];
}

export interface DataDirVerification {
  readonly logDirs: readonly LogDirVerification[];
  /** Every problem found, log dirs and metadata files together. */
  readonly problems: readonly StorageProblem[];
}

const SEGMENT_FILE_NAME = /^\d{20}\.(log|index|timeindex)$/;

/** Verifies one partition directory (a folder of segment files). */
export async function verifyLogDir(fs: FileSystem, dir: string): Promise<LogDirVerification> {
  const listed = (await fs.readdir(dir)).map(parseSegmentLogName).filter((base) => base !== undefined);
  listed.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const problems: StorageProblem[] = [];
  const logStart = await readLogStart(fs, dir).catch((error: unknown) => {
    if (!isBrookError(error, 'CORRUPT_METADATA')) throw error;
    problems.push({ file: `${dir}/${LOG_START_FILE}`, position: 0, reason: 'bad-metadata', detail: error.message });
    return 0n;
  });
  const below = listed.findIndex((base, i) => i === listed.length - 1 || listed[i + 1]! > logStart);
  const baseOffsets = listed.slice(Math.max(below, 0));
  let batches = 0;
  let records = 0;
  let expectedOffset: bigint | undefined;
  for (const [i, baseOffset] of baseOffsets.entries()) {
    const logFile = segmentPath(dir, baseOffset, '.log');
    if (expectedOffset !== undefined && baseOffset !== expectedOffset) {
      problems.push({ file: logFile, position: 0, reason: 'bad-offset', detail: `segment starts at ${baseOffset} but the previous one ends before ${expectedOffset}` });
    }
    const log = await inspectLog(fs, logFile, { contents: true });
    problems.push(...log.contentProblems!);
    if (log.problem) problems.push(log.problem);
    problems.push(...offsetProblems(logFile, baseOffset, log.batches));
    batches += log.batches.length;
    for (const batch of log.batches) records += batch.recordCount;
    // After a bad batch, where this segment ends is unknown: the next one is not judged by it.
    expectedOffset = log.problem ? undefined : log.batches.length > 0 ? log.batches.at(-1)!.lastOffset + 1n : baseOffset;
    // Past a bad batch the index entries cannot be checked; the bad batch is the problem to fix.
    if (!log.problem) problems.push(...(await indexProblems(fs, dir, baseOffset, log.batches, missingIndexDetail(i, baseOffsets.length))));
  }
  return { dir, segments: baseOffsets.length, batches, records, problems };
}

/**
 * What a missing index file of the i-th of `count` segments means, or undefined if nothing: the
 * active segment's are written when it is sealed, and the one before it is sealed in the
 * background (partition-log.ts), so a crash can leave it without them. A seal refused their
 * writes (ENOSPC) leaves any sealed segment without them (Segment.persist): still said, as the
 * files are missing, but as what it may be.
 */
function missingIndexDetail(i: number, count: number): string | undefined {
  if (i === count - 1) return undefined;
  if (i === count - 2) return 'the segment before the last has no index file: its seal did not finish (a stop during a roll); the next open scans it and writes them';
  return 'a sealed segment has no index file: removed, or its seal could not write it (a full disk); the next open scans the segment and writes them';
}

function offsetProblems(file: string, baseOffset: bigint, batches: readonly InspectedBatch[]): StorageProblem[] {
  let expected = baseOffset;
  for (const batch of batches) {
    if (batch.baseOffset !== expected) {
      return [{ file, position: batch.position, reason: 'bad-offset', detail: `batch has baseOffset ${batch.baseOffset}, expected ${expected}` }];
    }
    expected = batch.lastOffset + 1n;
  }
  return [];
}

async function indexProblems(
  fs: FileSystem, dir: string, baseOffset: bigint, batches: readonly InspectedBatch[], missingDetail: string | undefined,
): Promise<StorageProblem[]> {
  const problems: StorageProblem[] = [];
  const byOffset = new Map(batches.map((batch) => [batch.baseOffset, batch]));
  const endOffset = batches.length > 0 ? batches.at(-1)!.lastOffset + 1n : baseOffset;
  for (const suffix of ['.index', '.timeindex'] as const) {
    const file = segmentPath(dir, baseOffset, suffix);
    if (!(await fs.exists(file))) {
      if (missingDetail) problems.push({ file, position: 0, reason: 'missing-index', detail: missingDetail });
      continue;
    }
    const index = await inspectIndex(fs, file);
    if (index.problem) {
      problems.push(index.problem);
      continue;
    }
    const segment = { baseOffset, endOffset, batches, byOffset };
    for (const [entry, { key, value }] of index.entries.entries()) {
      const mismatch = suffix === '.index' ? offsetEntryMismatch(segment, key, value) : timeEntryMismatch(segment, key, value);
      const entryPosition = entry * INDEX_ENTRY_BYTES[index.kind];
      if (mismatch) problems.push({ file, position: entryPosition, reason: 'index-mismatch', detail: `entry ${entry} ${mismatch}` });
    }
  }
  return problems;
}

interface SegmentBatches {
  readonly baseOffset: bigint;
  readonly endOffset: bigint;
  readonly batches: readonly InspectedBatch[];
  readonly byOffset: ReadonlyMap<bigint, InspectedBatch>;
}

function offsetEntryMismatch(segment: SegmentBatches, relativeOffset: number, position: number): string | undefined {
  const offset = segment.baseOffset + BigInt(relativeOffset);
  const batch = segment.byOffset.get(offset);
  if (!batch) return `names offset ${offset}, which starts no batch`;
  if (batch.position !== position) return `says offset ${offset} is at position ${position}, but it is at ${batch.position}`;
  return undefined;
}

function timeEntryMismatch(segment: SegmentBatches, timestampMs: number, relativeOffset: number): string | undefined {
  const offset = segment.baseOffset + BigInt(relativeOffset);
  // A seal adds a last entry at the segment's end offset: past every batch, not at one.
  if (offset !== segment.endOffset && !segment.byOffset.has(offset)) return `names offset ${offset}, which starts no batch`;
  if (laterRecordBefore(segment.batches, offset, timestampMs)) return `says no record before offset ${offset} is later than ${timestampMs}, but one is`;
  return undefined;
}

function laterRecordBefore(batches: readonly InspectedBatch[], offset: bigint, timestampMs: number): boolean {
  return batches.some((batch) => batch.lastOffset < offset && batch.maxTimestampMs > timestampMs);
}

/** Verifies every log directory and metadata file under a broker's data directory. */
export async function verifyDataDir(fs: FileSystem, dataDir: string): Promise<DataDirVerification> {
  const logDirs: LogDirVerification[] = [];
  const problems: StorageProblem[] = [];
  const visit = async (dir: string): Promise<void> => {
    const names = await fs.readdir(dir);
    if (names.some((name) => parseSegmentLogName(name) !== undefined)) {
      const verification = await verifyLogDir(fs, dir);
      logDirs.push(verification);
      problems.push(...verification.problems);
    }
    for (const name of names) {
      const path = `${dir}/${name}`;
      // A log directory's log-start.json is checked with its segments (verifyLogDir).
      if (name === LOG_START_FILE && names.some((other) => parseSegmentLogName(other) !== undefined)) continue;
      if (name.endsWith('.json')) problems.push(...(await metadataProblems(fs, path)));
      // Topic and group names may hold dots (orders.dlq): anything but a segment file may be a directory.
      else if (!SEGMENT_FILE_NAME.test(name)) await visitIfDir(path);
    }
  };
  const visitIfDir = async (path: string): Promise<void> => {
    if (await isDirectory(fs, path)) await visit(path);
  };
  await visit(dataDir);
  // An empty directory, or another program's, would otherwise pass as a healthy broker with no topics.
  if (!(await fs.readdir(dataDir)).includes('topics')) {
    problems.push({ file: dataDir, position: 0, reason: 'not-a-data-dir', detail: 'no topics/ directory, which every brook data directory has: not a data directory (or its topics are gone)' });
  }
  return { logDirs, problems };
}

async function metadataProblems(fs: FileSystem, file: string): Promise<StorageProblem[]> {
  try {
    JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(await fs.readFile(file)));
    return [];
  } catch (error) {
    if (isBrookError(error)) throw error;
    return [{ file, position: 0, reason: 'bad-metadata', detail: `not valid UTF-8 JSON: ${(error as Error).message}` }];
  }
}
