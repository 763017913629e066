/**
 * Reads from a partition's segments: find the segment by binary search on base offsets, find a
 * nearby position in its sparse index, then scan forward batch by batch. Every batch is checked
 * (length, magic, CRC-32C) right after it is read; a bad one inside the log is corruption and
 * fails the read with CORRUPT_SEGMENT naming the file and byte position. A bad batch is never
 * returned.
 */
import { decodeBatch, type BatchHeader } from '@brook/protocol';
import { corruptSegmentError } from './recovery.js';
import type { Segment } from './segment.js';

export interface ReadLimits {
  /** Stop before a batch that would take the total past this; the first batch is always returned. */
  readonly maxBytes: number;
}

export interface ReadBatch {
  readonly header: BatchHeader;
  /** The batch's bytes exactly as stored: a copy the caller owns. */
  readonly bytes: Uint8Array;
}

interface ReadState {
  readonly batches: ReadBatch[];
  totalBytes: number;
}

export class LogReader {
  constructor(
    private readonly segments: readonly Segment[],
    private readonly endOffset: () => bigint,
  ) {}

  async read(offset: bigint, limits: ReadLimits): Promise<ReadBatch[]> {
    const result: ReadState = { batches: [], totalBytes: 0 };
    let from = offset;
    while (from < this.endOffset()) {
      const segment = this.segmentFor(from);
      if (!segment) break;
      const full = await this.readSegment(segment, from, offset, limits.maxBytes, result);
      if (full) break;
      from = segment.nextOffset;
    }
    return result.batches;
  }

  /** The first offset whose record has timestamp >= `timestampMs`, or endOffset if none has. */
  async offsetForTimestamp(timestampMs: number): Promise<bigint> {
    for (const segment of [...this.segments]) {
      if (segment.maxTimestampMs < timestampMs) continue;
      const found = await this.withSegment(segment, async () => {
        const scanner = segment.scanner(segment.positionForTimestamp(timestampMs));
        for (let batch = await scanner.next(); batch; batch = await scanner.next()) {
          if (batch.header.baseOffset >= this.endOffset()) return undefined;
          if (batch.header.maxTimestamp < timestampMs) continue;
          const record = decodeBatch(batch.bytes).records.find((r) => r.timestamp >= timestampMs);
          if (record && record.offset < this.endOffset()) return record.offset;
        }
        if (scanner.problem) throw corruptSegmentError(segment.logPath, scanner.problem.position, scanner.problem.detail);
        return undefined;
      });
      if (found !== undefined) return found;
    }
    return this.endOffset();
  }

  /** Adds batches of one segment to `result`; returns true when the read is complete. */
  private readSegment(segment: Segment, from: bigint, offset: bigint, maxBytes: number, result: ReadState): Promise<boolean> {
    return this.withSegment(segment, async () => {
      const scanner = segment.scanner(segment.positionFor(from));
      for (let batch = await scanner.next(); batch; batch = await scanner.next()) {
        const { header } = batch;
        if (header.baseOffset >= this.endOffset()) return true;
        if (header.baseOffset + BigInt(header.lastOffsetDelta) < offset) continue;
        if (result.batches.length > 0 && result.totalBytes + batch.size > maxBytes) return true;
        result.batches.push({ header: { ...header }, bytes: batch.bytes.slice() });
        result.totalBytes += batch.size;
        // Full: stop without reading (and checking) a batch that would not be returned.
        if (result.totalBytes >= maxBytes) return true;
      }
      if (scanner.problem) throw corruptSegmentError(segment.logPath, scanner.problem.position, `${scanner.problem.reason}: ${scanner.problem.detail}`);
      return false;
    });
  }

  private async withSegment<T>(segment: Segment, body: () => Promise<T>): Promise<T> {
    segment.retain();
    try {
      return await body();
    } finally {
      await segment.release();
    }
  }

  /** The segment holding `offset`: the last one whose base offset is <= it. */
  private segmentFor(offset: bigint): Segment | undefined {
    let low = 0;
    let high = this.segments.length - 1;
    let found: Segment | undefined;
    while (low <= high) {
      const mid = (low + high) >>> 1;
      const segment = this.segments[mid]!;
      if (segment.baseOffset <= offset) {
        found = segment;
        low = mid + 1;
      } else {
        high = mid - 1;
      }
    }
    return found;
  }
}
