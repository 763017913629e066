/**
 * A listener reads the broker's state as the event announces it: a test that waits for a group to
 * catch up checks describeGroup's lag in its `acked` / `deadLettered` listener, and must see the
 * last record gone from it there, or it waits for ever.
 */
import { VirtualClock } from '@brook/protocol';
import { describe, expect, it } from 'vitest';
import { memoryBroker } from './memory-broker.test-support.js';

describe('describeGroup inside a listener', () => {
  it("acked: the record is no longer in flight nor in the lag (so the last ack's listener reads lag 0)", async () => {
    const clock = new VirtualClock();
    const broker = await memoryBroker({ clock });
    await broker.createTopic('orders', { partitions: 2 });
    const seen: { offset: bigint; lag: bigint; inFlight: bigint[] }[] = [];
    broker.on('acked', (e) => {
      const group = broker.describeGroup(e.topic, e.group);
      const inFlight = group.partitions[e.partition]!.inFlight.map((flight) => flight.offset);
      seen.push({ offset: e.offset, lag: group.lag, inFlight });
    });
    await broker.subscribe({ topic: 'orders', group: 'billing', maxInFlight: 1 }, () => undefined);
    await broker.produce('orders', [{ value: 'a', partition: 0 }, { value: 'b', partition: 0 }, { value: 'c', partition: 1 }]);
    await clock.runUntilIdle();
    expect(seen.map((s) => s.lag).sort()).toEqual([0n, 1n, 2n]);
    expect(seen.every((s) => !s.inFlight.includes(s.offset))).toBe(true);
    await broker.close();
  });

  it('deadLettered: the record is no longer counted in the lag', async () => {
    const clock = new VirtualClock();
    const broker = await memoryBroker({ clock });
    await broker.createTopic('orders');
    const lags: bigint[] = [];
    broker.on('deadLettered', (e) => lags.push(broker.describeGroup(e.topic, e.group).lag));
    await broker.subscribe({ topic: 'orders', group: 'billing', maxDeliveries: 1 }, () => {
      throw new Error('poison');
    });
    await broker.produce('orders', [{ value: 'a' }, { value: 'b' }]);
    await clock.runUntilIdle();
    expect(lags).toEqual([1n, 0n]);
    await broker.close();
  });
});
