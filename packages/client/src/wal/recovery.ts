/**
 * Opening a WAL directory: read every segment the buffer owns, oldest first, and rebuild what is
 * uncommitted. Recovery never trusts how the last run ended:
 *
 * - Only the last segment can have an unsynced tail (a segment is fsynced before the next one is
 *   created), so a torn or bad frame there is cut off, provided nothing valid follows it; the
 *   same in any other segment, or followed by a valid frame, is corruption: CORRUPT_SEGMENT
 *   naming file and position, never a silent skip.
 * - A last segment without a valid header is a roll that crashed: it holds nothing, delete it.
 * - Segments whose batches are all committed are deleted (a crash between the commit and the
 *   delete leaves them behind).
 */
import { BrookError, type FileSystem } from '@brook/protocol';
import { FrameDecoder, findFrame } from './frame-codec.js';
import { type BufferedRecord } from './record-codec.js';
import { segmentPath, parseSegmentName } from './segment-names.js';
import { SegmentScan, type ScannedBatch } from './segment-scan.js';

const READ_CHUNK_BYTES = 1024 * 1024;

export interface SegmentInfo {
  readonly segmentSeq: number;
  readonly sizeBytes: number;
  /** Highest batch sealed in this segment, or -1 if none. */
  readonly lastBatchSeq: number;
}

export interface RecoveryReport {
  /** Bytes cut off the end of the last segment (a torn or unsynced tail). */
  readonly truncatedBytes: number;
  /** Why the cut was made there, if it was. */
  readonly truncatedReason: string | undefined;
  /** Segments deleted at open: fully committed ones, or a last one a crashed roll left empty. */
  readonly deletedSegments: number;
  /** The next batch sequence as found: every batch below it was sealed by an earlier run (and may have been sent). */
  readonly nextBatchSequence: number;
}

export interface RecoveredWal {
  /** Oldest first; the last one is where appends continue. Empty for a new directory. */
  readonly segments: SegmentInfo[];
  /** Sealed, uncommitted batches, oldest first. */
  readonly batches: ScannedBatch[];
  /** Records put after the last seal: the open batch. */
  readonly open: BufferedRecord[];
  readonly committedThrough: number;
  readonly nextBatchSeq: number;
  readonly nextRecordSeq: number;
  readonly report: RecoveryReport;
}

interface ScannedFile {
  readonly scan: SegmentScan;
  readonly validBytes: number;
  readonly fileBytes: number;
  readonly problem: { position: number; reason: string } | undefined;
}

async function scanFile(fs: FileSystem, path: string, scan: SegmentScan): Promise<ScannedFile> {
  const handle = await fs.open(path, 'r');
  try {
    const fileBytes = await handle.size();
    const decoder = new FrameDecoder();
    for (let position = 0; position < fileBytes;) {
      const chunk = new Uint8Array(Math.min(fileBytes - position, Math.max(READ_CHUNK_BYTES, decoder.bytesWanted)));
      position += await handle.readInto(chunk, 0, chunk.length, position);
      decoder.push(chunk);
      for (let step = decoder.next(); step.kind !== 'need-more'; step = decoder.next()) {
        if (step.kind === 'bad') return { scan, validBytes: step.position, fileBytes, problem: { position: step.position, reason: step.reason } };
        const reason = scan.accept(step.frame);
        if (reason !== undefined) return { scan, validBytes: step.frame.position, fileBytes, problem: { position: step.frame.position, reason } };
      }
    }
    const problem = decoder.pendingBytes > 0 ? { position: decoder.position, reason: 'torn frame' } : undefined;
    return { scan, validBytes: decoder.position, fileBytes, problem };
  } finally {
    await handle.close();
  }
}

function corrupt(path: string, position: number, reason: string): BrookError {
  return new BrookError('CORRUPT_SEGMENT', `${path} at byte ${position}: ${reason}`, { file: path, position, reason });
}

/** The problems a crash can leave in an unsynced tail: framing, not meaning. */
const TEAR_REASONS: ReadonlySet<string> = new Set(['torn frame', 'bad-crc', 'bad-length', 'bad-kind']);

/**
 * Throws CORRUPT_SEGMENT unless `file`'s problem is a torn tail: in the last segment, about
 * framing, and with no valid frame anywhere after it. A crash tears only what was written last,
 * so anything valid behind the bad frame was written after it; cutting there would drop frames
 * that may have been fsynced (SEALs of emitted batches, COMMITs), and the numbering would start
 * over below sequences already handed out. A power cut that writes pages back out of order can in
 * principle leave that shape too; it is refused as well, as it cannot be told from bit rot.
 */
async function refuseUnlessTornTail(fs: FileSystem, path: string, file: ScannedFile, isLast: boolean): Promise<void> {
  const { position, reason } = file.problem!;
  if (!isLast || !TEAR_REASONS.has(reason)) throw corrupt(path, position, reason);
  // From the next byte, not the bad frame's end: its length field may be what is damaged.
  const after = findFrame(await readRange(fs, path, position + 1, file.fileBytes));
  if (after !== undefined) throw corrupt(path, position, `${reason}, followed by a valid frame at byte ${position + 1 + after}`);
}

/** The bytes [from, to) of a file: the rest of a last segment after a bad frame, bounded by segmentBytesMax and a batch. */
async function readRange(fs: FileSystem, path: string, from: number, to: number): Promise<Uint8Array> {
  const bytes = new Uint8Array(to - from);
  const handle = await fs.open(path, 'r');
  try {
    // readInto reads short only at the end of the file.
    return bytes.subarray(0, await handle.readInto(bytes, 0, bytes.length, from));
  } finally {
    await handle.close();
  }
}

export async function recoverWal(fs: FileSystem, dir: string): Promise<RecoveredWal> {
  const seqs = (await fs.readdir(dir)).map(parseSegmentName).filter((seq): seq is number => seq !== undefined);
  const files: ScannedFile[] = [];
  let deletedSegments = 0;
  let truncatedBytes = 0;
  let truncatedReason: string | undefined;
  for (const [i, seq] of seqs.entries()) {
    const path = segmentPath(dir, seq);
    const previous = files.at(-1)?.scan;
    const file = await scanFile(fs, path, new SegmentScan(seq, previous && { nextBatchSeq: previous.nextBatchSeq, nextRecordSeq: previous.nextRecordSeq }));
    const isLast = i === seqs.length - 1;
    if (file.problem !== undefined) await refuseUnlessTornTail(fs, path, file, isLast);
    if (file.scan.header === undefined) {
      if (!isLast) throw corrupt(path, 0, 'no segment header');
      await fs.unlink(path);
      await fs.syncDir(dir);
      deletedSegments += 1;
      continue;
    }
    if (file.problem !== undefined) {
      truncatedBytes = file.fileBytes - file.validBytes;
      truncatedReason = `${path} at byte ${file.validBytes}: ${file.problem.reason}`;
      await truncateDurably(fs, path, file.validBytes);
    }
    if (!isLast && file.scan.open.length > 0) throw corrupt(path, file.validBytes, `${file.scan.open.length} records after the last seal of a sealed segment`);
    files.push(file);
  }
  // Batches before the first segment were committed (a segment is deleted only then), though
  // their COMMIT frames went with them: after clear(), the only segment holds none.
  const committedBefore = (files[0]?.scan.header!.firstBatchSeq ?? 0) - 1;
  const committedThrough = Math.max(committedBefore, ...files.map((file) => file.scan.committedThrough));
  const kept = await deleteCommittedSegments(fs, dir, files, committedThrough);
  deletedSegments += files.length - kept.length;
  const last = kept.at(-1)?.scan;
  const nextBatchSeq = last?.nextBatchSeq ?? 0;
  return {
    segments: kept.map(({ scan, validBytes }) => ({ segmentSeq: scan.header!.segmentSeq, sizeBytes: validBytes, lastBatchSeq: scan.nextBatchSeq - 1 })),
    batches: kept.flatMap((file) => file.scan.batches).filter((batch) => batch.sequence > committedThrough),
    open: last?.open ?? [],
    committedThrough,
    nextBatchSeq,
    nextRecordSeq: last?.nextRecordSeq ?? 0,
    report: { truncatedBytes, truncatedReason, deletedSegments, nextBatchSequence: nextBatchSeq },
  };
}

async function truncateDurably(fs: FileSystem, path: string, length: number): Promise<void> {
  const handle = await fs.open(path, 'rw');
  try {
    await handle.truncate(length);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Deletes leading segments that hold only committed batches, never the last; oldest first, each durably, so no gap can appear. */
async function deleteCommittedSegments(fs: FileSystem, dir: string, files: ScannedFile[], committedThrough: number): Promise<ScannedFile[]> {
  let first = 0;
  while (first < files.length - 1 && files[first]!.scan.nextBatchSeq - 1 <= committedThrough) {
    await fs.unlink(segmentPath(dir, files[first]!.scan.header!.segmentSeq));
    await fs.syncDir(dir);
    first += 1;
  }
  return files.slice(first);
}
