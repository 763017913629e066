/**
 * 'partition': a delivery a go-back or a rebalance takes back from a handler that had not failed
 * it still counts as a delivery (deliveryCount rises), but not as a failed attempt: it is never
 * dead-lettered for that take-back, and comes again even past maxDeliveries (docs/semantics.md,
 * "Redelivery"). All on the virtual clock.
 */
import { describe, expect, it } from 'vitest';
import type { Broker } from '../broker.js';
import { DEAD_LETTER_HEADERS } from './dead-letter.js';
import type { Delivery } from './delivery.js';
import { engineFixture, parking } from './group-fixture.js';

const utf8 = new TextDecoder();
const seen = (held: readonly Delivery[]) => held.map((d) => `${d.text()}#${d.deliveryCount}${d.redelivered ? ' redelivered' : ''}`);

/** The dead-letter copies in `topic`: value, then the brook.delivery-count and brook.reason headers. */
async function deadLetters(broker: Broker, topic: string): Promise<string[]> {
  const records = await broker.fetch({ topic, partition: 0, offset: 0n, maxRecords: 100 });
  const header = (record: (typeof records)[number], key: string) => utf8.decode(record.headers.find((h) => h.key === key)!.value!);
  return records.map((r) => `${utf8.decode(r.value!)} #${header(r, DEAD_LETTER_HEADERS.deliveryCount)} ${header(r, DEAD_LETTER_HEADERS.reason)}`);
}

describe("'partition': a take-back by a go-back or a rebalance is no failed attempt", () => {
  it('a go-back at the last allowed attempt does not dead-letter the later records: only the record that failed goes', async () => {
    const { broker, settle, advance } = await engineFixture();
    const topic = 'free-go-back';
    await broker.createTopic(topic);
    await broker.produce(topic, ['m0', 'm1', 'm2'].map((value) => ({ value })));
    const { held, handler } = parking();
    const dead: string[] = [];
    broker.on('deadLettered', (e) => dead.push(`${e.offset}#${e.deliveryCount} ${e.reason}`));
    const group = 'g-free-go-back';
    await broker.subscribe({ topic, group, ordering: 'partition', maxInFlight: 3, maxDeliveries: 2, backoff: { initialMs: 50, jitter: 0 } }, handler);
    await settle(() => held.length === 3);
    held[1]!.nack(); // m1 fails: m2 is taken back (goBack)
    await advance(50);
    await settle(() => held.length === 5);
    expect(seen(held.slice(3))).toEqual(['m1#2 redelivered', 'm2#2 redelivered']);
    held[0]!.nack(); // m0 fails: m1 and m2, on their last allowed attempt, are taken back (goBack)
    await settle();
    expect(dead).toEqual([]);
    await advance(100);
    await settle(() => held.length === 8);
    expect(seen(held.slice(5))).toEqual(['m0#2 redelivered', 'm1#3 redelivered', 'm2#3 redelivered']);
    expect(broker.describeGroup(topic, group).partitions[0]!.inFlight.map((f) => `${f.offset}#${f.deliveryCount}`)).toEqual(['0#2', '1#3', '2#3']);
    held[5]!.nack(); // m0 fails its last allowed attempt: dead-lettered; m1 and m2 stay with the handler
    await held[6]!.ack();
    await held[7]!.ack();
    await settle(() => broker.describeGroup(topic, group).lag === 0n);
    expect(dead).toEqual(['0#2 nack on attempt 2 of maxDeliveries 2']);
    expect(broker.describeGroup(topic, group).partitions[0]!.deadLettered).toBe(1);
    expect(await deadLetters(broker, `${topic}.dlq`)).toEqual(['m0 #2 nack on attempt 2 of maxDeliveries 2']);
  });

  it('a rebalance at the last allowed attempt delivers the record again (maxDeliveries + 1); it is dead-lettered once it then fails', async () => {
    const { broker, settle, advance } = await engineFixture();
    const topic = 'free-rebalance';
    await broker.createTopic(topic, { partitions: 2 });
    await broker.produce(topic, [{ value: 'r', partition: 1 }]);
    const first = parking();
    const second = parking();
    const group = 'g-free-rebalance';
    const options = { topic, group, ordering: 'partition' as const, maxDeliveries: 2, backoff: { initialMs: 50, jitter: 0 } };
    await broker.subscribe(options, first.handler);
    await settle(() => first.held.length === 1);
    first.held[0]!.nack();
    await advance(50);
    await settle(() => first.held.length === 2);
    expect(seen(first.held)).toEqual(['r#1', 'r#2 redelivered']);
    await broker.subscribe(options, second.handler); // takes partition 1, and r on its last allowed attempt
    await settle(() => second.held.length === 1);
    expect(first.held[1]!.stale).toBe(true);
    expect(seen(second.held)).toEqual(['r#3 redelivered']);
    const partition = broker.describeGroup(topic, group).partitions[1]!;
    expect(partition.inFlight.map((f) => `${f.offset}#${f.deliveryCount}`)).toEqual(['0#3']);
    expect(partition.deadLettered).toBe(0);
    second.held[0]!.nack();
    await settle(() => broker.describeGroup(topic, group).lag === 0n);
    expect(broker.describeGroup(topic, group).partitions[1]!.deadLettered).toBe(1);
    expect(await deadLetters(broker, `${topic}.dlq`)).toEqual(['r #3 nack on attempt 3 of maxDeliveries 2']);
  });

  it('an owed attempt given back before it reached the consumer (unread in a consume() queue) is still owed: read, it is #3, not dead-lettered', async () => {
    const { broker, settle, advance } = await engineFixture();
    const topic = 'free-unsent';
    await broker.createTopic(topic, { partitions: 2 });
    await broker.produce(topic, [{ value: 'r', partition: 1 }]);
    const first = parking();
    const group = 'g-free-unsent';
    const ackTimeoutMs = 1000;
    const options = { topic, group, ordering: 'partition' as const, ackTimeoutMs, maxDeliveries: 2, backoff: { initialMs: 50, jitter: 0 } };
    const dead: string[] = [];
    broker.on('deadLettered', (e) => dead.push(e.reason));
    await broker.subscribe(options, first.handler);
    await settle(() => first.held.length === 1);
    first.held[0]!.nack();
    await advance(50);
    await settle(() => first.held.length === 2);
    let delivered = 0;
    broker.on('delivered', () => void (delivered += 1));
    const stream = broker.consume({ ...options, maxInFlight: 2 }); // takes partition 1, and r on its last allowed attempt
    await settle(() => delivered === 1);
    await advance(ackTimeoutMs); // r#3 waited unread for a whole lease: given back, no attempt
    await settle();
    expect(dead).toEqual([]);
    const delivery = (await stream[Symbol.asyncIterator]().next()).value as Delivery;
    expect(`${delivery.text()}#${delivery.deliveryCount}`).toBe('r#3');
    await delivery.ack();
    expect(broker.describeGroup(topic, group).partitions[1]).toMatchObject({ lag: 0n, deadLettered: 0 });
    stream.abort();
  });

  it('the owed attempt is not durable: after a restart a record taken back on its last allowed attempt is dead-lettered (interrupted)', async () => {
    const fixture = await engineFixture();
    const topic = 'free-restart';
    await fixture.broker.createTopic(topic);
    await fixture.broker.produce(topic, ['m0', 'm1'].map((value) => ({ value })));
    const { held, handler } = parking();
    const group = 'g-free-restart';
    const options = { topic, group, ordering: 'partition' as const, maxInFlight: 2, maxDeliveries: 2, backoff: { initialMs: 50, jitter: 0 } };
    await fixture.broker.subscribe(options, handler);
    await fixture.settle(() => held.length === 2);
    held[1]!.nack();
    await fixture.advance(50);
    await fixture.settle(() => held.length === 3);
    held[0]!.nack(); // m1, on its last allowed attempt, is taken back (goBack): owed, waiting behind m0
    await fixture.settle();
    const broker = await fixture.restart();
    const dead: string[] = [];
    broker.on('deadLettered', (e) => dead.push(`${e.offset}#${e.deliveryCount} ${e.reason}`));
    const after = parking();
    await broker.subscribe(options, after.handler);
    await fixture.settle(() => dead.length === 1 && after.held.length === 1);
    expect(dead).toEqual(['1#2 interrupted on attempt 2 of maxDeliveries 2']);
    expect(seen(after.held)).toEqual(['m0#2 redelivered']);
  });
});
