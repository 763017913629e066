/**
 * Which segments retention deletes. Whole segments only, oldest first, never the active (last)
 * one (its caller seals it first when it must go), and only a prefix: a segment is deleted only if every older one is deleted too, so
 * `startOffset` moves forward and the log never has holes.
 *
 * - `maxBytes`: delete the oldest segment while the log is larger than maxBytes. The log ends at
 *   most maxBytes (or just its active segment). Kafka's retention.bytes instead keeps *at least*
 *   retention.bytes; Brook's reading is the one `discard: 'new'` needs ("the topic holds at most").
 * - `maxAgeMs`: delete the oldest segment while its newest record is older than now - maxAgeMs.
 *   When every record of the partition is that old, the active segment goes too (wholeLogExpired):
 *   retention seals it and deletes it, as Kafka does, so a partition that stopped receiving records
 *   does not keep its last ones for good.
 */
export interface RetentionPolicy {
  readonly maxBytes?: number | undefined;
  readonly maxAgeMs?: number | undefined;
  /**
   * What happens at maxBytes. 'old' (default): the oldest segments are deleted. 'new': producers
   * are refused with TOPIC_FULL instead (backpressure), and a segment is deleted once every group
   * of the topic has acked all of it (or by maxAgeMs), which is when space frees.
   */
  readonly discard?: 'old' | 'new' | undefined;
}

export interface SegmentSummary {
  readonly sizeBytes: number;
  readonly maxTimestampMs: number;
  readonly nextOffset: bigint;
}

/**
 * The number of oldest segments to delete. `consumedBelow` is the lowest ackFloor of the topic's
 * groups on this partition (undefined: no group), used by discard 'new'.
 */
export function segmentsToDelete(
  segments: readonly SegmentSummary[], policy: RetentionPolicy, nowMs: number, consumedBelow?: bigint,
): number {
  let totalBytes = 0;
  for (const segment of segments) totalBytes += segment.sizeBytes;
  let count = 0;
  while (count < segments.length - 1) {
    const oldest = segments[count]!;
    const tooBig = policy.discard === 'new'
      ? consumedBelow !== undefined && oldest.nextOffset <= consumedBelow
      : policy.maxBytes !== undefined && totalBytes > policy.maxBytes;
    const tooOld = policy.maxAgeMs !== undefined && oldest.maxTimestampMs < nowMs - policy.maxAgeMs;
    if (!tooBig && !tooOld) break;
    totalBytes -= oldest.sizeBytes;
    count += 1;
  }
  return count;
}

/**
 * True when the partition holds records and every one of them is older than now - maxAgeMs: the
 * active segment may then be sealed and deleted with the rest. (An empty segment's newest record
 * is -Infinity, so a log of empty segments is not "expired": that would seal one every run.)
 */
export function wholeLogExpired(segments: readonly (SegmentSummary & { readonly isEmpty: boolean })[], policy: RetentionPolicy, nowMs: number): boolean {
  const { maxAgeMs } = policy;
  if (maxAgeMs === undefined || segments.every((segment) => segment.isEmpty)) return false;
  return segments.every((segment) => segment.maxTimestampMs < nowMs - maxAgeMs);
}
