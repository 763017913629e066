import { describe, expect, it } from 'vitest';
import { groupDescriptionFromWire, type GroupDescription, type WireGroupDescription } from './group-description.js';
import { stableJson } from './stable-json.js';

const description: GroupDescription = {
  topic: 'orders',
  group: 'billing',
  config: { ordering: 'partition', ackTimeoutMs: 30_000, maxDeliveries: 5, backoff: { initialMs: 100, maxMs: 60_000, multiplier: 2, jitter: 0.1 }, deadLetterTopic: 'orders.dlq' },
  members: [{ id: 'billing-0', name: 'worker', maxInFlight: 100, inFlight: 1, closing: true, paused: false, leaseLost: false }],
  partitions: [
    {
      partition: 0, ackFloor: 9_007_199_254_740_993n, endOffset: 9_007_199_254_740_995n, lag: 2n, owner: 'billing-0',
      inFlight: [{ offset: 9_007_199_254_740_994n, member: 'billing-0', deliveryCount: 2, leaseDeadlineMs: 1_700_000_000_000 }],
      backingOff: 1, redeliveries: 3, deadLettered: 1, lostToRetention: 7n, lostToRetentionUntold: 9_007_199_254_740_993n,
    },
    { partition: 1, ackFloor: 0n, endOffset: 0n, lag: 0n, owner: undefined, inFlight: [], backingOff: 0, redeliveries: 0, deadLettered: 0, lostToRetention: 0n, lostToRetentionUntold: 0n },
  ],
  lag: 2n,
  lastError: 'IO_ERROR: disk full',
};

describe('group description on the wire', () => {
  it('reads back what the server sends, offsets past 2^53 exact', () => {
    const wire = JSON.parse(stableJson(description)) as WireGroupDescription;
    expect(wire.partitions[0]!.ackFloor).toBe('9007199254740993');
    expect(groupDescriptionFromWire(wire)).toEqual(description);
  });

  it('reads lostToRetentionUntold as 0 from a server that does not send it (added within the protocol version)', () => {
    const wire = JSON.parse(stableJson(description)) as WireGroupDescription;
    const { lostToRetentionUntold: _untold, ...older } = wire.partitions[1]!;
    const read = groupDescriptionFromWire({ ...wire, partitions: [older as typeof wire.partitions[1]] });
    expect(read.partitions[0]!.lostToRetentionUntold).toBe(0n);
  });
});
