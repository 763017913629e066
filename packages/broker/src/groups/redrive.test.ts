/**
 * Redrive (docs/semantics.md "Redrive"): dead-lettered records go back to their origin topic
 * as they were. Through the broker's API on the virtual clock.
 */
import { describe, expect, it } from 'vitest';
import type { Broker } from '../broker.js';
import { engineFixture } from './group-fixture.js';

/** Produces `records` to `topic` and has group `group` reject each, waiting until all are dead-lettered. */
async function deadLetter(
  fixture: Awaited<ReturnType<typeof engineFixture>>, topic: string, group: string,
  records: Parameters<Broker['produce']>[1], deadLetterTopic = `${topic}.dlq`,
): Promise<void> {
  const { broker, settle } = fixture;
  await broker.produce(topic, records);
  const sub = await broker.subscribe({ topic, group, deadLetterTopic }, (d) => d.reject('bad'));
  await settle(() => broker.describeGroup(topic, group).lag === 0n);
  await sub.close();
}

describe('redrive', () => {
  it('restores the record\'s own headers, even ones named like the broker\'s, and reads the origin from the broker\'s', async () => {
    const fixture = await engineFixture();
    const { broker } = fixture;
    await broker.createTopic('look-alike');
    const headers = [
      { key: 'brook.reason', value: new TextEncoder().encode('mine') },
      { key: 'brook.origin.topic', value: new TextEncoder().encode('elsewhere') },
      { key: 'trace', value: null },
    ];
    await deadLetter(fixture, 'look-alike', 'g-look-alike', [{ value: 'v', headers, timestamp: 1234 }]);
    expect(await broker.redrive('look-alike.dlq')).toBe(1);
    const [back] = await broker.fetch({ topic: 'look-alike', partition: 0, offset: 1n });
    expect(back!.headers).toEqual(headers);
    expect(back!.timestamp).toBe(1234);
  });
});
