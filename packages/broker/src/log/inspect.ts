/**
 * The storage format made visible: reads one segment's files the way recovery does, but instead
 * of repairing anything it reports every batch, every index entry and the first problem, naming
 * the file and byte position. `brook dump` prints this; `verifyPartition` (verify.ts) judges it.
 *
 * Read-only by design: inspecting a directory a broker has open is safe, and inspecting a damaged
 * one changes nothing (a broker opening it would truncate a torn tail; inspect only says so).
 */
import { decodeBatch, headerTimestampsMismatch, isBrookError, verifyBatchRecords, type FileSystem, type LogRecord } from '@brook/protocol';
import { STORED_BATCH_BYTES_MAX } from '../config/defaults.js';
import { BatchScanner, type ScanProblem } from './batch-scanner.js';
import { INDEX_ENTRY_BYTES, SparseIndex, type IndexKind } from './sparse-index.js';

export interface InspectedBatch {
  readonly position: number;
  readonly sizeBytes: number;
  readonly baseOffset: bigint;
  readonly lastOffset: bigint;
  readonly recordCount: number;
  readonly baseTimestampMs: number;
  readonly maxTimestampMs: number;
  readonly producerId: bigint;
  readonly producerEpoch: number;
  readonly baseSequence: number;
  /** Only when asked for (`records: true`): the decoded records, copied out of the read buffer. */
  readonly records?: readonly LogRecord[];
}

export interface StorageProblem {
  readonly file: string;
  readonly position: number;
  readonly reason: ScanProblem['reason'] | BatchContentFailure | 'bad-index' | 'index-mismatch' | 'missing-index' | 'bad-metadata' | 'not-a-data-dir';
  readonly detail: string;
}

export interface InspectedLog {
  readonly file: string;
  readonly sizeBytes: number;
  readonly batches: readonly InspectedBatch[];
  /** The first bad batch; the scan stops there, as recovery would. */
  readonly problem: StorageProblem | undefined;
  /**
   * Only when asked for (`contents: true`): each batch before `problem` whose records do not parse
   * ('bad-record') or whose header does not describe them ('bad-header': headerTimestampsMismatch).
   * The scan goes on past them, as recovery does (it reads no records).
   */
  readonly contentProblems?: readonly StorageProblem[];
}

/** What a batch whose length, magic and CRC hold can still have wrong. */
type BatchContentFailure = 'bad-header' | 'bad-record';

export interface IndexEntry {
  /** `.index`: relative offset → byte position. `.timeindex`: timestamp → relative offset. */
  readonly key: number;
  readonly value: number;
}

export interface InspectedIndex {
  readonly file: string;
  readonly kind: IndexKind;
  readonly entries: readonly IndexEntry[];
  readonly problem: StorageProblem | undefined;
}

/** Reads every batch of a `.log` file until its end or its first bad batch. */
export async function inspectLog(fs: FileSystem, file: string, options: { records?: boolean; contents?: boolean } = {}): Promise<InspectedLog> {
  const handle = await fs.open(file, 'r');
  try {
    const sizeBytes = await handle.size();
    const scanner = new BatchScanner(handle, {
      startPosition: 0, endPosition: sizeBytes, chunkBytes: 1 << 20, batchBytesMax: STORED_BATCH_BYTES_MAX,
    });
    const batches: InspectedBatch[] = [];
    const contentProblems: StorageProblem[] = [];
    for (let batch = await scanner.next(); batch; batch = await scanner.next()) {
      const { header } = batch;
      const contentProblem = options.contents ? batchContentProblem(batch.bytes) : undefined;
      if (contentProblem) contentProblems.push({ file, position: batch.position, ...contentProblem });
      const records = options.records ? decodeBatch(batch.bytes.slice(), 0, { crcVerified: true }).records : undefined;
      batches.push({
        position: batch.position,
        sizeBytes: batch.size,
        baseOffset: header.baseOffset,
        lastOffset: header.baseOffset + BigInt(header.lastOffsetDelta),
        recordCount: header.recordCount,
        baseTimestampMs: header.baseTimestamp,
        maxTimestampMs: header.maxTimestamp,
        producerId: header.producerId,
        producerEpoch: header.producerEpoch,
        baseSequence: header.baseSequence,
        ...(records ? { records } : {}),
      });
    }
    const problem = scanner.problem && { file, ...scanner.problem };
    return { file, sizeBytes, batches, problem, ...(options.contents ? { contentProblems } : {}) };
  } finally {
    await handle.close();
  }
}

/**
 * What the produce checks would refuse in a batch whose CRC holds (positions in the detail count
 * from the batch's start): a record that does not parse, or header timestamps that disagree with
 * the records (the broker refuses such a produce since 25 Nov; one stored before, or written by
 * hand, would mislead the time index and retention).
 */
function batchContentProblem(bytes: Uint8Array): { reason: BatchContentFailure; detail: string } | undefined {
  try {
    const { header, timestamps } = verifyBatchRecords(bytes, 0, { crcVerified: true, batchBytesMax: STORED_BATCH_BYTES_MAX });
    const mismatch = headerTimestampsMismatch(header, timestamps);
    return mismatch === undefined ? undefined : { reason: 'bad-header', detail: mismatch };
  } catch (error) {
    if (!isBrookError(error, 'CORRUPT_BATCH')) throw error;
    return { reason: error.details['reason'] === 'bad-header' ? 'bad-header' : 'bad-record', detail: error.description };
  }
}

/** Reads an `.index` or `.timeindex` file; a file that cannot be an index is a 'bad-index' problem. */
export async function inspectIndex(fs: FileSystem, file: string): Promise<InspectedIndex> {
  const kind: IndexKind = file.endsWith('.timeindex') ? 'time' : 'offset';
  const bytes = await fs.readFile(file);
  const index = SparseIndex.decode(kind, bytes);
  if (!index) {
    const entryBytes = INDEX_ENTRY_BYTES[kind];
    const detail = bytes.length % entryBytes !== 0
      ? `${bytes.length} bytes is not a multiple of the ${entryBytes}-byte entry`
      : 'keys do not strictly increase or values decrease';
    return { file, kind, entries: [], problem: { file, position: 0, reason: 'bad-index', detail } };
  }
  return { file, kind, entries: index.entries(), problem: undefined };
}
