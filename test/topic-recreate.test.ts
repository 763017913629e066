/**
 * A client using a topic that is deleted, and created again under the same name: its
 * subscriptions end with UNKNOWN_TOPIC (their `ended` and their messages' acks and rejects say so), and its
 * producer goes on with the new topic, without duplicates (docs/semantics.md, "Deleting a topic").
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { VirtualClock, partitionForKey } from '@brook/protocol';
import type { Message, PoisonReport } from '@brook/client';
import { deferred, describeOnEachTarget, unique } from './fixtures/client-targets.js';

/** A key the default partitioner sends to `partition` of `partitions`. */
function keyFor(partition: number, partitions: number): string {
  for (let i = 0; ; i++) if (partitionForKey(new TextEncoder().encode(`k${i}`), partitions) === partition) return `k${i}`;
}

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
    // A handler learns it only through `ended`; a loop through next() and `ended` both.
    await expect(subscription.ended).rejects.toMatchObject({ code: 'UNKNOWN_TOPIC' });
    await expect(stream.ended).rejects.toMatchObject({ code: 'UNKNOWN_TOPIC' });
    await expect(held[0]!.ack()).rejects.toMatchObject({ code: 'UNKNOWN_TOPIC' });
    await expect(held[1]!.reject('too late')).rejects.toMatchObject({ code: 'UNKNOWN_TOPIC' });
    await subscription.close();
  });

  it("ends its tail readers with UNKNOWN_TOPIC; their messages' ack() and reject() resolve (no acks kept), in process and over the client alike", async () => {
    const subscribers = [
      ['client', suite.client.subscribe.bind(suite.client)],
      ['broker', suite.target.broker.subscribe.bind(suite.target.broker)],
    ] as const;
    for (const [api, subscribe] of subscribers) {
      const topic = await suite.topic();
      await suite.client.producer().send(topic, [{ value: 'a' }, { value: 'b' }]);
      const held: { ack(): Promise<void>; reject(reason: string): Promise<void> }[] = [];
      const both = deferred();
      const subscription = await subscribe({ topic, from: 'earliest' }, (message) => {
        held.push(message);
        if (held.length === 2) both.resolve();
        return new Promise(() => undefined);
      });
      await both.promise;

      await suite.client.admin.deleteTopic(topic);

      await expect(subscription.ended, api).rejects.toMatchObject({ code: 'UNKNOWN_TOPIC' });
      await expect(held[0]!.ack(), api).resolves.toBeUndefined();
      await expect(held[1]!.reject('too late'), api).resolves.toBeUndefined();
      await subscription.close();
    }
  });

  it('a producer whose topic another client brings back with fewer partitions: one send fails with UNKNOWN_PARTITION, the next goes by the new count', async () => {
    const topic = await suite.topic(2);
    const producer = suite.client.producer();
    const key = keyFor(1, 2);
    expect(await producer.send(topic, [{ key, value: 'old' }])).toEqual([{ partition: 1, offset: 0n }]);
    // Not through this client's admin, which would drop the producer's cached partition count.
    await suite.target.broker.deleteTopic(topic);
    await suite.target.broker.createTopic(topic, { partitions: 1 });

    await expect(producer.send(topic, [{ key, value: 'lost' }])).rejects.toMatchObject({ code: 'UNKNOWN_PARTITION' });
    expect(await producer.send(topic, [{ key, value: 'new' }])).toEqual([{ partition: 0, offset: 0n }]);
    expect(values(await suite.target.broker.fetch({ topic, partition: 0, offset: 0n }))).toEqual(['new']);
  });

  it('a producer whose topic another client brings back with more partitions: a send naming a new partition fails once with UNKNOWN_PARTITION, the next one goes', async () => {
    const topic = await suite.topic(1);
    const producer = suite.client.producer();
    expect(await producer.send(topic, [{ value: 'old' }])).toEqual([{ partition: 0, offset: 0n }]);
    await suite.target.broker.deleteTopic(topic);
    await suite.target.broker.createTopic(topic, { partitions: 2 });

    await expect(producer.send(topic, [{ value: 'early', partition: 1 }])).rejects.toMatchObject({ code: 'UNKNOWN_PARTITION' });
    expect(await producer.send(topic, [{ value: 'new', partition: 1 }])).toEqual([{ partition: 1, offset: 0n }]);
    expect(values(await suite.target.broker.fetch({ topic, partition: 1, offset: 0n }))).toEqual(['new']);
  });

  it('a producer whose topic another client brings back with more partitions puts keys where Broker.produce does, from the send after the one that found the topic new', async () => {
    const topic = await suite.topic(1);
    const producer = suite.client.producer();
    const key = keyFor(1, 2);
    expect(await producer.send(topic, [{ key, value: 'old' }])).toEqual([{ partition: 0, offset: 0n }]);
    await suite.target.broker.deleteTopic(topic);
    await suite.target.broker.createTopic(topic, { partitions: 2 });

    // This send's partition was chosen by the old count; its answer (the producer id is unknown
    // to the new topic) says the topic is new, so the next send looks the count up again.
    await producer.send(topic, [{ key, value: 'first' }]);
    expect(await producer.send(topic, [{ key, value: 'new' }])).toEqual([(await suite.target.broker.produce(topic, [{ key, value: 'in process' }]))[0]!.partition].map((partition) => ({ partition, offset: expect.any(BigInt) })));
  });

  it('a WAL producer whose topic comes back with fewer partitions: the part routed by the old count is set aside, later sends go by the new count', async () => {
    const topic = await suite.topic(2);
    const dir = await mkdtemp(join(tmpdir(), 'brook-recreate-wal-'));
    try {
      const producer = suite.client.producer({ wal: { dir } });
      const key = keyFor(1, 2);
      expect(await producer.send(topic, [{ key, value: 'old' }])).toEqual([{ topic, partition: 1 }]);
      await producer.flush();
      await suite.target.broker.deleteTopic(topic);
      await suite.target.broker.createTopic(topic, { partitions: 1 });

      const poisoned = new Promise<PoisonReport>((resolve) => producer.once('poison', resolve));
      await producer.send(topic, [{ key, value: 'lost' }]); // routed by the old count when put
      expect((await poisoned).error.code).toBe('UNKNOWN_PARTITION');
      expect(await producer.send(topic, [{ key, value: 'new' }])).toEqual([{ topic, partition: 0 }]);
      await producer.flush();
      expect(values(await suite.target.broker.fetch({ topic, partition: 0, offset: 0n }))).toEqual(['new']);
      await producer.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a WAL producer whose topic comes back with more partitions puts keys by the new count from the send after the batch whose answer found the topic new', async () => {
    const topic = await suite.topic(1);
    const dir = await mkdtemp(join(tmpdir(), 'brook-recreate-wal-'));
    try {
      const producer = suite.client.producer({ wal: { dir } });
      const key = keyFor(1, 2);
      expect(await producer.send(topic, [{ key, value: 'old' }])).toEqual([{ topic, partition: 0 }]);
      await producer.flush();
      await suite.target.broker.deleteTopic(topic);
      await suite.target.broker.createTopic(topic, { partitions: 2 });

      // Routed by the old count; its answer (our sequence is unknown to the new topic) says the
      // topic is new: it goes under a fresh id, and the next send looks the count up again.
      expect(await producer.send(topic, [{ key, value: 'first' }])).toEqual([{ topic, partition: 0 }]);
      await producer.flush();
      expect(await producer.send(topic, [{ key, value: 'new' }])).toEqual([{ topic, partition: 1 }]);
      await producer.flush();
      expect(values(await suite.target.broker.fetch({ topic, partition: 0, offset: 0n }))).toEqual(['first']);
      expect(values(await suite.target.broker.fetch({ topic, partition: 1, offset: 0n }))).toEqual(['new']);
      await producer.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
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

  it('a producer without idempotence, which no answer tells that its topic came back with more partitions, puts keys by the new count once its count is metadataMaxAgeMs old', async () => {
    const topic = await suite.topic(1);
    const clock = new VirtualClock({ startMs: Date.now() });
    await using client = await suite.target.connect({ clock, heartbeatIntervalMs: 0 });
    const producer = client.producer({ idempotent: false });
    const key = keyFor(1, 2);
    expect(await producer.send(topic, [{ key, value: 'old' }])).toEqual([{ partition: 0, offset: 0n }]);
    await suite.target.broker.deleteTopic(topic);
    await suite.target.broker.createTopic(topic, { partitions: 2 });

    // Partition 0 of the new topic takes them: nothing says the count changed.
    expect(await producer.send(topic, [{ key, value: 'by the old count' }])).toEqual([{ partition: 0, offset: 0n }]);
    clock.advance(299_999); // metadataMaxAgeMs defaults to 5 minutes, as Kafka's metadata.max.age.ms
    expect(await producer.send(topic, [{ key, value: 'by the old count' }])).toEqual([{ partition: 0, offset: 1n }]);
    clock.advance(1); // the count is metadataMaxAgeMs old: this send goes by it, and looks it up again meanwhile
    expect(await producer.send(topic, [{ key, value: 'by the old count' }])).toEqual([{ partition: 0, offset: 2n }]);
    await client.admin.describeTopic(topic); // answered after the producer's lookup, asked before it on the same connection
    expect(await producer.send(topic, [{ key, value: 'new' }])).toEqual([{ partition: 1, offset: 0n }]);
    expect((await suite.target.broker.produce(topic, [{ key, value: 'in process' }]))[0]!.partition).toBe(1);
  });

  it('records lingering for a partition the topic no longer has when a producer learns its smaller count are sent (and refused UNKNOWN_PARTITION), not left until deliveryTimeoutMs', async () => {
    const topic = await suite.topic(2);
    const clock = new VirtualClock({ startMs: Date.now() });
    await using client = await suite.target.connect({ clock, heartbeatIntervalMs: 0 });
    const producer = client.producer({ idempotent: false, lingerMs: 50 });
    const first = producer.send(topic, [{ value: 'counted' }]);
    await producer.flush();
    await first;
    await suite.target.broker.deleteTopic(topic);
    await suite.target.broker.createTopic(topic, { partitions: 1 });

    clock.advance(299_990);
    const lingering = producer.send(topic, [{ partition: 1, value: 'to partition 1, gone' }]);
    const outcome = lingering.catch((error: unknown) => error);
    clock.advance(10); // the count is metadataMaxAgeMs old: the next send looks it up (1), the linger has 40 ms to go
    const stale = producer.send(topic, [{ partition: 0, value: 'by the old count' }]);
    await client.admin.describeTopic(topic); // answered after the producer's lookup, asked before it on the same connection
    const next = producer.send(topic, [{ value: 'by the new count' }]);
    await producer.flush();
    expect([await stale, await next]).toEqual([[{ partition: 0, offset: 0n }], [{ partition: 0, offset: 1n }]]);
    expect(await outcome).toMatchObject({ code: 'UNKNOWN_PARTITION' });
  }, 10_000);

  it('a WAL producer puts keys by the new count of a topic that came back with more partitions once its count is metadataMaxAgeMs old', async () => {
    const topic = await suite.topic(1);
    const dir = await mkdtemp(join(tmpdir(), 'brook-recreate-wal-'));
    const clock = new VirtualClock({ startMs: Date.now() });
    try {
      await using client = await suite.target.connect({ clock, heartbeatIntervalMs: 0 });
      const producer = client.producer({ wal: { dir } });
      const key = keyFor(1, 2);
      expect(await producer.send(topic, [{ key, value: 'old' }])).toEqual([{ topic, partition: 0 }]);
      await producer.flush();
      await suite.target.broker.deleteTopic(topic);
      await suite.target.broker.createTopic(topic, { partitions: 2 });

      clock.advance(299_999);
      expect(await producer.send(topic, [{ key, value: 'by the old count' }])).toEqual([{ topic, partition: 0 }]);
      clock.advance(1); // the count is metadataMaxAgeMs old: this put goes by it, and looks it up again meanwhile
      expect(await producer.send(topic, [{ key, value: 'by the old count' }])).toEqual([{ topic, partition: 0 }]);
      await client.admin.describeTopic(topic); // answered after the producer's lookup, asked before it on the same connection
      expect(await producer.send(topic, [{ key, value: 'new' }])).toEqual([{ topic, partition: 1 }]);
      await producer.flush();
      expect(values(await suite.target.broker.fetch({ topic, partition: 1, offset: 0n }))).toEqual(['new']);
      await producer.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
