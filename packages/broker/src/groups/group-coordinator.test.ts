/**
 * The coordinator's own rules (group-coordinator.ts), through the broker's API on the virtual
 * clock: a group is opened once however many calls need it at once, the redrive group's reserved
 * name, what subscribe checks before it touches a file, and a reset whose look-up fails.
 */
import { describe, expect, it } from 'vitest';
import { engineFixture } from './group-fixture.js';
import { REDRIVE_GROUP } from './redrive.js';

describe('the group coordinator', () => {
  it("opens a dead-letter topic's redrive group once when two resets make it at once: both apply to the one group", async () => {
    const { broker } = await engineFixture();
    await broker.createTopic('gc-twice.dlq');
    await broker.produce('gc-twice.dlq', [{ value: 'a' }, { value: 'b' }]);
    const resets = await Promise.all([
      broker.resetGroup('gc-twice.dlq', REDRIVE_GROUP, 'latest'),
      broker.resetGroup('gc-twice.dlq', REDRIVE_GROUP, { offset: 1n }),
    ]);
    expect(resets).toEqual([[2n], [1n]]);
    expect(broker.listGroups('gc-twice.dlq')).toEqual([{ topic: 'gc-twice.dlq', group: REDRIVE_GROUP }]);
    const described = broker.describeGroup('gc-twice.dlq', REDRIVE_GROUP);
    expect(described.partitions[0]!.ackFloor).toBe(1n);
    // It never dead-letters (it has no members): its dead-letter topic is its own topic.
    expect(described.config.deadLetterTopic).toBe('gc-twice.dlq');
  });

  it(`refuses ${REDRIVE_GROUP} as a group to subscribe to or delete (INVALID_REQUEST naming it): it is redrive's progress`, async () => {
    const { broker } = await engineFixture();
    await broker.createTopic('gc-reserved.dlq');
    await broker.resetGroup('gc-reserved.dlq', REDRIVE_GROUP, 'earliest');
    await expect(broker.subscribe({ topic: 'gc-reserved.dlq', group: REDRIVE_GROUP }, () => undefined)).rejects.toMatchObject({
      code: 'INVALID_REQUEST', details: { group: REDRIVE_GROUP },
    });
    await expect(broker.deleteGroup('gc-reserved.dlq', REDRIVE_GROUP)).rejects.toMatchObject({
      code: 'INVALID_REQUEST', details: { topic: 'gc-reserved.dlq', group: REDRIVE_GROUP },
    });
    expect(broker.describeGroup('gc-reserved.dlq', REDRIVE_GROUP).members).toEqual([]);
  });

  it.each([
    ['topic', { topic: 5, group: 'g' }],
    ['topic', { topic: 5 }],
    ['group', { topic: 'gc-fields', group: 5 }],
    ['name', { topic: 'gc-fields', group: 'g', name: 5 }],
  ])('a subscribe whose %s is not a string is INVALID_REQUEST naming it, and makes no group', async (field, options) => {
    const { broker } = await engineFixture();
    await broker.createTopic('gc-fields');
    await expect(broker.subscribe(options as never, () => undefined)).rejects.toMatchObject({ code: 'INVALID_REQUEST', details: { field } });
    expect(broker.listGroups()).toEqual([]);
  });

  it('a reset whose look-up of a timestamp fails to read the log rejects with that IO_ERROR and leaves the group where it was', async () => {
    // Without the tail cache, finding an offset by time reads the segment.
    const { broker, settle, fs } = await engineFixture({ logTailCacheBytes: 0 });
    await broker.createTopic('gc-reset-read');
    await broker.produce('gc-reset-read', [{ value: 'a', timestamp: 1000 }, { value: 'b', timestamp: 2000 }]);
    const subscription = await broker.subscribe({ topic: 'gc-reset-read', group: 'g' }, () => undefined);
    await settle(() => broker.describeGroup('gc-reset-read', 'g').lag === 0n);
    await subscription.close();
    fs.failNext('read', { errno: 'EIO' });
    await expect(broker.resetGroup('gc-reset-read', 'g', { timestamp: 1500 })).rejects.toMatchObject({ code: 'IO_ERROR' });
    expect(broker.describeGroup('gc-reset-read', 'g').partitions[0]!.ackFloor).toBe(2n);
  });
});
