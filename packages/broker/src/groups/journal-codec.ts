/**
 * The group journal's record format: what one flush changed on one partition of a group. The
 * journal log (group-journal.ts) CRC-frames each record in a RecordBatch; this is its value.
 *
 *   JournalRecord =>
 *     format       int8     1 (JSON records, written before 22 Nov 2026, start with '{' = 0x7B)
 *     partition    int32
 *     hasReset     int8     0 or 1
 *     firstCount   int32    ranges in `first`
 *     countsCount  int32    entries in `counts`
 *     ackedCount   int32    ranges in `acked`
 *     reset        int64    if hasReset: ackFloor := reset, acks and attempts forgotten (applied first)
 *     first        [start int64, end int64] × firstCount     offsets [start, end) delivered once
 *     counts       [offset int64, count int32] × countsCount  attempt counts above one, or given back
 *     acked        [start int64, end int64] × ackedCount     acked offsets [start, end)
 *
 * Big-endian, fixed widths: writing one is a size sum and DataView stores, with no text, no
 * bigint-to-string and no TextEncoder. The JSON form it replaced cost 16 µs a flush (four
 * records) and 7 % of the in-process end-to-end rate (docs/benchmarks-history.md). The JSON form is
 * still read, so a journal written before the change replays:
 *
 *   { "p": 0, "r": "120", "f": [["120","150"]], "n": [["121", 3]], "a": [["120","122"]] }
 *
 * Every entry is idempotent (counts are absolute, acks are sets), so replaying one twice is harmless.
 */
import { BrookError, assert } from '@brook/protocol';

/** One partition's changes in one flush, offsets as bigints (as gathered and as replayed). */
export interface PartitionChanges {
  p: number;
  r?: bigint;
  f?: [bigint, bigint][];
  n?: [bigint, number][];
  a?: [bigint, bigint][];
}

const FORMAT_BINARY = 1;
const FORMAT_JSON_FIRST_BYTE = 0x7b; // '{'
const HEADER_BYTES = 1 + 4 + 1 + 4 + 4 + 4;
const RANGE_BYTES = 16;
const COUNT_BYTES = 12;

/** Bytes `changes` takes as a journal record. */
function sizeOfChanges(changes: PartitionChanges): number {
  const ranges = (changes.f?.length ?? 0) + (changes.a?.length ?? 0);
  return HEADER_BYTES + (changes.r !== undefined ? 8 : 0) + ranges * RANGE_BYTES + (changes.n?.length ?? 0) * COUNT_BYTES;
}

/**
 * One flush's records, each a view into one buffer: a small array of its own per record, with a
 * DataView over it, cost more than writing it (V8 moves an on-heap array's bytes out of the heap
 * when its `buffer` is first read).
 */
export function encodeChangesList(list: readonly PartitionChanges[]): Uint8Array[] {
  let total = 0;
  for (const changes of list) total += sizeOfChanges(changes);
  const buffer = new ArrayBuffer(total);
  const view = new DataView(buffer);
  const encoded: Uint8Array[] = [];
  let at = 0;
  for (const changes of list) {
    const size = sizeOfChanges(changes);
    writeChanges(view, at, changes);
    encoded.push(new Uint8Array(buffer, at, size));
    at += size;
  }
  return encoded;
}

function writeChanges(view: DataView, start: number, changes: PartitionChanges): void {
  const first = changes.f ?? [];
  const counts = changes.n ?? [];
  const acked = changes.a ?? [];
  const hasReset = changes.r !== undefined;
  assert(Number.isInteger(changes.p) && changes.p >= 0 && changes.p <= 0x7fffffff, 'journal partition outside int32', { partition: changes.p });
  view.setInt8(start, FORMAT_BINARY);
  view.setInt32(start + 1, changes.p);
  view.setInt8(start + 5, hasReset ? 1 : 0);
  view.setInt32(start + 6, first.length);
  view.setInt32(start + 10, counts.length);
  view.setInt32(start + 14, acked.length);
  let at = start + HEADER_BYTES;
  if (hasReset) {
    view.setBigInt64(at, changes.r!);
    at += 8;
  }
  at = writeRanges(view, at, first);
  for (const [offset, count] of counts) {
    assert(Number.isInteger(count) && count >= 0 && count <= 0x7fffffff, 'journal attempt count outside int32', { count });
    view.setBigInt64(at, offset);
    view.setInt32(at + 8, count);
    at += COUNT_BYTES;
  }
  writeRanges(view, at, acked);
}

/** A journal record in either form. CORRUPT_METADATA if it is neither (the CRC passed: a bug, or a foreign file). */
export function decodeChanges(bytes: Uint8Array, file: string): PartitionChanges {
  if (bytes[0] === FORMAT_JSON_FIRST_BYTE) return decodeJson(bytes, file);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < HEADER_BYTES || view.getInt8(0) !== FORMAT_BINARY) throw corrupt(file, 'unknown format');
  // Unsigned: a byte of 0xFF must be refused, not read as -1 and taken for "no reset".
  const hasReset = view.getUint8(5);
  const firstCount = view.getInt32(6);
  const countsCount = view.getInt32(10);
  const ackedCount = view.getInt32(14);
  const expected = HEADER_BYTES + (hasReset === 1 ? 8 : 0) + (firstCount + ackedCount) * RANGE_BYTES + countsCount * COUNT_BYTES;
  if (hasReset > 1 || firstCount < 0 || countsCount < 0 || ackedCount < 0 || expected !== bytes.length) {
    throw corrupt(file, `lengths do not add up to its ${bytes.length} bytes`);
  }
  const changes: PartitionChanges = { p: view.getInt32(1) };
  let at = HEADER_BYTES;
  if (hasReset === 1) {
    changes.r = view.getBigInt64(at);
    at += 8;
  }
  if (firstCount > 0) changes.f = readRanges(view, at, firstCount);
  at += firstCount * RANGE_BYTES;
  if (countsCount > 0) {
    changes.n = [];
    for (let i = 0; i < countsCount; i++, at += COUNT_BYTES) changes.n.push([view.getBigInt64(at), view.getInt32(at + 8)]);
  }
  if (ackedCount > 0) changes.a = readRanges(view, at, ackedCount);
  return changes;
}

function writeRanges(view: DataView, at: number, ranges: readonly (readonly [bigint, bigint])[]): number {
  for (const [start, end] of ranges) {
    view.setBigInt64(at, start);
    view.setBigInt64(at + 8, end);
    at += RANGE_BYTES;
  }
  return at;
}

function readRanges(view: DataView, at: number, count: number): [bigint, bigint][] {
  const ranges: [bigint, bigint][] = [];
  for (let i = 0; i < count; i++, at += RANGE_BYTES) ranges.push([view.getBigInt64(at), view.getBigInt64(at + 8)]);
  return ranges;
}

interface JsonChanges {
  p: number;
  r?: string;
  f?: [string, string][];
  n?: [string, number][];
  a?: [string, string][];
}

function decodeJson(bytes: Uint8Array, file: string): PartitionChanges {
  let json: JsonChanges;
  try {
    json = JSON.parse(new TextDecoder().decode(bytes)) as JsonChanges;
  } catch (error) {
    throw corrupt(file, `not JSON: ${String(error)}`);
  }
  const ranges = (list: [string, string][]) => list.map(([start, end]): [bigint, bigint] => [BigInt(start), BigInt(end)]);
  const changes: PartitionChanges = { p: json.p };
  if (json.r !== undefined) changes.r = BigInt(json.r);
  if (json.f) changes.f = ranges(json.f);
  if (json.n) changes.n = json.n.map(([offset, count]): [bigint, number] => [BigInt(offset), count]);
  if (json.a) changes.a = ranges(json.a);
  return changes;
}

function corrupt(file: string, detail: string): BrookError {
  return new BrookError('CORRUPT_METADATA', `${file}: a group journal record is invalid: ${detail}`, { file });
}
