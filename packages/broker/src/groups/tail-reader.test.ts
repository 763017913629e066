/**
 * Tail readers (subscriptions without a group) in process, on the virtual clock: what is theirs
 * alone. Fan-out, from, and deletion are in acks-and-redelivery.test.ts and the conformance suites.
 */
import { describe, expect, it } from 'vitest';
import { engineFixture, parking } from './group-fixture.js';

describe('a tail reader', () => {
  it('serves its partitions in turn: a steady backlog on one does not starve another', async () => {
    const { broker, settle } = await engineFixture();
    await broker.createTopic('tr-fair', { partitions: 2 });
    await broker.produce('tr-fair', [{ value: 'cold', partition: 1 }, { value: 'hot', partition: 0 }]);
    const { held, handler } = parking();
    await broker.subscribe({ topic: 'tr-fair', from: 'earliest', maxInFlight: 1 }, handler);
    // Partition 0 never runs dry: each record handled there is followed by another.
    for (let i = 0; i < 4; i++) {
      await settle(() => held.length === i + 1);
      await broker.produce('tr-fair', [{ value: 'hot', partition: 0 }]);
      await held[i]!.ack();
    }
    await settle(() => held.length === 5);
    expect(held.map((d) => d.partition)).toContain(1);
  });

  it('close() leaves at once, though its handler holds a delivery: a reader keeps no acks, nothing waits on it', async () => {
    const { broker, settle } = await engineFixture();
    await broker.createTopic('tr-close');
    await broker.produce('tr-close', [{ value: 'a' }, { value: 'b' }]);
    const { held, handler } = parking();
    const subscription = await broker.subscribe({ topic: 'tr-close', from: 'earliest', maxInFlight: 1 }, handler);
    await settle(() => held.length === 1);
    await subscription.close();
    await expect(subscription.ended).resolves.toBeUndefined();
    await held[0]!.ack(); // settling after the end changes nothing
    await settle();
    expect(held.map((d) => d.text())).toEqual(['a']);
  });
});

