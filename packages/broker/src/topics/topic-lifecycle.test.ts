/**
 * deleteTopic while the topic is in use, and a topic created again under the same name: what
 * the subscriptions, deliveries and timers of the deleted topic do, what a crash in the middle
 * of a delete leaves, and that nothing of the old topic leaks into the new one
 * (docs/semantics.md, "Deleting a topic").
 */
import { describe, expect, it } from 'vitest';
import type { Delivery } from '../groups/delivery.js';
import { engineFixture } from '../groups/group-fixture.js';

/** A handler that keeps every delivery unsettled until the test settles it. */
function parking() {
  const held: Delivery[] = [];
  return {
    held,
    handler: (delivery: Delivery) => {
      held.push(delivery);
      return new Promise<void>(() => undefined);
    },
  };
}

describe('deleteTopic while a group consumes it', () => {
  it('takes its deliveries back: ack() and reject() reject with UNKNOWN_TOPIC, nack() resolves, close() resolves, and no timer of the group is left', async () => {
    const world = await engineFixture();
    const { broker } = world;
    await broker.createTopic('lc-settle');
    await broker.produce('lc-settle', [{ value: 'a' }, { value: 'b' }, { value: 'c' }]);
    const { held, handler } = parking();
    const subscription = await broker.subscribe({ topic: 'lc-settle', group: 'g', backoff: { initialMs: 10_000 } }, handler);
    await world.settle(() => held.length === 3);
    await held[2]!.nack(); // one record waits out a backoff when the topic goes
    const events: string[] = [];
    for (const name of ['acked', 'nacked', 'deadLettered', 'leaseExpired', 'redelivered'] as const) broker.on(name, () => void events.push(name));

    await broker.deleteTopic('lc-settle');

    expect(held[0]!.stale).toBe(true);
    await expect(held[0]!.ack()).rejects.toMatchObject({ code: 'UNKNOWN_TOPIC', details: { topic: 'lc-settle' } });
    await expect(held[1]!.reject('too late')).rejects.toMatchObject({ code: 'UNKNOWN_TOPIC' });
    await expect(held[0]!.nack()).rejects.toMatchObject({ code: 'UNKNOWN_TOPIC' }); // the first settlement won
    await subscription.close();
    expect(world.clock.pendingTimers()).toBe(0);
    await world.advance(60_000);
    expect(events).toEqual([]);
    expect(broker.listTopics()).toEqual([]);
    expect(broker.listGroups()).toEqual([]);
    expect(() => broker.describeGroup('lc-settle', 'g')).toThrow(expect.objectContaining({ code: 'UNKNOWN_GROUP' }));
  });

  it.each([
    ['a group member', 'g'],
    ['a tail reader', undefined],
  ])('%s still joining when the topic is deleted fails with UNKNOWN_TOPIC; a topic created again under the name starts fresh', async (_what, group) => {
    const world = await engineFixture();
    const { broker } = world;
    await broker.createTopic('lc-join');
    await broker.produce('lc-join', [{ value: 'old' }]);
    const joining = broker.subscribe({ topic: 'lc-join', group, from: 'earliest' }, () => undefined);
    await broker.deleteTopic('lc-join');
    await expect(joining).rejects.toMatchObject({ code: 'UNKNOWN_TOPIC' });
    expect(broker.listGroups()).toEqual([]);
    expect(await world.fs.exists(`${broker.dataDir}/groups/lc-join`)).toBe(false);

    await broker.createTopic('lc-join');
    await broker.produce('lc-join', [{ value: 'new' }]);
    const seen: string[] = [];
    await broker.subscribe({ topic: 'lc-join', group, from: 'earliest' }, (d) => void seen.push(d.text()!));
    await world.settle(() => seen.length === 1);
    expect(seen).toEqual(['new']);
  });
});
