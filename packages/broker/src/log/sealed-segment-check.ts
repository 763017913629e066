/**
 * What opening a sealed segment reads instead of scanning it (Segment.openSealed): the batch
 * headers from the last indexed batch to the end of the file, the last time entry checked against
 * them, and the first batch's header.
 */
import { BATCH_HEADER_BYTES, readBatchHeader, type FileHandle } from '@brook/protocol';
import { INDEX_ENTRY_BYTES } from './sparse-index.js';

/** What walking a sealed segment's last batch headers found. */
interface WalkedHeaders {
  readonly nextOffset: bigint;
  readonly maxTimestampMs: number;
}

/**
 * Follows batch headers (length, magic, contiguous offsets; no CRC) from `position`, which
 * must hold the batch at `relativeOffset`, to the end of the file. Returns the offset after
 * the last batch and the largest timestamp of the batches walked, or undefined if the chain
 * does not end exactly at the end of the file.
 */
export async function walkHeaders(file: FileHandle, baseOffset: bigint, relativeOffset: number, position: number, fileBytes: number): Promise<WalkedHeaders | undefined> {
  const header = new Uint8Array(BATCH_HEADER_BYTES);
  let expected = baseOffset + BigInt(relativeOffset);
  let maxTimestampMs = Number.NEGATIVE_INFINITY;
  let at = position;
  while (at < fileBytes) {
    if ((await file.readInto(header, 0, BATCH_HEADER_BYTES, at)) < BATCH_HEADER_BYTES) return undefined;
    const batch = readBatchHeader(header);
    if (batch.magic !== 2 || batch.baseOffset !== expected || batch.batchLength < BATCH_HEADER_BYTES - 12) return undefined;
    at += 12 + batch.batchLength;
    expected = batch.baseOffset + BigInt(batch.lastOffsetDelta) + 1n;
    maxTimestampMs = Math.max(maxTimestampMs, batch.maxTimestamp);
  }
  return at === fileBytes && at > position ? { nextOffset: expected, maxTimestampMs } : undefined;
}

/**
 * Whether a sealed segment's last time entry can be what a seal wrote there: the segment's
 * largest timestamp, at an offset inside the segment. Retention by maxAgeMs deletes on that
 * timestamp, so a damaged entry (a zeroed file) must mean a rebuild, never records deleted
 * early. Only what open reads anyway is checked, plus the first batch's header: the batches
 * in between are not read, so that opening costs the same whatever the segment's size.
 */
export async function isLastTimeEntry(file: FileHandle, baseOffset: bigint, entry: DataView, walked: WalkedHeaders, fileBytes: number): Promise<boolean> {
  const timestampMs = Number(entry.getBigInt64(0));
  const relativeOffset = entry.getUint32(INDEX_ENTRY_BYTES.time - 4);
  const firstTimestampMs = await firstBatchTimestamp(file, fileBytes);
  return relativeOffset > 0 && BigInt(relativeOffset) <= walked.nextOffset - baseOffset
    && timestampMs >= walked.maxTimestampMs && (firstTimestampMs === undefined || timestampMs >= firstTimestampMs);
}

/**
 * The first batch's baseTimestamp (for segmentMsMax), read from its header alone: opening a
 * sealed segment must cost the same whatever its size, so no chunk is read and no CRC checked.
 */
export async function firstBatchTimestamp(file: FileHandle, fileBytes: number): Promise<number | undefined> {
  if (fileBytes < BATCH_HEADER_BYTES) return undefined;
  const header = new Uint8Array(BATCH_HEADER_BYTES);
  const read = await file.readInto(header, 0, BATCH_HEADER_BYTES, 0);
  return read === BATCH_HEADER_BYTES ? readBatchHeader(header).baseTimestamp : undefined;
}
