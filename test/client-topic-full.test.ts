/**
 * The client's producer against a full `discard: 'new'` topic (docs/semantics.md, retention):
 * TOPIC_FULL is retriable, so a send is retried with backoff until the topic has room (the group
 * caught up) or deliveryTimeoutMs ends it with TIMEOUT; either way nothing is appended twice.
 * In process, on a VirtualClock.
 */
import { describe, expect, it } from 'vitest';
import { Broker } from '@brook/broker';
import { connect, type Client } from '@brook/client';
import { VirtualClock } from '@brook/protocol';
import { closeAfterEach } from './fixtures/close-after-each.js';

const opened = closeAfterEach();

/** Lets the client and broker run, moving the clock to each next timer, until `done()`. */
async function runUntil(clock: VirtualClock, done: () => boolean): Promise<void> {
  for (let turn = 0; turn < 1000 && !done(); turn++) {
    await new Promise((resolve) => setImmediate(resolve));
    const next = clock.nextTimerAtMs();
    if (next !== undefined) await clock.advanceAsync(Math.max(0, next - clock.now()));
  }
  expect(done()).toBe(true);
}

/** A full topic whose one group holds (never acks) its first record. */
async function fullTopic(topic: string): Promise<{ broker: Broker; client: Client; clock: VirtualClock; values: () => Promise<string[]> }> {
  const clock = new VirtualClock();
  const broker = opened(await Broker.open({ storage: 'memory', clock }));
  await broker.createTopic(topic, { segmentBytesMax: 4096, retention: { maxBytes: 8192, discard: 'new' } });
  await broker.subscribe({ topic, group: 'slow', maxInFlight: 1 }, () => new Promise(() => undefined));
  await expect((async () => {
    for (let n = 0; n < 1000; n++) await broker.produce(topic, [{ value: 'x'.repeat(200) }]); // 8 KiB hold far fewer
  })()).rejects.toMatchObject({ code: 'TOPIC_FULL' });
  const client = opened(await connect(broker, { clock }));
  const values = async () => {
    const { startOffset } = broker.describeTopic(topic).partitions[0]!;
    const records = await broker.fetch({ topic, partition: 0, offset: startOffset });
    return records.map((r) => new TextDecoder().decode(r.value!)).filter((v) => !v.startsWith('x'));
  };
  return { broker, client, clock, values };
}

describe('the producer and a full topic', () => {
  it('retries TOPIC_FULL until deliveryTimeoutMs, then fails with TIMEOUT, having appended nothing', async () => {
    const { client, clock, values } = await fullTopic('full-timeout');
    const producer = client.producer({ deliveryTimeoutMs: 1000 });
    let outcome: unknown;
    producer.send('full-timeout', [{ value: 'late' }]).then((r) => (outcome = r), (e: unknown) => (outcome = e));
    await runUntil(clock, () => outcome !== undefined);
    // It says why it kept failing: a full topic, not a slow broker.
    expect(outcome).toMatchObject({ code: 'TIMEOUT', details: { deliveryTimeoutMs: 1000, lastError: 'TOPIC_FULL' }, cause: { code: 'TOPIC_FULL' } });
    expect(clock.now()).toBeGreaterThanOrEqual(1000);
    expect(await values()).toEqual([]);
  });

  it('goes through, once, when the group catches up while it retries', async () => {
    const { broker, client, clock, values } = await fullTopic('full-frees');
    const producer = client.producer({ deliveryTimeoutMs: 60_000 });
    let outcome: unknown;
    producer.send('full-frees', [{ value: 'waited' }]).then((r) => (outcome = r), (e: unknown) => (outcome = e));
    await runUntil(clock, () => clock.now() >= 3000);
    expect(outcome).toBeUndefined();
    await broker.resetGroup('full-frees', 'slow', 'latest'); // as if it had consumed everything
    await runUntil(clock, () => outcome !== undefined);
    expect(outcome).toEqual([{ partition: 0, offset: expect.any(BigInt) as unknown }]);
    expect(await values()).toEqual(['waited']);
  });

  it('does not merge sends that each fit into one batch the topic could never take (MESSAGE_TOO_LARGE, not retriable)', async () => {
    const clock = new VirtualClock();
    const broker = opened(await Broker.open({ storage: 'memory', clock }));
    const topic = 'full-merged-sends';
    await broker.createTopic(topic, { segmentBytesMax: 4096, retention: { maxBytes: 8192, discard: 'new' } });
    await broker.subscribe({ topic, group: 'keeps-up' }, () => undefined);
    const client = opened(await connect(broker, { clock }));
    const producer = client.producer({ deliveryTimeoutMs: 60_000 });
    // Three sends of about 3 KB in one tick: any two fit in 8 KiB, all three in one batch never do.
    const outcomes: unknown[] = [];
    for (const digit of ['1', '2', '3']) producer.send(topic, [{ value: digit.repeat(3000) }]).then(() => outcomes.push('sent'), (e: unknown) => outcomes.push(e));
    await runUntil(clock, () => outcomes.length === 3);
    expect(outcomes).toEqual(['sent', 'sent', 'sent']);
    expect(broker.describeTopic(topic).partitions[0]!.endOffset).toBe(3n);
  });
});

describe('sends merged into a batch the topic has room for only in part', () => {
  it('a send that fits the room left goes, though the batch it was merged into does not fit', async () => {
    const clock = new VirtualClock();
    const broker = opened(await Broker.open({ storage: 'memory', clock }));
    const topic = 'full-partly';
    await broker.createTopic(topic, { segmentBytesMax: 4096, retention: { maxBytes: 8192, discard: 'new' } });
    await broker.subscribe({ topic, group: 'slow', maxInFlight: 1 }, () => new Promise(() => undefined));
    await broker.produce(topic, [{ value: 'x'.repeat(4000) }]); // room left for one of the sends below, not both
    const client = opened(await connect(broker, { clock }));
    const producer = client.producer({ deliveryTimeoutMs: 10_000 });
    const outcomes = new Map<string, unknown>();
    for (const digit of ['1', '2']) producer.send(topic, [{ value: digit.repeat(3000) }]).then((r) => outcomes.set(digit, r), (e: unknown) => outcomes.set(digit, e));
    await runUntil(clock, () => outcomes.size === 2);
    // As the sends alone would: the first goes, the second waits for room (which never comes here).
    expect(outcomes.get('1')).toEqual([{ partition: 0, offset: 1n }]);
    expect(outcomes.get('2')).toMatchObject({ code: 'TIMEOUT', details: { lastError: 'TOPIC_FULL' } });
    expect(broker.describeTopic(topic).partitions[0]!.endOffset).toBe(2n);
  });
});
