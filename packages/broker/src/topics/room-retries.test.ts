/**
 * discard 'new' and an idempotent producer's retries (docs/semantics.md, retention): a retry of a
 * batch the partition has, or is appending, appends nothing, so it neither holds room that another
 * batch could take nor is refused for want of it. It is answered `duplicate: true` with the
 * original's offsets, also when the partition is full; a retry of a batch refused for room is
 * refused the same way.
 */
import { describe, expect, it } from 'vitest';
import { encodeBatch } from '@brook/protocol';
import { engineFixture } from '../groups/group-fixture.js';

const wireBatch = (producer?: { producerId: bigint; producerEpoch: number; baseSequence: number }) =>
  encodeBatch([{ key: null, value: new TextEncoder().encode('x'.repeat(200)), timestamp: 0 }], producer);

/** A broker with `name` under discard 'new', room for `batches` batches of one 200-byte record. */
async function topicOf(name: string, batches: number) {
  const world = await engineFixture();
  const batchBytes = wireBatch().length;
  await world.broker.createTopic(name, { retention: { maxBytes: batches * batchBytes, discard: 'new' } });
  /** An idempotent producer's send of its batch at `baseSequence` (a retry is the same call again). */
  const producer = async () => {
    const { producerId, producerEpoch } = await world.broker.initProducer();
    return (baseSequence: number) => world.broker.produceBatch({ topic: name, partition: 0, batch: wireBatch({ producerId, producerEpoch, baseSequence }) });
  };
  const partition = () => world.broker.describeTopic(name).partitions[0]!;
  return { ...world, batchBytes, producer, partition };
}

/** `offset`, `offset dup`, or the refusal's code. */
function outcomes(settled: PromiseSettledResult<{ baseOffset: bigint; duplicate: boolean }>[]): string[] {
  return settled.map((s) => (s.status === 'fulfilled' ? `${s.value.baseOffset}${s.value.duplicate ? ' dup' : ''}` : (s.reason as { code: string }).code));
}

describe("discard 'new': an idempotent producer's retries take no room", () => {
  it('a retry of an appended batch, queued with the next batch, leaves it the room it fits in', async () => {
    const { partition, producer, batchBytes } = await topicOf('retry-room-appended', 3);
    const send = await producer();
    await send(0);
    // 1 goes to the log alone; its retry and 2 wait for it, then are checked together.
    const settled = await Promise.allSettled([send(1), send(1), send(2)]);
    expect(outcomes(settled)).toEqual(['1', '1 dup', '2']);
    expect(partition().sizeBytes).toBe(3 * batchBytes);
  });

  it('so does a retry of a batch checked with it, ahead of it', async () => {
    const { partition, producer, batchBytes } = await topicOf('retry-room-pending', 4);
    const send = await producer();
    await send(0);
    const settled = await Promise.allSettled([send(1), send(2), send(2), send(3)]);
    expect(outcomes(settled)).toEqual(['1', '2', '2 dup', '3']);
    expect(partition().sizeBytes).toBe(4 * batchBytes);
  });

  it("another producer's batch that fits is taken while a retry is answered", async () => {
    const { partition, producer, batchBytes } = await topicOf('retry-room-other', 3);
    const [a, b] = [await producer(), await producer()];
    await a(0);
    const first = a(1);
    const settled = await Promise.allSettled([first, a(1), first.then(() => b(0))]);
    expect(outcomes(settled)).toEqual(['1', '1 dup', '2']);
    expect(partition().sizeBytes).toBe(3 * batchBytes);
  });
});

describe("discard 'new': a retry on a full partition", () => {
  it('is answered duplicate with the offsets of its original, never TOPIC_FULL', async () => {
    const { partition, producer } = await topicOf('retry-full-appended', 2);
    const send = await producer();
    await send(0);
    await send(1);
    await expect(send(2)).rejects.toMatchObject({ code: 'TOPIC_FULL' });
    const settled = await Promise.allSettled([send(0), send(1)]);
    expect(outcomes(settled)).toEqual(['0 dup', '1 dup']);
    expect(partition().endOffset).toBe(2n);
  });

  it('whose original, checked with it, took the last room: duplicate', async () => {
    const { partition, producer } = await topicOf('retry-full-pending', 3);
    const send = await producer();
    await send(0);
    const settled = await Promise.allSettled([send(1), send(2), send(2)]);
    expect(outcomes(settled)).toEqual(['1', '2', '2 dup']);
    expect(partition().endOffset).toBe(3n);
  });

  it('whose original, checked with it, was refused: refused alike, and appends nothing', async () => {
    const { partition, producer } = await topicOf('retry-full-refused', 2);
    const send = await producer();
    await send(0);
    const settled = await Promise.allSettled([send(1), send(2), send(2)]);
    expect(outcomes(settled)).toEqual(['1', 'TOPIC_FULL', 'TOPIC_FULL']);
    expect(partition().endOffset).toBe(2n);
  });
});
