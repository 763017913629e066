/** The model of PartitionLog's property test, and the checks of the real log against it. Test-only. */
import { expect } from 'vitest';
import { checkBatch, encodeBatch, type MemoryFileSystem, type VirtualClock } from '@brook/protocol';
import type { FsyncPolicy } from '../config/defaults.js';
import { LOG_DIR } from './log-fixture.js';
import type { ReadBatch } from './log-reader.js';
import type { PartitionLog, PartitionLogOptions } from './partition-log.js';
import type { RetentionPolicy } from './retention.js';
import { parseSegmentLogName } from './segment-files.js';

// ---------------------------------------------------------------------------------------------
// Model

interface RecordSpec {
  /** -1: a null value. */
  readonly valueBytes: number;
  readonly tsDelta: number;
}

export interface BatchSpec {
  readonly records: readonly RecordSpec[];
  /** Relative to the clock: often in the past, sometimes the future. */
  readonly baseTsDelta: number;
  readonly fill: number;
}

export interface ModelBatch {
  readonly base: number;
  readonly count: number;
  /** As encoded, baseOffset 0: the log must return these bytes with only baseOffset patched. */
  readonly bytes: Uint8Array;
  readonly timestamps: readonly number[];
  readonly maxTimestamp: number;
}

export class LogModel {
  /** Contiguous from offset 0, including batches below `start` (deleted by retention). */
  batches: ModelBatch[] = [];
  start = 0;
  durableEnd = 0;
  durableStart = 0;
  /**
   * When the { intervalMs } timer of the current log fires; undefined while it is not armed. A
   * write arms it (if it is not armed already), firing fsyncs all written so far and disarms it.
   */
  nextTimerAtMs: number | undefined;
  /** Makes every record key unique, so a batch at the wrong offset can never match. */
  appends = 0;

  constructor(readonly fsync: FsyncPolicy) {}

  /** Batches were written at `nowMs`: under { intervalMs } they arm the timer. */
  wrote(nowMs: number): void {
    if (typeof this.fsync === 'object') this.nextTimerAtMs ??= nowMs + this.fsync.intervalMs;
  }

  get end(): number {
    const last = this.batches.at(-1);
    return last ? last.base + last.count : 0;
  }

  /** The batch starting at `base`, in this model or in `extra` (batches in flight after it). */
  batchAt(base: number, extra: readonly ModelBatch[] = []): ModelBatch | undefined {
    return findBatch(this.batches, base) ?? findBatch(extra, base);
  }

  batchContaining(offset: number): ModelBatch {
    let low = 0;
    let high = this.batches.length - 1;
    while (low <= high) {
      const mid = (low + high) >>> 1;
      const batch = this.batches[mid]!;
      if (offset < batch.base) high = mid - 1;
      else if (offset >= batch.base + batch.count) low = mid + 1;
      else return batch;
    }
    throw new Error(`model has no batch holding offset ${offset}`);
  }

  /** Encodes a batch from its spec, stamped relative to `nowMs`, to be appended at `base`. */
  materialize(spec: BatchSpec, base: number, nowMs: number): ModelBatch {
    const label = `a${this.appends++}`;
    const records = spec.records.map((record, i) => ({
      key: utf8(`${label}.${i}`),
      value: record.valueBytes < 0 ? null : pattern(record.valueBytes, spec.fill + i),
      timestamp: nowMs + spec.baseTsDelta + record.tsDelta,
    }));
    const timestamps = records.map((r) => r.timestamp);
    return { base, count: records.length, bytes: encodeBatch(records), timestamps, maxTimestamp: Math.max(...timestamps) };
  }

  /** Records of [start, end) in offset order. */
  *records(): Generator<{ offset: number; timestamp: number }> {
    for (const batch of this.batches) {
      if (batch.base + batch.count <= this.start) continue;
      for (let i = 0; i < batch.count; i++) {
        if (batch.base + i >= this.start) yield { offset: batch.base + i, timestamp: batch.timestamps[i]! };
      }
    }
  }

  /** The first offset >= start whose timestamp is >= `target`, or end. */
  offsetForTimestamp(target: number): number {
    for (const record of this.records()) if (record.timestamp >= target) return record.offset;
    return this.end;
  }

  timestampAt(offset: number): number {
    const batch = this.batchContaining(offset);
    return batch.timestamps[offset - batch.base]!;
  }
}

function findBatch(batches: readonly ModelBatch[], base: number): ModelBatch | undefined {
  let low = 0;
  let high = batches.length - 1;
  while (low <= high) {
    const mid = (low + high) >>> 1;
    const batch = batches[mid]!;
    if (batch.base === base) return batch;
    if (batch.base < base) low = mid + 1;
    else high = mid - 1;
  }
  return undefined;
}

function utf8(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

function pattern(length: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = (seed * 131 + i * 7) & 0xff;
  return bytes;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

// ---------------------------------------------------------------------------------------------
// The system under test

export interface Real {
  fs: MemoryFileSystem;
  clock: VirtualClock;
  options: PartitionLogOptions;
  open(overrides?: Partial<PartitionLogOptions>): Promise<PartitionLog>;
  log: PartitionLog;
}

/** What the model knows about one segment file of the log. */
interface SegmentModel {
  readonly base: number;
  readonly sizeBytes: number;
  readonly maxTimestampMs: number;
}

/** The segments as the directory names them, sized and dated from the model. */
export async function segmentsOf(real: Real, model: LogModel): Promise<SegmentModel[]> {
  const bases = (await real.fs.readdir(LOG_DIR))
    .map(parseSegmentLogName)
    .filter((base): base is bigint => base !== undefined)
    .map(Number);
  expect(bases[0], 'the first segment starts at startOffset').toBe(model.start);
  expect(real.log.segmentCount, 'one segment per .log file').toBe(bases.length);
  return bases.map((base, i) => {
    const next = bases[i + 1] ?? model.end;
    let sizeBytes = 0;
    let maxTimestampMs = Number.NEGATIVE_INFINITY;
    for (let offset = base; offset < next;) {
      const batch = model.batchAt(offset);
      expect(batch, `segment ${base} starts at a batch boundary`).toBeDefined();
      sizeBytes += batch!.bytes.length;
      maxTimestampMs = Math.max(maxTimestampMs, batch!.maxTimestamp);
      offset += batch!.count;
    }
    return { base, sizeBytes, maxTimestampMs };
  });
}

/** The spec of retention, restated: whole segments, oldest first, never the last one. */
export function expectedDeletions(segments: readonly SegmentModel[], policy: RetentionPolicy, nowMs: number): number {
  let totalBytes = segments.reduce((sum, segment) => sum + segment.sizeBytes, 0);
  let deleted = 0;
  while (deleted < segments.length - 1) {
    const oldest = segments[deleted]!;
    const overSize = policy.maxBytes !== undefined && totalBytes > policy.maxBytes;
    const overAge = policy.maxAgeMs !== undefined && oldest.maxTimestampMs < nowMs - policy.maxAgeMs;
    if (!overSize && !overAge) break;
    totalBytes -= oldest.sizeBytes;
    deleted += 1;
  }
  return deleted;
}

/** A returned batch is valid, and is byte for byte the batch appended at `base`. */
function expectBatch(model: LogModel, got: ReadBatch, base: number): ModelBatch {
  const check = checkBatch(got.bytes);
  expect(check.ok, `batch at ${base} passes checkBatch`).toBe(true);
  const expected = model.batchAt(base);
  expect(expected, `a batch was appended at offset ${base}`).toBeDefined();
  expect(got.header.baseOffset, 'contiguous offsets').toBe(BigInt(base));
  expect(new DataView(got.bytes.buffer, got.bytes.byteOffset).getBigInt64(0), 'baseOffset in the bytes').toBe(BigInt(base));
  expect(sameBytes(got.bytes.subarray(8), expected!.bytes.subarray(8)), `batch at ${base} is byte-identical to what was appended`).toBe(true);
  return expected!;
}

/**
 * Checks a read from `offset`: it starts with the batch holding `offset`, is contiguous, stays
 * below endOffset, and is byte-identical to the model. `visibleEnd` is endOffset when the read was
 * issued. With `maxBytes` (a read no append raced), it is also exactly as long as maxBytes allows;
 * without, appends racing the read may have become visible, so it may go past `visibleEnd`.
 */
export function expectRead(model: LogModel, got: ReadBatch[], offset: number, visibleEnd: number, maxBytes?: number): void {
  if (got.length === 0) {
    expect(offset, `a read at ${offset} below endOffset ${visibleEnd} returns a batch`).toBe(visibleEnd);
    return;
  }
  expect(offset, 'a read at endOffset returns nothing').toBeLessThan(maxBytes === undefined ? model.end : visibleEnd);
  let next = model.batchContaining(offset).base;
  let totalBytes = 0;
  for (const batch of got) {
    const expected = expectBatch(model, batch, next);
    next += expected.count;
    totalBytes += batch.bytes.length;
  }
  expect(next, 'no record at or past endOffset').toBeLessThanOrEqual(maxBytes === undefined ? model.end : visibleEnd);
  if (maxBytes === undefined) return;
  if (got.length > 1) expect(totalBytes, 'maxBytes honoured').toBeLessThanOrEqual(maxBytes);
  if (next < visibleEnd) expect(totalBytes + model.batchAt(next)!.bytes.length, 'read stopped early').toBeGreaterThan(maxBytes);
}

/** Reads the whole log and compares it with the model. */
export async function expectLogMatches(real: Real, model: LogModel): Promise<void> {
  const { log } = real;
  expect(log.startOffset, 'startOffset').toBe(BigInt(model.start));
  expect(log.endOffset, 'endOffset').toBe(BigInt(model.end));
  let offset = model.start;
  let sizeBytes = 0;
  while (offset < model.end) {
    const got = await log.read(BigInt(offset), { maxBytes: 16 * 1024 });
    expect(got.length, `read at ${offset} returns a batch`).toBeGreaterThan(0);
    for (const batch of got) {
      offset += expectBatch(model, batch, offset).count;
      sizeBytes += batch.bytes.length;
    }
  }
  expect(offset, 'the last batch ends at endOffset').toBe(model.end);
  expect(log.sizeBytes, 'sizeBytes counts exactly the batches').toBe(sizeBytes);
}
