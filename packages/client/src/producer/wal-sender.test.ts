/**
 * The WAL producer's sender against the scripted server: which refusals of a part are poison and
 * what they leave behind (the partition's sequence, its partition count), and the resume of the
 * shared producer id at an open (the request, and fencing there).
 */
import { describe, expect, it } from 'vitest';
import { readBatchHeader } from '@brook/protocol';
import type { PoisonReport } from './wal-sender.js';
import { nextPart, putKeyA, settlesSoon, setup, threePartitions } from './wal-producer.test-support.js';

describe('WalSender and a part refused for a reason in itself', () => {
  // The codes docs/wal.md calls poison: refusals for a reason in the part itself.
  it.each(['MESSAGE_TOO_LARGE', 'CORRUPT_BATCH', 'INVALID_REQUEST', 'UNKNOWN_TOPIC', 'UNKNOWN_PARTITION', 'INVALID_TOPIC_NAME'])('sets a part refused %s aside, leaves its partition\'s sequence where it was, and goes on', async (code) => {
    const { server, producer } = await setup();
    const poisoned = new Promise<PoisonReport>((resolve) => producer.once('poison', resolve));
    await putKeyA(server, producer, 'refused', true);
    void producer.flush();
    await server.waitForRequests(1);
    server.respond(server.take('initProducer'), { producerId: '7', producerEpoch: 0 });
    server.fail(await nextPart(server), code);
    expect(await poisoned).toMatchObject({ topic: 't', error: { code } });
    // A missing topic or partition may mean the topic was made again: its count is looked up again.
    const put = producer.send('t', [{ key: 'a', value: 'next' }]);
    if (code === 'UNKNOWN_TOPIC' || code === 'UNKNOWN_PARTITION') {
      await server.waitForRequests(1);
      server.respond(server.take('describeTopic'), threePartitions);
    } else {
      expect(await settlesSoon(put)).toBe(true);
    }
    await put;
    const flushed = producer.flush();
    const next = await nextPart(server);
    // Sent once, in this life: the broker refused it, so its sequences are not spent.
    expect(readBatchHeader(next.data)).toMatchObject({ producerId: 7n, baseSequence: 0 });
    server.respond(next, { baseOffset: '0', lastOffset: '0', duplicate: false });
    await flushed;
    expect(producer.stats).toMatchObject({ poisonedParts: 1, sentBatches: 2, wal: { records: 0 } });
    await producer.close();
  });
});

describe('WalSender resuming its producer id at an open', () => {
  /** A producer that delivered one batch under id 7 of incarnation `incarnation`, closed and opened again, its resume request waiting. */
  const reopened = async (incarnation: string | undefined) => {
    const { server, producer: before, open } = await setup();
    await putKeyA(server, before, 'a', true);
    const delivered = before.flush();
    await server.waitForRequests(1);
    server.respond(server.take('initProducer'), { producerId: '7', producerEpoch: 0, ...(incarnation !== undefined && { incarnation }) });
    server.respond(await nextPart(server), { baseOffset: '0', lastOffset: '0', duplicate: false });
    await delivered;
    await before.close();
    const producer = await open();
    await putKeyA(server, producer, 'b', true); // a new process looks the topic up again
    const flushed = producer.flush().catch((error: unknown) => error);
    await server.waitForRequests(1);
    return { server, producer, flushed, resume: server.take('initProducer') };
  };

  it.each([['inc-a', { producerId: '7', incarnation: 'inc-a' }], [undefined, { producerId: '7' }]])(
    'asks the broker for its own id, with the incarnation it was issued under (%s)', async (incarnation, request) => {
      const { server, producer, flushed, resume } = await reopened(incarnation);
      expect(resume.json).toEqual({ op: 'initProducer', ...request });
      server.respond(resume, { producerId: '7', producerEpoch: 0, ...(incarnation !== undefined && { incarnation }) });
      const next = await nextPart(server);
      expect(readBatchHeader(next.data)).toMatchObject({ producerId: 7n, baseSequence: 1 });
      expect(next.json['incarnation']).toBe(incarnation); // a broker on another data directory refuses it
      server.respond(next, { baseOffset: '1', lastOffset: '1', duplicate: false });
      expect(await flushed).toBeUndefined();
      await producer.close();
    });

  it('stops with PRODUCER_FENCED, naming the way out, when the broker has its id at a newer epoch: nothing sent', async () => {
    const { server, producer, flushed, resume } = await reopened('inc-a');
    server.respond(resume, { producerId: '7', producerEpoch: 1, incarnation: 'inc-a' });
    const fenced = { code: 'PRODUCER_FENCED', details: { producerId: 7n, producerEpoch: 0, currentEpoch: 1 } };
    expect(await flushed).toMatchObject(fenced);
    expect((await flushed as Error).message).toMatch(/epoch 1, this WAL at 0: .*forgetWalProducerId, brook wal forget-producer-id/);
    expect(await settlesSoon(server.waitForRequests(1))).toBe(false);
    expect(producer.stats).toMatchObject({ sentBatches: 0, wal: { records: 1 } });
    await producer.close();
  });
});
