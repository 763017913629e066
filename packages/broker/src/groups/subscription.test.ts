/**
 * The two consumer forms of subscription.ts, at their edges: a handler whose result is a
 * misbehaving thenable, an iterator read without awaiting each next(), and one not read at all.
 */
import { describe, expect, it } from 'vitest';
import { engineFixture } from './group-fixture.js';
import type { Delivery } from './delivery.js';

async function topicWith(count: number) {
  const fixture = await engineFixture();
  await fixture.broker.createTopic('t');
  await fixture.broker.produce('t', Array.from({ length: count }, (_, i) => ({ value: `m${i}` })));
  return fixture;
}

describe('subscriptions at their edges', () => {
  it('a handler returning a thenable whose then() throws nacks its delivery, as a throwing handler does', async () => {
    const { broker, settle } = await topicWith(1);
    const nacked: bigint[] = [];
    broker.on('nacked', (event) => nacked.push(event.offset));
    const broken = { then: () => { throw new Error('a broken thenable'); } };
    await broker.subscribe({ topic: 't', group: 'g', backoff: { initialMs: 60_000, jitter: 0 } }, () => broken);
    await settle(() => nacked.length === 1);
    expect(broker.describeGroup('t', 'g').lag).toBe(1n);
  });

  it('consume(): two next() calls made together each get a delivery, in order', async () => {
    const { broker } = await topicWith(2);
    const iterator = broker.consume({ topic: 't', group: 'g', maxInFlight: 2 })[Symbol.asyncIterator]();
    const [first, second] = await Promise.all([iterator.next(), iterator.next()]);
    expect([first.value?.offset, second.value?.offset]).toEqual([0n, 1n]);
    await iterator.return?.();
  });
});

describe('ended: how a subscription learns it is over', () => {
  it.each([
    ['a handler subscription', false],
    ['a consume() stream', true],
  ])('%s: resolves when its consumer closes it; rejects UNKNOWN_TOPIC when its topic is deleted, CLOSED when the broker closes', async (_what, stream) => {
    const { broker, settle } = await topicWith(1);
    await broker.createTopic('other');
    const open = async (topic: string) => {
      if (!stream) return broker.subscribe({ topic, group: 'g' }, () => undefined);
      const messages = broker.consume({ topic, group: 'g' });
      void (async () => { for await (const message of messages) await message.ack(); })().catch(() => undefined);
      return messages;
    };
    const closed = await open('t');
    const deleted = await open('t');
    const brokerClosed = await open('other');
    await settle(() => broker.listGroups().length === 2 && broker.describeGroup('t', 'g').lag === 0n);
    await closed.close();
    await expect(closed.ended).resolves.toBeUndefined();
    await broker.deleteTopic('t');
    await expect(deleted.ended).rejects.toMatchObject({ code: 'UNKNOWN_TOPIC' });
    await broker.close();
    await expect(brokerClosed.ended).rejects.toMatchObject({ code: 'CLOSED' });
  });
});

describe('consume(): what waits unread in its queue is no attempt (docs/semantics.md, "Redelivery")', () => {
  const ackTimeoutMs = 100;

  it("a loop that reads nothing for several leases loses nothing to maxDeliveries 2 (each lease that runs out gives its delivery back: 'redelivered', 'unsent'), and then reads each record with deliveryCount 1", async () => {
    const { broker, advance } = await topicWith(3);
    const deadLettered: bigint[] = [];
    const leaseExpired: bigint[] = [];
    const redelivered = new Set<string>();
    broker.on('deadLettered', (event) => void deadLettered.push(event.offset));
    broker.on('leaseExpired', (event) => void leaseExpired.push(event.offset));
    broker.on('redelivered', (event) => void redelivered.add(`${event.offset} ${event.reason} #${event.nextDeliveryCount}`));
    const settings = { topic: 't', group: 'unread-max-deliveries', maxInFlight: 2, ackTimeoutMs, maxDeliveries: 2 };
    const iterator = broker.consume(settings)[Symbol.asyncIterator]();
    for (let lease = 0; lease < 5; lease++) await advance(ackTimeoutMs);
    expect({ deadLettered, leaseExpired }).toEqual({ deadLettered: [], leaseExpired: [] });
    // Paused with 2 waiting, the member was dealt only records 0 and 1, again and again.
    expect([...redelivered].sort()).toEqual(['0 unsent #1', '1 unsent #1']);
    const read: [bigint, number][] = [];
    for (let i = 0; i < 3; i++) {
      const delivery = (await iterator.next()).value as Delivery;
      read.push([delivery.offset, delivery.deliveryCount]);
      await delivery.ack();
    }
    // In whatever order ('none' promises none: the two given back queue behind record 2).
    expect(read.sort(([a], [b]) => Number(a - b))).toEqual([[0n, 1], [1n, 1], [2n, 1]]);
    expect(broker.describeGroup('t', settings.group).partitions[0]).toMatchObject({ lag: 0n, deadLettered: 0 });
    await iterator.return?.();
  });

  it('a member whose queue is full is paused: while its loop reads nothing, a handler member gets every record, each deliveryCount 1', async () => {
    const { broker, advance, settle } = await topicWith(1);
    const settings = { topic: 't', group: 'unread-paused', ackTimeoutMs };
    const unread = broker.consume({ ...settings, maxInFlight: 1 });
    await unread.ready;
    await settle(() => broker.describeGroup('t', settings.group).members[0]?.inFlight === 1);
    const got: [bigint, number][] = [];
    const handler = await broker.subscribe({ ...settings, maxInFlight: 10 }, (delivery) => void got.push([delivery.offset, delivery.deliveryCount]));
    await advance(ackTimeoutMs);
    // One at a time: unpaused, the ring would deal every other one to the loop, which holds it a lease.
    for (let i = 1; i <= 4; i++) {
      await broker.produce('t', [{ value: `later ${i}` }]);
      await settle(() => got.length === i + 1);
    }
    expect(got).toEqual([[0n, 1], [1n, 1], [2n, 1], [3n, 1], [4n, 1]]);
    expect(broker.describeGroup('t', settings.group).members.map((m) => [m.id, m.paused])).toEqual([[unread.memberId, true], [handler.memberId, false]]);
    await unread.close();
    await handler.close();
  });

  it('leaving the loop gives back what it had not read: maxDeliveries 1, another member gets it with deliveryCount 1', async () => {
    const { broker, settle } = await topicWith(2);
    const settings = { topic: 't', group: 'unread-left', ackTimeoutMs, maxDeliveries: 1 };
    let delivered = 0;
    broker.on('delivered', () => void (delivered += 1));
    const unread = broker.consume(settings);
    await settle(() => delivered === 2);
    unread.abort();
    const got: [bigint, number][] = [];
    await broker.subscribe(settings, (delivery) => void got.push([delivery.offset, delivery.deliveryCount]));
    await settle(() => got.length === 2);
    expect(got).toEqual([[0n, 1], [1n, 1]]);
    expect(broker.describeGroup('t', settings.group).partitions[0]).toMatchObject({ lag: 0n, deadLettered: 0 });
  });

  it("'partition': a rebalance takes back what the loop had not read as no attempt: the new owner gets it with deliveryCount 1 at maxDeliveries 1", async () => {
    const { broker, settle } = await engineFixture();
    await broker.createTopic('t', { partitions: 2 });
    await broker.produce('t', [{ value: 'p0', partition: 0 }, { value: 'p1', partition: 1 }]);
    const settings = { topic: 't', group: 'unread-rebalance', ordering: 'partition' as const, ackTimeoutMs, maxDeliveries: 1 };
    let delivered = 0;
    broker.on('delivered', () => void (delivered += 1));
    const unread = broker.consume(settings);
    await settle(() => delivered === 2);
    const got: [number, number][] = [];
    const joined = await broker.subscribe(settings, (delivery) => void got.push([delivery.partition, delivery.deliveryCount]));
    await settle(() => got.length === 1);
    expect(got).toEqual([[broker.describeGroup('t', settings.group).partitions.findIndex((p) => p.owner === joined.memberId), 1]]);
    expect(broker.describeGroup('t', settings.group).partitions.map((p) => p.deadLettered)).toEqual([0, 0]);
    unread.abort();
  });

  it('a delivery next() returned is an attempt: not acked, it comes again with deliveryCount 2', async () => {
    const { broker, advance, settle } = await topicWith(1);
    const group = 'unread-read-is-attempt';
    let delivered = 0;
    broker.on('delivered', () => void (delivered += 1));
    const stream = broker.consume({ topic: 't', group, ackTimeoutMs, backoff: { initialMs: 0, maxMs: 0 } });
    // It waits in the queue first: what next() takes from there becomes an attempt.
    await settle(() => delivered === 1);
    const iterator = stream[Symbol.asyncIterator]();
    const first = (await iterator.next()).value as Delivery;
    await advance(ackTimeoutMs);
    const second = (await iterator.next()).value as Delivery;
    expect([first.stale, second.offset, second.deliveryCount]).toEqual([true, 0n, 2]);
    await iterator.return?.();
  });
});

describe('a handler that closes its own subscription (docs/client.md, "A handler runs only after subscribe() resolved")', () => {
  const ackTimeoutMs = 100;

  it('close() waits for what the member holds to be settled, not for handlers to return: settled first, its close() resolves with no time passing, the ack counted', async () => {
    const { broker, settle } = await topicWith(1);
    let closed = false;
    const sub = await broker.subscribe({ topic: 't', group: 'settles-first', ackTimeoutMs }, async (delivery) => {
      await delivery.ack();
      await sub.close();
      closed = true;
    });
    await settle(() => closed);
    expect(broker.describeGroup('t', 'settles-first').partitions[0]).toMatchObject({ lag: 0n, redeliveries: 0 });
  });

  it('awaiting close() with its delivery unsettled waits for itself: close() resolves once the lease ran out, and the record comes again as a failed attempt', async () => {
    const { broker, settle, advance } = await topicWith(1);
    const settings = { topic: 't', group: 'awaits-itself', ackTimeoutMs, backoff: { initialMs: 0, maxMs: 0 } };
    const deliveryCounts: number[] = [];
    let closed = false;
    const sub = await broker.subscribe(settings, async (delivery) => {
      deliveryCounts.push(delivery.deliveryCount);
      await sub.close();
      closed = true;
    });
    await settle(() => deliveryCounts.length === 1);
    await advance(ackTimeoutMs - 1);
    expect(closed).toBe(false);
    await advance(1);
    await settle(() => closed);
    await broker.subscribe(settings, (delivery) => void deliveryCounts.push(delivery.deliveryCount));
    await settle(() => deliveryCounts.length === 2);
    expect(deliveryCounts).toEqual([1, 2]);
    expect(broker.describeGroup('t', 'awaits-itself').partitions[0]).toMatchObject({ lag: 0n, redeliveries: 1 });
  });
});
