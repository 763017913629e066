/**
 * discard 'new' room checks of the wire (produceBatch) and of broker.produce on one partition go
 * one after the other (docs/semantics.md, retention): a check still making room (deleting the
 * segments every group consumed) is not overtaken by later batches that take the room it made.
 */
import { describe, expect, it } from 'vitest';
import { encodeBatch } from '@brook/protocol';
import { heldReads } from '../held-reads.test-support.js';

const batchOf = (value: string) => encodeBatch([{ key: null, value: new TextEncoder().encode(value), timestamp: 1 }]);

/** A partition full of records its one group has consumed: the next produce makes room by deleting them. */
async function consumedFullTopic(topic: string) {
  const held = await heldReads();
  const { broker } = held.world;
  await broker.createTopic(topic, { retention: { maxBytes: 1000, discard: 'new' } });
  await broker.subscribe({ topic, group: 'g' }, () => undefined);
  for (let i = 0; i < 3; i++) await broker.produce(topic, [{ value: 'x'.repeat(200) }]);
  await held.world.settle(() => broker.describeGroup(topic, 'g').lag === 0n);
  return held;
}

describe("discard 'new': room checks of one partition in turn", () => {
  it('a wire batch whose room check is deleting consumed segments is not overtaken by later batches that take the room it made', async () => {
    const topic = 'room-turns-overtaken';
    const { world, holdNextUnlink } = await consumedFullTopic(topic);
    const { broker } = world;
    const hold = holdNextUnlink(new RegExp(`/topics/${topic}/`));
    const first = broker.produceBatch({ topic, partition: 0, batch: batchOf('a'.repeat(200)) });
    await hold.reached;
    const later = [
      broker.produceBatch({ topic, partition: 0, batch: batchOf('b'.repeat(200)) }),
      broker.produce(topic, [{ value: 'c'.repeat(200) }]),
      broker.produceBatch({ topic, partition: 0, batch: batchOf('d'.repeat(200)) }),
    ];
    await world.settle();
    hold.release();
    await expect(first).resolves.toMatchObject({ baseOffset: 3n });
    await Promise.allSettled(later);
  });
});
