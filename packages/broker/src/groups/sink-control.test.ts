/**
 * What a sink attached with Broker.attach hears of, and what it may tell the engine
 * (sink-control.ts): onTakenBack names only deliveries the sink was handed and the broker took
 * back unsettled; release() of a delivery already taken back changes nothing; a delivery given
 * back unsent takes the later ones of its partition back with it in 'partition' only. On the
 * virtual clock.
 */
import { describe, expect, it } from 'vitest';
import type { Delivery } from './delivery.js';
import { engineFixture } from './group-fixture.js';

async function attached(topic: string, values: string[], options: { ackTimeoutMs?: number; maxInFlight?: number } = {}) {
  const world = await engineFixture();
  await world.broker.createTopic(topic);
  await world.broker.produce(topic, values.map((value) => ({ value })));
  const sunk: Delivery[] = [];
  const takenBack: string[] = [];
  const subscription = await world.broker.attach(
    { topic, group: `g-${topic}`, backoff: { initialMs: 60_000, jitter: 0 }, ...options },
    (delivery) => void sunk.push(delivery),
  );
  subscription.onTakenBack((delivery) => takenBack.push(`${delivery.text()}#${delivery.deliveryCount}`));
  await world.settle(() => sunk.length === values.length);
  return { ...world, sunk, takenBack, subscription };
}

describe('a sink attached to a group', () => {
  it('hears onTakenBack of a delivery whose lease ran out, not of one its consumer acked, nacked or rejected', async () => {
    const { sunk, takenBack, settle, advance } = await attached('told-taken-back', ['acked', 'nacked', 'rejected', 'expired'], { ackTimeoutMs: 1000 });
    await sunk[0]!.ack();
    await sunk[1]!.nack();
    await sunk[2]!.reject('bad');
    await settle();
    expect(takenBack).toEqual([]);
    await advance(1000);
    await settle();
    expect(takenBack).toEqual(['expired#1']);
  });

  it('does not hear onTakenBack of a delivery it holds unsent: it never handed it on', async () => {
    const { broker, sunk, takenBack, subscription, settle, advance } = await attached('held-unsent', ['held'], { ackTimeoutMs: 1000 });
    subscription.holdUnsent(sunk);
    await advance(1000);
    await settle(() => sunk.length === 2);
    expect(takenBack).toEqual([]);
    expect(subscription.givenBack(sunk[0]!)).toBe(true);
    expect(sunk[1]!.deliveryCount).toBe(1);
    expect(broker.describeGroup('held-unsent', 'g-held-unsent').partitions[0]!.inFlight).toHaveLength(1);
  });

  it('release() of a delivery the broker took back already changes nothing: the record\'s current attempt stays out', async () => {
    const { broker, sunk, subscription, settle, advance } = await attached('stale-release', ['r'], { ackTimeoutMs: 1000 });
    await advance(1000);
    await advance(60_000); // the lease expiry's backoff
    await settle(() => sunk.length === 2);
    subscription.release([sunk[0]!]);
    await settle();
    expect(sunk).toHaveLength(2);
    expect(sunk[1]!.stale).toBe(false);
    expect(broker.describeGroup('stale-release', 'g-stale-release').partitions[0]!.inFlight).toEqual([
      expect.objectContaining({ offset: 0n, deliveryCount: 2 }),
    ]);
  });

  it("'none': a lease that runs out is no lost lease of its member (that is 'partition' only): no rebalance", async () => {
    const { broker, settle, advance } = await attached('none-lease', ['r'], { ackTimeoutMs: 1000 });
    const rebalances: string[] = [];
    broker.on('rebalanced', (e) => rebalances.push(e.reason));
    await advance(1000);
    await settle();
    expect(rebalances).toEqual([]);
    expect(broker.describeGroup('none-lease', 'g-none-lease').members.map((m) => m.leaseLost)).toEqual([false]);
  });

  // 'a' is leased at 0, 'b' at 500, both held unsent: a's lease runs out first.
  it.each([
    ['partition', ['a#1', 'b#1', 'a#1', 'b#1'], [true, true]],
    ['none', ['a#1', 'b#1', 'a#1'], [true, false]],
  ] as const)("'%s': a delivery given back unsent at its lease's end takes back the later ones of its partition in 'partition' only", async (ordering, seen, givenBack) => {
    const world = await engineFixture();
    const topic = `unsent-${ordering}`;
    await world.broker.createTopic(topic);
    const sunk: Delivery[] = [];
    const subscription = await world.broker.attach(
      { topic, group: `g-${topic}`, ordering, ackTimeoutMs: 1000, maxInFlight: 4 },
      (delivery) => void sunk.push(delivery),
    );
    await world.broker.produce(topic, [{ value: 'a' }]);
    await world.settle(() => sunk.length === 1);
    await world.advance(500);
    await world.broker.produce(topic, [{ value: 'b' }]);
    await world.settle(() => sunk.length === 2);
    subscription.holdUnsent(sunk);
    await world.advance(500);
    await world.settle();
    expect(sunk.map((d) => `${d.text()}#${d.deliveryCount}`)).toEqual(seen);
    expect(sunk.slice(0, 2).map((d) => subscription.givenBack(d))).toEqual(givenBack);
  });
});
