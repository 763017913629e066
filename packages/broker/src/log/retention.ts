/**
 * Which segments retention deletes. Whole segments only, oldest first, never the active (last)
 * one, and only a prefix: a segment is deleted only if every older one is deleted too, so
 * `startOffset` moves forward and the log never has holes.
 *
 * - `maxBytes`: delete the oldest segment while the log is larger than maxBytes. The log ends at
 *   most maxBytes (or just its active segment). Kafka's retention.bytes instead keeps *at least*
 *   retention.bytes; Brook's reading is the one `discard: 'new'` needs ("the topic holds at most").
 * - `maxAgeMs`: delete the oldest segment while its newest record is older than now - maxAgeMs.
 */
export interface RetentionPolicy {
  readonly maxBytes?: number | undefined;
  readonly maxAgeMs?: number | undefined;
}

export interface SegmentSummary {
  readonly sizeBytes: number;
  readonly maxTimestampMs: number;
}

/** The number of oldest segments to delete. */
export function segmentsToDelete(segments: readonly SegmentSummary[], policy: RetentionPolicy, nowMs: number): number {
  let totalBytes = 0;
  for (const segment of segments) totalBytes += segment.sizeBytes;
  let count = 0;
  while (count < segments.length - 1) {
    const oldest = segments[count]!;
    const tooBig = policy.maxBytes !== undefined && totalBytes > policy.maxBytes;
    const tooOld = policy.maxAgeMs !== undefined && oldest.maxTimestampMs < nowMs - policy.maxAgeMs;
    if (!tooBig && !tooOld) break;
    totalBytes -= oldest.sizeBytes;
    count += 1;
  }
  return count;
}
