/**
 * Retention overtaking a tail reader, through the client on both transports: the reader is told
 * as a group is (a `retentionDropped` event naming it on the broker, and its own
 * `lostToRetention`, which reaches the client with the next delivery) and goes on at startOffset.
 */
import { expect, it } from 'vitest';
import { describeOnEachTarget, unique } from './fixtures/client-targets.js';

describeOnEachTarget('a client tail reader overtaken by retention', (suite) => {
  /** A topic whose retention keeps two 4 KiB segments, and 100 records of ~200 bytes. */
  async function overtakenTopic(): Promise<string> {
    const topic = unique('t');
    await suite.target.broker.createTopic(topic, { segmentBytesMax: 4096, retention: { maxBytes: 8192 } });
    for (let i = 0; i < 100; i++) await suite.target.broker.produce(topic, [{ value: `m${i}`.padEnd(200, '.') }]);
    return topic;
  }

  it('is told how many records it lost and goes on at startOffset', async () => {
    const topic = await overtakenTopic();
    const told: unknown[] = [];
    const listener = (e: { reader?: string }) => void (e.reader !== undefined && told.push(e));
    suite.target.broker.on('retentionDropped', listener);
    await using stream = suite.client.consume({ topic, from: 'earliest', maxInFlight: 1 });
    const messages = stream[Symbol.asyncIterator]();
    const first = (await messages.next()).value!;
    expect(first.offset).toBe(0n);
    await suite.target.broker.enforceRetention();
    const { startOffset } = suite.target.broker.describeTopic(topic).partitions[0]!;
    await first.ack();
    const next = (await messages.next()).value!;
    suite.target.broker.off('retentionDropped', listener);
    expect(next.offset).toBe(startOffset);
    expect(stream.memberId).toMatch(/^reader-/);
    expect(stream.lostToRetention).toBe(startOffset - 1n);
    expect(told).toEqual([{ topic, partition: 0, startOffset, reader: stream.memberId, lostRecords: startOffset - 1n }]);
  });

  it('a consume() loop of a tail reader counts from 0n before it has joined, in process as over the client', async () => {
    const topic = unique('t');
    await suite.target.broker.createTopic(topic);
    const streams = [suite.client.consume({ topic }), suite.target.broker.consume({ topic })];
    expect(streams.map((stream) => stream.lostToRetention)).toEqual([0n, 0n]);
    for (const stream of streams) {
      await stream.ready;
      expect(stream.lostToRetention).toBe(0n);
      stream.abort();
    }
  });

  it('a group member has no count of its own (describeGroup has the group\'s)', async () => {
    const topic = await overtakenTopic();
    const member = await suite.client.subscribe({ topic, group: unique('g') }, () => undefined);
    expect(member.lostToRetention).toBeUndefined();
    await member.close();
  });
});
