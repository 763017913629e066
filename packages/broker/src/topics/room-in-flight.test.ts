/**
 * discard 'new' holds maxBytes with produces in flight: a batch admitted but not yet written
 * counts against the room (docs/semantics.md, retention), so produces not awaited in between, in
 * process or from several wire producers, never take a partition past maxBytes; the ones that do
 * not fit are TOPIC_FULL and append nothing, and a batch whose write failed gives its room back.
 */
import { describe, expect, it } from 'vitest';
import { encodeBatch } from '@brook/protocol';
import { engineFixture } from '../groups/group-fixture.js';

const record = (valueBytes: number) => ({ value: 'x'.repeat(valueBytes), timestamp: 0 });
const wireBatch = (valueBytes: number, producer?: { producerId: bigint; producerEpoch: number; baseSequence: number }) =>
  encodeBatch([{ key: null, value: new TextEncoder().encode('x'.repeat(valueBytes)), timestamp: 0 }], producer);

/** A broker with `name` under discard 'new' at maxBytes(bytes of one batch of a 200-byte record). */
async function topicOf(name: string, maxBytes: (batchBytes: number) => number) {
  const world = await engineFixture();
  const batchBytes = wireBatch(200).length;
  await world.broker.createTopic(name, { retention: { maxBytes: maxBytes(batchBytes), discard: 'new' } });
  const partition = () => world.broker.describeTopic(name).partitions[0]!;
  return { ...world, batchBytes, partition };
}

describe("discard 'new': batches in flight count against maxBytes", () => {
  it('produces not awaited in between, one byte more than maxBytes in all: the last is TOPIC_FULL and the partition ends at or under maxBytes', async () => {
    const { broker, batchBytes, partition } = await topicOf('in-flight', (batchBytes) => 5 * batchBytes - 1);
    const settled = await Promise.allSettled(Array.from({ length: 5 }, () => broker.produce('in-flight', [record(200)])));
    expect(settled.slice(0, 4).map((s) => s.status === 'fulfilled' && s.value[0]!.offset)).toEqual([0n, 1n, 2n, 3n]);
    expect(settled[4]).toMatchObject({ status: 'rejected', reason: { code: 'TOPIC_FULL', retriable: true } });
    expect([partition().sizeBytes, partition().endOffset]).toEqual([4 * batchBytes, 4n]);
  });

  it('at exactly maxBytes in all, every produce in flight is taken', async () => {
    const { broker, batchBytes, partition } = await topicOf('in-flight-exact', (batchBytes) => 5 * batchBytes);
    await Promise.all(Array.from({ length: 5 }, () => broker.produce('in-flight-exact', [record(200)])));
    expect(partition().sizeBytes).toBe(5 * batchBytes);
  });

  it('wire batches of several producers (idempotent and not) in flight: those that fit are appended, the rest TOPIC_FULL', async () => {
    const { broker, batchBytes, partition } = await topicOf('in-flight-wire', (batchBytes) => 6 * batchBytes - 1);
    const producers = [await broker.initProducer(), await broker.initProducer()];
    const sends = [
      ...producers.flatMap(({ producerId, producerEpoch }) => [0, 1, 2].map((baseSequence) => wireBatch(200, { producerId, producerEpoch, baseSequence }))),
      wireBatch(200), wireBatch(200),
    ].map((batch) => broker.produceBatch({ topic: 'in-flight-wire', partition: 0, batch }));
    const settled = await Promise.allSettled(sends);
    const taken = settled.filter((s) => s.status === 'fulfilled');
    expect(taken).toHaveLength(5);
    // A producer's batch behind its own refused one is OUT_OF_ORDER_SEQUENCE (it resends from the refused one).
    const refusals = settled.flatMap((s) => (s.status === 'rejected' ? [(s.reason as { code: string }).code] : []));
    expect(refusals).toContain('TOPIC_FULL');
    expect(refusals.every((code) => code === 'TOPIC_FULL' || code === 'OUT_OF_ORDER_SEQUENCE')).toBe(true);
    expect([partition().sizeBytes, partition().endOffset]).toEqual([5 * batchBytes, 5n]);
  });

  it('the wire and broker.produce in flight together share the room', async () => {
    const { broker, batchBytes, partition } = await topicOf('in-flight-mixed', (batchBytes) => 4 * batchBytes - 1);
    const sends = Array.from({ length: 6 }, (_, i) => (i % 2 === 0
      ? broker.produceBatch({ topic: 'in-flight-mixed', partition: 0, batch: wireBatch(200) })
      : broker.produce('in-flight-mixed', [record(200)])));
    const settled = await Promise.allSettled(sends);
    expect(settled.filter((s) => s.status === 'fulfilled')).toHaveLength(3);
    expect(partition().sizeBytes).toBe(3 * batchBytes);
  });

  it('a batch never appended (a duplicate, a sequence gap) holds no room once answered', async () => {
    const { broker, batchBytes, partition } = await topicOf('in-flight-unused', (batchBytes) => 3 * batchBytes);
    const { producerId, producerEpoch } = await broker.initProducer();
    const send = (baseSequence: number) => broker.produceBatch({ topic: 'in-flight-unused', partition: 0, batch: wireBatch(200, { producerId, producerEpoch, baseSequence }) });
    await send(0);
    const settled = await Promise.allSettled([send(0), send(0), send(5)]);
    expect(settled.map((s) => (s.status === 'fulfilled' ? s.value.duplicate : (s.reason as { code: string }).code))).toEqual([true, true, 'OUT_OF_ORDER_SEQUENCE']);
    await Promise.all([send(1), send(2)]);
    expect(partition().sizeBytes).toBe(3 * batchBytes);
  });

  it('a batch whose write failed gives back the room it was admitted with', async () => {
    const { broker, fs, batchBytes, partition } = await topicOf('in-flight-failed', (batchBytes) => 2 * batchBytes);
    fs.failNext('write', { errno: 'EIO', path: /\/topics\/in-flight-failed\/0\// });
    await expect(broker.produce('in-flight-failed', [record(200)])).rejects.toMatchObject({ code: 'IO_ERROR' });
    await Promise.all([0, 1].map(() => broker.produce('in-flight-failed', [record(200)])));
    await expect(broker.produce('in-flight-failed', [record(0)])).rejects.toMatchObject({ code: 'TOPIC_FULL' });
    expect(partition().sizeBytes).toBe(2 * batchBytes);
  });
});
