/**
 * What one segment holds, rebuilt frame by frame: the checks that make a segment trustworthy
 * (header first and matching the file name, record and batch sequences contiguous, a SEAL
 * closing exactly the records before it). Pure: recovery.ts feeds it frames and decides what a
 * failure means (a torn tail to cut, or corruption to stop on).
 */
import { isBrookError } from '@brook/protocol';
import { FrameKind, parseCommit, parseHeader, parseSeal, type Frame, type SegmentHeader } from './frame-codec.js';
import { decodeRecord, type BufferedRecord } from './record-codec.js';

export interface ScannedBatch {
  readonly sequence: number;
  readonly records: readonly BufferedRecord[];
  readonly segmentSeq: number;
}

export interface Continuation {
  readonly nextBatchSeq: number;
  readonly nextRecordSeq: number;
}

export class SegmentScan {
  header: SegmentHeader | undefined;
  readonly batches: ScannedBatch[] = [];
  open: BufferedRecord[] = [];
  /** Highest batch sequence a COMMIT frame in this segment names; -1 if none. */
  committedThrough = -1;
  nextBatchSeq = 0;
  nextRecordSeq = 0;

  /**
   * @param expected where the previous segment left off, or undefined for the first segment
   *   (whose header may start anywhere: older segments were deleted once committed).
   */
  constructor(
    private readonly segmentSeq: number,
    private readonly expected: Continuation | undefined,
  ) {}

  /** Applies one frame; returns why it does not fit, or undefined if it does. */
  accept(frame: Frame): string | undefined {
    if (this.header === undefined) return this.acceptHeader(frame);
    switch (frame.kind) {
      case FrameKind.RECORD: return this.acceptRecord(frame);
      case FrameKind.SEAL: return this.acceptSeal(frame);
      case FrameKind.COMMIT: return this.acceptCommit(frame);
      default: return `unexpected frame kind ${frame.kind} after the header`;
    }
  }

  private acceptHeader(frame: Frame): string | undefined {
    const header = frame.kind === FrameKind.HEADER ? parseHeader(frame.body) : undefined;
    if (header === undefined) return 'the first frame is not a valid segment header';
    if (header.segmentSeq !== this.segmentSeq) return `header names segment ${header.segmentSeq}`;
    const expected = this.expected;
    if (expected && (header.firstBatchSeq !== expected.nextBatchSeq || header.firstRecordSeq !== expected.nextRecordSeq)) {
      return `header continues from batch ${header.firstBatchSeq} / record ${header.firstRecordSeq}, previous segment ended at ${expected.nextBatchSeq} / ${expected.nextRecordSeq}`;
    }
    this.header = header;
    this.nextBatchSeq = header.firstBatchSeq;
    this.nextRecordSeq = header.firstRecordSeq;
    return undefined;
  }

  private acceptRecord(frame: Frame): string | undefined {
    let record: BufferedRecord;
    try {
      record = decodeRecord(frame.body, frame.size);
    } catch (error) {
      if (isBrookError(error, 'CORRUPT_BATCH')) return `record frame: ${error.message}`;
      throw error;
    }
    if (record.sequence !== this.nextRecordSeq) return `record sequence ${record.sequence}, expected ${this.nextRecordSeq}`;
    this.open.push(record);
    this.nextRecordSeq += 1;
    return undefined;
  }

  private acceptSeal(frame: Frame): string | undefined {
    const seal = parseSeal(frame.body);
    if (seal === undefined) return 'malformed seal frame';
    if (seal.batchSeq !== this.nextBatchSeq) return `seal of batch ${seal.batchSeq}, expected ${this.nextBatchSeq}`;
    if (seal.recordCount !== this.open.length || seal.recordCount === 0) {
      return `seal of ${seal.recordCount} records, ${this.open.length} are open`;
    }
    this.batches.push({ sequence: seal.batchSeq, records: this.open, segmentSeq: this.segmentSeq });
    this.open = [];
    this.nextBatchSeq += 1;
    return undefined;
  }

  private acceptCommit(frame: Frame): string | undefined {
    const batchSeq = parseCommit(frame.body);
    if (batchSeq === undefined) return 'malformed commit frame';
    if (!(batchSeq < this.nextBatchSeq)) return `commit of batch ${batchSeq}, not yet sealed`;
    this.committedThrough = Math.max(this.committedThrough, batchSeq);
    return undefined;
  }
}
