/**
 * The two consumer forms of subscription.ts, at their edges: a handler whose result is a
 * misbehaving thenable, and an iterator read without awaiting each next().
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
});
