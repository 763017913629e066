/**
 * The two consumer forms of subscription.ts, at their edges: a handler whose result is a
 * misbehaving thenable, an iterator read without awaiting each next(), and one not read at all.
 */
import { describe, expect, it } from 'vitest';
import { engineFixture } from './group-fixture.js';

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

  it('consume() not read while its leases expire again and again queues at most 2 × maxInFlight deliveries: the stale ones are dropped', async () => {
    const { broker, advance } = await topicWith(4);
    const maxInFlight = 2;
    const ackTimeoutMs = 100;
    const stream = broker.consume({ topic: 't', group: 'unread', maxInFlight, ackTimeoutMs, backoff: { initialMs: 0, maxMs: 0 } });
    // Each lease that runs out gives the member its credit back, and the engine hands it the records again.
    for (let lease = 0; lease < 50; lease++) await advance(ackTimeoutMs);
    const iterator = stream[Symbol.asyncIterator]();
    let staleBeforeLive = 0;
    while ((await iterator.next()).value?.stale) staleBeforeLive += 1;
    expect(staleBeforeLive).toBeLessThanOrEqual(2 * maxInFlight);
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
