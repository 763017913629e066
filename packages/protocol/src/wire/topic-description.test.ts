import { describe, expect, it } from 'vitest';
import { stableJson } from './stable-json.js';
import { topicDescriptionFromWire, type TopicDescription, type WireTopicDescription } from './topic-description.js';

describe('topic description on the wire', () => {
  it("reads back what the server sends, offsets past 2^53 exact, a failed log's failure and a healthy one's null, and the same for retention and producer snapshots", () => {
    const description: TopicDescription = {
      name: 'orders',
      settings: { retention: { maxBytes: 1 << 20, discard: 'new' }, segmentBytesMax: 262_144, segmentMsMax: 604_800_000 },
      partitions: [
        { partition: 0, startOffset: 9_007_199_254_740_993n, endOffset: 9_007_199_254_740_995n, sizeBytes: 4096, segments: 2, failure: null, retentionFailure: { code: 'IO_ERROR', message: 'open /d/orders/0/log-start.json.tmp failed: ENOSPC' }, producerSnapshotFailure: null },
        { partition: 1, startOffset: 0n, endOffset: 1n, sizeBytes: 80, segments: 1, failure: { code: 'IO_ERROR', message: 'log /d/orders/1 failed and must be reopened: EIO' }, retentionFailure: null,
          producerSnapshotFailure: { code: 'IO_ERROR', message: 'rename /d/orders/1/producer-state.snapshot.tmp failed: ENOSPC' } },
      ],
    };
    const wire = JSON.parse(stableJson(description)) as WireTopicDescription;
    expect(wire.partitions[0]!.startOffset).toBe('9007199254740993');
    expect(wire.partitions[0]!.failure, 'a healthy log: null, not absent').toBeNull();
    expect(wire.partitions[1]!.retentionFailure, 'retention that works: null, not absent').toBeNull();
    expect(wire.partitions[0]!.producerSnapshotFailure, 'snapshots that work: null, not absent').toBeNull();
    expect(topicDescriptionFromWire(wire)).toEqual(description);
  });
});
