/**
 * A client using a topic that is deleted, and created again under the same name: its
 * subscriptions end with UNKNOWN_TOPIC (their messages' acks and rejects say so), and its
 * producer goes on with the new topic, without duplicates (docs/semantics.md, "Deleting a topic").
 */
import { expect, it } from 'vitest';
import type { Message } from '@brook/client';
import { deferred, describeOnEachTarget, unique } from './fixtures/client-targets.js';

const values = (records: { value: Uint8Array | null }[]) => records.map((r) => Buffer.from(r.value!).toString());

describeOnEachTarget('a deleted topic', (suite) => {
  it("ends its subscriptions with UNKNOWN_TOPIC, and its messages' ack() and reject() reject with it, not DISCONNECTED", async () => {
    const topic = await suite.topic();
    await suite.client.producer().send(topic, [{ value: 'a' }, { value: 'b' }]);
    const held: Message[] = [];
    const both = deferred();
    const subscription = await suite.client.subscribe({ topic, group: unique('g') }, (message) => {
      held.push(message);
      if (held.length === 2) both.resolve();
      return new Promise(() => undefined);
    });
    const stream = suite.client.consume({ topic, group: unique('g') });
    await stream.ready;
    const loop = (async () => {
      for await (const message of stream) void message;
    })();
    await both.promise;

    await suite.client.admin.deleteTopic(topic);

    await expect(loop).rejects.toMatchObject({ code: 'UNKNOWN_TOPIC' });
    await expect(held[0]!.ack()).rejects.toMatchObject({ code: 'UNKNOWN_TOPIC' });
    await expect(held[1]!.reject('too late')).rejects.toMatchObject({ code: 'UNKNOWN_TOPIC' });
    await subscription.close();
  });

  it('an idempotent producer goes on sending to the topic created again: each record once, none of the old topic', async () => {
    const topic = await suite.topic();
    const producer = suite.client.producer();
    for (const value of ['old-1', 'old-2', 'old-3']) await producer.send(topic, [{ value }]);
    await suite.target.broker.deleteTopic(topic);
    await suite.target.broker.createTopic(topic);

    expect(await producer.send(topic, [{ value: 'new-1' }, { value: 'new-2' }])).toEqual([0n, 1n].map((offset) => ({ partition: 0, offset })));
    expect(await producer.send(topic, [{ value: 'new-3' }])).toEqual([{ partition: 0, offset: 2n }]);
    expect(values(await suite.target.broker.fetch({ topic, partition: 0, offset: 0n }))).toEqual(['new-1', 'new-2', 'new-3']);
  });
});
