/**
 * Dead-lettering across a crash (docs/semantics.md, "dead-lettered"): the copy is written before
 * the record's ack is journaled, so a crash between the two is survived at-least-once, never by
 * losing the record. On the virtual clock, with a power cut at the journal's first write after
 * the copy.
 */
import { describe, expect, it } from 'vitest';
import type { Delivery } from './delivery.js';
import { engineFixture } from './group-fixture.js';

/** Dead-letters one record of `topic` with `handler`, cutting the power once the copy is made, before the ack is journaled. */
async function crashAfterCopy(topic: string, maxDeliveries: number | undefined, handler: (d: Delivery) => Promise<void>) {
  const world = await engineFixture({ fsync: 'always' });
  await world.broker.createTopic(topic);
  await world.broker.produce(topic, [{ value: 'poison' }]);
  let copied = false;
  world.broker.on('deadLettered', () => void (copied = true));
  world.fs.onOperation = (op) => {
    if (!copied || !op.path.includes(`/groups/${topic}/`)) return;
    world.fs.onOperation = undefined;
    world.fs.powerCut();
  };
  await world.broker.subscribe({ topic, group: 'g', maxDeliveries }, handler);
  await world.settle(() => copied);
  const broker = await world.restart({ powerCut: false });
  const deliveries: number[] = [];
  await broker.subscribe({ topic, group: 'g', maxDeliveries }, (d) => void deliveries.push(d.deliveryCount));
  await world.settle(() => broker.describeGroup(topic, 'g').lag === 0n);
  const copies = await broker.fetch({ topic: `${topic}.dlq`, partition: 0, offset: 0n });
  return { copies: copies.length, deliveries };
}

describe('a crash between the dead-letter copy and the ack', () => {
  it('with its attempts spent, the record is copied again after the restart: two copies, no delivery', async () => {
    expect(await crashAfterCopy('crash-spent', 1, (d) => d.reject('bad'))).toEqual({ copies: 2, deliveries: [] });
  });

  it('after a reject() with attempts left, the record is delivered again: its copy stays', async () => {
    expect(await crashAfterCopy('crash-rejected', undefined, (d) => d.reject('bad'))).toEqual({ copies: 1, deliveries: [2] });
  });
});
