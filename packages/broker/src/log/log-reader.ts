/**
 * Reads from a partition's segments: find the segment by binary search on base offsets, find a
 * nearby position in its sparse index, then scan forward batch by batch. Every batch is checked
 * (length, magic, CRC-32C) right after it is read; a bad one inside the log is corruption and
 * fails the read with CORRUPT_SEGMENT naming the file and byte position. So is a batch whose
 * base offset does not continue the one before (the CRC does not cover it). A bad batch is never
 * returned. A sealed segment whose index names a batch that is not there (another batch, or
 * bytes inside one) has its indexes rebuilt from the log, and the read tries once more.
 */
import { assert, decodeBatch, slabCopy, type BatchHeader } from '@brook/protocol';
import type { ScannedBatch } from './batch-scanner.js';
import { corruptSegmentError } from './recovery.js';
import type { ScanStart, Segment } from './segment.js';
import { lastIndexWhere } from './bisect.js';

export interface ReadLimits {
  /** Stop before a batch that would take the total past this; the first batch is always returned. */
  readonly maxBytes: number;
  /** Stop once the batches hold this many records at or after the read offset: a caller that
   * wants 10 records should not pay for reading and checking maxBytes of log. */
  readonly maxRecords?: number;
  /**
   * Batches from the tail cache may be the cache's own bytes and header rather than copies: for
   * a reader inside the broker that only reads them and never lets code outside the broker write
   * them (the delivery engine, whose Delivery hands out copies of key and value). A copy per read
   * was most of what reading a record from the tail cost.
   */
  readonly shared?: boolean;
}

export interface ReadBatch {
  readonly header: BatchHeader;
  /** The batch's bytes exactly as stored: a copy the caller owns (up to 32 KiB a view into a shared
   * slab, byte-slab.ts: read it through the view, never its `buffer`), or for a `shared` read
   * possibly the tail cache's own bytes, never to be written. They passed checkBatch (length,
   * magic, CRC-32C) as they were read, or come from the tail cache (see tail-cache.ts), so
   * `decodeBatch(bytes, 0, { crcVerified: true })` is safe. */
  readonly bytes: Uint8Array;
}

export interface ReadState {
  readonly batches: ReadBatch[];
  totalBytes: number;
  /** At least this many records at offsets >= the read offset are in `batches`. */
  records: number;
}

export class LogReader {
  constructor(
    private readonly segments: readonly Segment[],
    private readonly endOffset: () => bigint,
  ) {}

  async read(offset: bigint, limits: ReadLimits): Promise<ReadBatch[]> {
    // endOffset as of the call, for the whole read. Re-read after an await, it can cover an
    // append round that finished meanwhile: one that filled this segment after its scanner had
    // fixed its end, then rolled; the loop would move on to the new segment and skip the batch.
    const endOffset = this.endOffset();
    const result: ReadState = { batches: [], totalBytes: 0, records: 0 };
    let from = offset;
    while (from < endOffset) {
      const segment = this.segmentFor(from);
      if (!segment) break;
      const full = await this.readSegment(segment, from, offset, endOffset, limits, result);
      if (full) break;
      assert(segment.nextOffset > from, 'a read of a segment ended where it started', { logPath: segment.logPath, from, nextOffset: segment.nextOffset });
      from = segment.nextOffset;
    }
    return result.batches;
  }

  /** The first offset at or after `fromOffset` whose record has timestamp >= `timestampMs`, or endOffset if none has. */
  async offsetForTimestamp(timestampMs: number, fromOffset: bigint): Promise<bigint> {
    // As of the call, as in read(): re-read at the end, endOffset can cover a round that finished
    // during the scan and made visible a match the scan had passed over as not yet visible.
    const endOffset = this.endOffset();
    for (const segment of [...this.segments]) {
      if (segment.maxTimestampMs < timestampMs) continue;
      let found: bigint | undefined;
      await this.scan(segment, () => segment.positionForTimestamp(timestampMs), (batch) => {
        // endOffset is a batch boundary: a batch below it is visible whole.
        if (batch.header.baseOffset >= endOffset) return true;
        if (batch.header.maxTimestamp < timestampMs) return false;
        // The scanner has just checked this batch, CRC included.
        found = decodeBatch(batch.bytes, 0, { crcVerified: true }).records.find((r) => r.timestamp >= timestampMs && r.offset >= fromOffset)?.offset;
        return found !== undefined;
      });
      if (found !== undefined) return found;
    }
    return endOffset;
  }

  /** Adds batches of one segment to `result`; returns true when the read is complete. */
  private readSegment(segment: Segment, from: bigint, offset: bigint, endOffset: bigint, limits: ReadLimits, result: ReadState): Promise<boolean> {
    // Past endOffset, or full: stop without reading (and checking) a batch that would not be returned.
    return this.scan(segment, () => segment.positionFor(from), (batch) => batch.header.baseOffset >= endOffset || addToRead(result, batch.header, batch.bytes, offset, limits));
  }

  /**
   * Scans `segment` from where `locate` says, handing each good batch to `visit` until it says
   * done; returns whether it did. A bad batch is CORRUPT_SEGMENT, except that a sealed segment
   * whose index led to a batch other than the one it names, or to no batch at all, gets its
   * indexes rebuilt once (the rebuild checks every batch, so a bad log still fails). The active segment's index is not
   * rebuilt under its appends: that read fails CORRUPT_SEGMENT too.
   */
  private async scan(segment: Segment, locate: () => Promise<ScanStart>, visit: (batch: ScannedBatch) => boolean): Promise<boolean> {
    segment.retain();
    try {
      for (let rebuilt = false; ; rebuilt = true) {
        const start = await locate();
        const scanner = segment.scanner(start);
        for (let batch = await scanner.next(); batch; batch = await scanner.next()) if (visit(batch)) return true;
        const problem = scanner.problem;
        if (!problem) return false;
        // A problem right where the index pointed may be the index's: a wrong baseOffset, or a
        // position inside a batch (its bytes then read as a bad length, magic or CRC).
        const misled = problem.position === start.position;
        if (misled && !rebuilt && segment !== this.segments.at(-1)) {
          await segment.distrustIndexes();
          continue;
        }
        throw corruptSegmentError(segment.logPath, problem.position, `${problem.reason}: ${problem.detail}${misled ? ' (where the offset index points)' : ''}`);
      }
    } finally {
      await segment.release();
    }
  }

  /** The segment holding `offset`: the last one whose base offset is <= it. */
  private segmentFor(offset: bigint): Segment | undefined {
    return this.segments[lastIndexWhere(this.segments.length, (i) => this.segments[i]!.baseOffset <= offset)];
  }
}

/**
 * Adds a copy of a batch to a read from `offset` (for a `shared` read of a batch the tail cache
 * holds, `cached`, the batch itself), unless it ends before `offset` or would take the read past
 * maxBytes (the first batch always goes in); returns true when the read is complete.
 * The file reader and the tail cache both go through it, so they stop at the same batch.
 */
export function addToRead(result: ReadState, header: BatchHeader, bytes: Uint8Array, offset: bigint, limits: ReadLimits, cached = false): boolean {
  if (header.baseOffset + BigInt(header.lastOffsetDelta) < offset) return false;
  if (result.batches.length > 0 && result.totalBytes + bytes.length > limits.maxBytes) return true;
  result.batches.push(cached && limits.shared === true ? { header, bytes } : { header: { ...header }, bytes: slabCopy(bytes) });
  result.totalBytes += bytes.length;
  result.records += recordsFrom(header, offset);
  return result.totalBytes >= limits.maxBytes || result.records >= (limits.maxRecords ?? Number.POSITIVE_INFINITY);
}

/**
 * Records of a batch at offsets >= `offset`, or fewer: exact for batches without offset gaps (all
 * that Brook writes), a lower bound otherwise (the records below `offset` are at most
 * `offset - baseOffset`), so a read stopped by it never returns fewer records than asked for.
 */
function recordsFrom(header: BatchHeader, offset: bigint): number {
  const skipped = offset > header.baseOffset ? Number(offset - header.baseOffset) : 0;
  return Math.max(0, header.recordCount - skipped);
}
