import { VirtualClock } from '@brook/protocol';
import { describe, expect, it } from 'vitest';
import { Broker } from '../index.js';
import { caughtUp } from './index.js';

describe('caughtUp', () => {
  it('resolves once every record is acked, a nacked one after its redelivery: exactly these deliveries, no sleep', async () => {
    await using broker = await Broker.open({ storage: 'memory' });
    await broker.createTopic('orders', { partitions: 3 });
    const handled: string[] = [];
    await broker.subscribe({ topic: 'orders', group: 'billing', backoff: { initialMs: 0 } }, (msg) => {
      handled.push(`${msg.text()}#${msg.deliveryCount}`);
      if (msg.text() === 'b' && msg.deliveryCount === 1) throw new Error('nack');
    });
    await broker.produce('orders', ['a', 'b', 'c', 'd'].map((value) => ({ value })));
    const group = await caughtUp(broker, 'orders', 'billing');
    expect(group.lag).toBe(0n);
    expect(handled.sort()).toEqual(['a#1', 'b#1', 'b#2', 'c#1', 'd#1']);
  });

  it('counts dead-lettered records as done', async () => {
    await using broker = await Broker.open({ storage: 'memory' });
    await broker.createTopic('orders');
    await broker.subscribe({ topic: 'orders', group: 'billing', maxDeliveries: 1 }, () => {
      throw new Error('poison');
    });
    await broker.produce('orders', [{ value: 'a' }, { value: 'b' }]);
    expect((await caughtUp(broker, 'orders', 'billing')).partitions[0]!.deadLettered).toBe(2);
  });

  it('on a VirtualClock, resolves as the clock is driven through the backoff', async () => {
    const clock = new VirtualClock();
    await using broker = await Broker.open({ storage: 'memory', clock });
    await broker.createTopic('orders');
    let attempts = 0;
    await broker.subscribe({ topic: 'orders', group: 'billing' }, () => {
      attempts += 1;
      if (attempts < 3) throw new Error('nack');
    });
    await broker.produce('orders', [{ value: 'a' }]);
    const done = caughtUp(broker, 'orders', 'billing');
    await clock.runUntilIdle();
    await expect(done).resolves.toMatchObject({ lag: 0n });
    expect(attempts).toBe(3);
  });

  it('resolves at once for a group with nothing to do, and ignores other topics', async () => {
    await using broker = await Broker.open({ storage: 'memory' });
    await broker.createTopic('orders');
    await broker.createTopic('other');
    await broker.subscribe({ topic: 'orders', group: 'billing' }, () => undefined);
    await broker.subscribe({ topic: 'other', group: 'billing' }, () => undefined);
    await broker.produce('other', [{ value: 'x' }]);
    await expect(caughtUp(broker, 'orders', 'billing')).resolves.toMatchObject({ topic: 'orders', lag: 0n });
  });

  it('rejects with UNKNOWN_GROUP for a group not subscribed yet, and when the group is deleted while it waits', async () => {
    await using broker = await Broker.open({ storage: 'memory' });
    await broker.createTopic('orders');
    await expect(caughtUp(broker, 'orders', 'billing')).rejects.toMatchObject({ code: 'UNKNOWN_GROUP' });
    const sub = await broker.subscribe({ topic: 'orders', group: 'billing' }, () => new Promise(() => undefined));
    await broker.produce('orders', [{ value: 'a' }]);
    const waiting = caughtUp(broker, 'orders', 'billing');
    await sub.abort();
    await broker.deleteGroup('orders', 'billing');
    await expect(waiting).rejects.toMatchObject({ code: 'UNKNOWN_GROUP' });
    expect(broker.listenerCount('acked') + broker.listenerCount('groupDeleted')).toBe(0);
  });

  it('rejects with UNKNOWN_TOPIC when the topic is deleted while it waits', async () => {
    await using broker = await Broker.open({ storage: 'memory' });
    await broker.createTopic('orders-gone');
    await broker.subscribe({ topic: 'orders-gone', group: 'billing' }, () => new Promise(() => undefined));
    await broker.produce('orders-gone', [{ value: 'a' }]);
    const waiting = caughtUp(broker, 'orders-gone', 'billing');
    await broker.deleteTopic('orders-gone');
    await expect(waiting).rejects.toMatchObject({ code: 'UNKNOWN_TOPIC', details: { topic: 'orders-gone' } });
    expect(broker.listenerCount('acked') + broker.listenerCount('groupDeleted')).toBe(0);
  });

  it('rejects with CLOSED when the broker closes while it waits, instead of hanging the test', async () => {
    const broker = await Broker.open({ storage: 'memory' });
    await broker.createTopic('orders-closed');
    await broker.subscribe({ topic: 'orders-closed', group: 'billing' }, () => new Promise(() => undefined));
    await broker.produce('orders-closed', [{ value: 'a' }]);
    const waiting = caughtUp(broker, 'orders-closed', 'billing');
    const closed = broker.close();
    await expect(waiting).rejects.toMatchObject({ code: 'CLOSED' });
    await closed;
    expect(broker.listenerCount('acked') + broker.listenerCount('closing')).toBe(0);
  });
});
