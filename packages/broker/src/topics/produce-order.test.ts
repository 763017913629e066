/**
 * The order of appends: produce calls to one partition land in the order they were made, even
 * when they are not awaited in between, and even when an earlier one has to wait for retention
 * to make room (discard 'new').
 */
import { describe, expect, it } from 'vitest';
import { duringRetention, engineFixture } from '../groups/group-fixture.js';

describe('produce call order', () => {
  it('calls to one partition, not awaited in between, are appended in call order', async () => {
    const { broker } = await engineFixture();
    await broker.createTopic('t');
    const results = await Promise.all(Array.from({ length: 100 }, (_, i) => broker.produce('t', [{ value: `m${i}` }])));
    expect(results.map(([r]) => r!.offset)).toEqual(Array.from({ length: 100 }, (_, i) => BigInt(i)));
  });

  it("under discard 'new', a later call that fits at once still waits for an earlier one that needs room made", async () => {
    const { broker, settle } = await engineFixture();
    const maxBytes = 16384;
    await broker.createTopic('t', { segmentBytesMax: 4096, retention: { maxBytes, discard: 'new' } });
    // Fill sealed segments a group then consumes, so there is room to make, up to just below maxBytes.
    const sizeBytes = () => broker.describeTopic('t').partitions[0]!.sizeBytes;
    while (sizeBytes() < maxBytes - 700) await broker.produce('t', [{ value: 'x'.repeat(200) }]);
    await broker.subscribe({ topic: 't', group: 'g' }, () => undefined);
    await settle(() => broker.describeGroup('t', 'g').lag === 0n);
    const segmentsBefore = broker.describeTopic('t').partitions[0]!.segments;

    const big = broker.produce('t', [{ value: 'big'.padEnd(1500, '.') }]); // does not fit until retention runs
    const small = broker.produce('t', [{ value: 'small' }]); // fits as it is
    const [[bigAt], [smallAt]] = await Promise.all([big, small]);
    expect(broker.describeTopic('t').partitions[0]!.segments).toBeLessThan(segmentsBefore);
    expect(bigAt!.offset).toBeLessThan(smallAt!.offset);
  });

  it("under discard 'new', a call refused with TOPIC_FULL lets the next one through", async () => {
    const { broker } = await engineFixture();
    await broker.createTopic('t', { segmentBytesMax: 4096, retention: { maxBytes: 8192, discard: 'new' } });
    while (broker.describeTopic('t').partitions[0]!.sizeBytes < 8192 - 700) await broker.produce('t', [{ value: 'x'.repeat(200) }]);
    const endBefore = broker.describeTopic('t').partitions[0]!.endOffset;
    // No group has consumed anything: no room can be made for the big one.
    const [big, small] = await Promise.allSettled([broker.produce('t', [{ value: 'b'.repeat(1500) }]), broker.produce('t', [{ value: 'small' }])]);
    expect(big).toMatchObject({ status: 'rejected', reason: { code: 'TOPIC_FULL' } });
    expect(small).toMatchObject({ status: 'fulfilled', value: [{ partition: 0, offset: endBefore }] });
  });
});

describe("produce call order under discard 'new', a call made while an earlier one makes room", () => {
  it('waits for it, though the calls before it are done', async () => {
    const world = await engineFixture();
    const { broker } = world;
    await broker.createTopic('t', { segmentBytesMax: 4096, retention: { maxBytes: 8192, discard: 'new' } });
    // Room for a small record, not for the big one until retention deletes what the group consumed.
    while (broker.describeTopic('t').partitions[0]!.sizeBytes < 8192 - 700) await broker.produce('t', [{ value: 'x'.repeat(200) }]);
    await broker.subscribe({ topic: 't', group: 'g' }, () => undefined);
    await world.settle(() => broker.describeGroup('t', 'g').lag === 0n);
    let later: Promise<{ offset: bigint }[]> | undefined;
    // Called as the big one's room check moves the partition's start: the small one's turn is over by then.
    duringRetention(world, 'checkpoint', () => (later = broker.produce('t', [{ value: 'later' }])));
    const [, [big]] = await Promise.all([broker.produce('t', [{ value: 'small' }]), broker.produce('t', [{ value: 'b'.repeat(1500) }])]);
    expect(later).toBeDefined();
    expect((await later!)[0]!.offset).toBe(big!.offset + 1n);
  });
});
