/**
 * The broker's events tell the truth: one event per occurrence, with the fields describeGroup
 * agrees with, in order, and none for stale settlements or from a group that is gone.
 */
import { describe, expect, it } from 'vitest';
import type { BrokerEvents, BrokerEventName } from './events.js';
import type { Delivery } from './groups/delivery.js';
import { engineFixture } from './groups/group-fixture.js';
import { deadLetterTrailer } from './groups/dead-letter-trailer.test-support.js';

const NAMES: BrokerEventName[] = [
  'produced', 'delivered', 'acked', 'nacked', 'leaseExpired', 'redelivered', 'deadLettered', 'rebalanced', 'retentionDropped', 'groupReset', 'groupDeleted',
  'topicCreated', 'topicDeleted',
];

type Heard = { [N in BrokerEventName]: { name: N } & Parameters<BrokerEvents[N]>[0] }[BrokerEventName];

/** Every event the broker emits, in order. */
function listen(broker: Awaited<ReturnType<typeof engineFixture>>['broker']): Heard[] {
  const heard: Heard[] = [];
  for (const name of NAMES) broker.on(name, (event: object) => void heard.push({ name, ...event } as Heard));
  return heard;
}

function parking() {
  const held: Delivery[] = [];
  return { held, handler: (d: Delivery) => { held.push(d); return new Promise<void>(() => undefined); } };
}

describe('events', () => {
  it('nack: nacked, then redelivered with its backoff, then delivered with the next deliveryCount', async () => {
    const { broker, settle, advance } = await engineFixture();
    await broker.createTopic('ev-nack');
    const heard = listen(broker);
    await broker.produce('ev-nack', [{ value: 'a' }]);
    const { held, handler } = parking();
    await broker.subscribe({ topic: 'ev-nack', group: 'g-nack', backoff: { initialMs: 500, jitter: 0 } }, handler);
    await settle(() => held.length === 1);
    held[0]!.nack();
    held[0]!.nack(); // a second settlement of the same delivery is nothing new
    await advance(500);
    await settle(() => held.length === 2);
    await held[0]!.ack().catch(() => undefined); // stale
    await held[1]!.ack();
    const ref = { topic: 'ev-nack', group: 'g-nack', partition: 0, offset: 0n };
    expect(heard.map((e) => e.name)).toEqual(['produced', 'delivered', 'nacked', 'redelivered', 'delivered', 'acked']);
    expect(heard[1]).toMatchObject({ ...ref, deliveryCount: 1, redelivered: false });
    expect(heard[2]).toMatchObject({ ...ref, deliveryCount: 1, delayMs: undefined });
    expect(heard[3]).toMatchObject({ ...ref, reason: 'nack', nextDeliveryCount: 2, delayMs: 500 });
    expect(heard[4]).toMatchObject({ ...ref, deliveryCount: 2, redelivered: true });
    expect(heard[5]).toMatchObject({ ...ref, deliveryCount: 2 });
    expect(broker.describeGroup('ev-nack', 'g-nack').partitions[0]).toMatchObject({ ackFloor: 1n, lag: 0n, redeliveries: 1, inFlight: [] });
  });

  it.each([
    ['a handler that throws', undefined, 100, 'Error: again'],
    ['nack({ delayMs })', 300, 300, undefined],
    ['nack({ delayMs, reason })', 300, 300, 'card declined'],
  ] as const)('%s: nacked with the delay asked for and the reason (what it threw), redelivered after it (or the backoff)', async (_what, delayMs, waited, reason) => {
    const { broker, settle, advance } = await engineFixture();
    await broker.createTopic('ev-throw');
    await broker.produce('ev-throw', [{ value: 'a' }]);
    const heard = listen(broker);
    const held: Delivery[] = [];
    await broker.subscribe({ topic: 'ev-throw', group: 'g-throw', backoff: { initialMs: 100, jitter: 0 } }, (d) => {
      held.push(d);
      if (held.length > 1) return;
      if (delayMs === undefined) throw new Error('again');
      d.nack(reason === undefined ? { delayMs } : { delayMs, reason });
    });
    await settle(() => held.length === 1);
    await advance(waited - 1);
    expect(held).toHaveLength(1);
    await advance(1);
    await settle(() => broker.describeGroup('ev-throw', 'g-throw').lag === 0n);
    const ref = { topic: 'ev-throw', group: 'g-throw', partition: 0, offset: 0n };
    expect(heard.map((e) => e.name)).toEqual(['delivered', 'nacked', 'redelivered', 'delivered', 'acked']);
    // No `reason` key at all for a nack that gave none.
    expect(heard[1]).toStrictEqual({ name: 'nacked', ...ref, member: 'g-throw-0', deliveryCount: 1, delayMs, ...(reason !== undefined && { reason }) });
    expect(heard[2]).toEqual({ name: 'redelivered', ...ref, reason: 'nack', nextDeliveryCount: 2, delayMs: waited });
    expect(heard[4]).toMatchObject({ ...ref, deliveryCount: 2 });
  });

  it('extend: no event; the lease runs out at the new deadline, where describeGroup put it', async () => {
    const { broker, settle, advance, clock } = await engineFixture();
    await broker.createTopic('ev-extend');
    await broker.produce('ev-extend', [{ value: 'a' }]);
    const heard = listen(broker);
    const { held, handler } = parking();
    await broker.subscribe({ topic: 'ev-extend', group: 'g-extend', ackTimeoutMs: 1000 }, handler);
    await settle(() => held.length === 1);
    await advance(500);
    await held[0]!.extend(2000);
    expect(broker.describeGroup('ev-extend', 'g-extend').partitions[0]!.inFlight[0]!.leaseDeadlineMs).toBe(clock.now() + 2000);
    await advance(1999);
    expect(heard.map((e) => e.name)).toEqual(['delivered']);
    await advance(1);
    expect(heard.map((e) => e.name)).toEqual(['delivered', 'leaseExpired', 'redelivered']);
  });

  it('a member that crashes (abort): each delivery it held is redelivered \'memberLeft\' at once, with no leaseExpired or nacked', async () => {
    const { broker, settle } = await engineFixture();
    await broker.createTopic('ev-abort');
    await broker.produce('ev-abort', [{ value: 'a' }, { value: 'b' }]);
    const { held, handler } = parking();
    const crashing = await broker.subscribe({ topic: 'ev-abort', group: 'g-abort', ackTimeoutMs: 1000, backoff: { initialMs: 500 } }, handler);
    await settle(() => held.length === 2);
    const heard = listen(broker);
    crashing.abort();
    await settle();
    await held[0]!.ack().catch(() => undefined); // stale: its member is gone
    expect(heard).toEqual([0n, 1n].map((offset) => ({
      name: 'redelivered', topic: 'ev-abort', group: 'g-abort', partition: 0, offset, reason: 'memberLeft', nextDeliveryCount: 2, delayMs: 0,
    })));
    expect(broker.describeGroup('ev-abort', 'g-abort').partitions[0]).toMatchObject({ redeliveries: 2, inFlight: [], ackFloor: 0n });
  });

  it('lease expiry on the last attempt: leaseExpired, then deadLettered saying so, and no redelivered', async () => {
    const { broker, settle, advance } = await engineFixture();
    await broker.createTopic('ev-last');
    await broker.createTopic('ev-last.dead');
    await broker.produce('ev-last', [{ value: 'a' }]);
    const { held, handler } = parking();
    await broker.subscribe({ topic: 'ev-last', group: 'g-last', ackTimeoutMs: 1000, maxDeliveries: 1, deadLetterTopic: 'ev-last.dead' }, handler);
    await settle(() => held.length === 1);
    const heard = listen(broker);
    await advance(1000);
    await settle(() => broker.describeGroup('ev-last', 'g-last').lag === 0n);
    expect(heard.filter((e) => e.name !== 'produced').map((e) => e.name)).toEqual(['leaseExpired', 'deadLettered']);
    expect(heard.find((e) => e.name === 'deadLettered')).toMatchObject({
      offset: 0n, deliveryCount: 1, reason: 'leaseExpired on attempt 1 of maxDeliveries 1', deadLetterTopic: 'ev-last.dead', deadLetterOffset: 0n,
    });
    expect(broker.describeGroup('ev-last', 'g-last').partitions[0]).toMatchObject({ deadLettered: 1, redeliveries: 0 });
  });

  it('lease expiry: leaseExpired then redelivered; describeGroup shows the new attempt and its deadline', async () => {
    const { broker, settle, advance, clock } = await engineFixture();
    await broker.createTopic('ev-lease');
    await broker.produce('ev-lease', [{ value: 'a' }]);
    const heard = listen(broker);
    const { held, handler } = parking();
    await broker.subscribe({ topic: 'ev-lease', group: 'g-lease', ackTimeoutMs: 1000, backoff: { initialMs: 100, jitter: 0 } }, handler);
    await settle(() => held.length === 1);
    await advance(1000);
    await advance(100);
    await settle(() => held.length === 2);
    await expect(held[0]!.ack()).rejects.toMatchObject({ code: 'DELIVERY_STALE' });
    held[0]!.nack();
    expect(heard.map((e) => e.name)).toEqual(['delivered', 'leaseExpired', 'redelivered', 'delivered']);
    expect(heard[1]).toMatchObject({ offset: 0n, deliveryCount: 1, member: 'g-lease-0' });
    expect(heard[2]).toMatchObject({ reason: 'leaseExpired', nextDeliveryCount: 2, delayMs: 100 });
    const last = heard[3] as Parameters<BrokerEvents['delivered']>[0];
    expect(broker.describeGroup('ev-lease', 'g-lease').partitions[0]!.inFlight).toEqual([
      { offset: 0n, member: last.member, deliveryCount: 2, leaseDeadlineMs: clock.now() + 1000 },
    ]);
  });

  it('dead letter: the last nack is followed by deadLettered (no redelivered), with the copy\'s offset', async () => {
    const { broker, settle } = await engineFixture();
    await broker.createTopic('ev-dlq');
    await broker.createTopic('ev-dlq.dead');
    await broker.produce('ev-dlq', [{ value: 'a' }, { value: 'b' }]);
    const heard = listen(broker);
    const { held, handler } = parking();
    await broker.subscribe({ topic: 'ev-dlq', group: 'g-dlq', maxDeliveries: 1, deadLetterTopic: 'ev-dlq.dead' }, handler);
    await settle(() => held.length === 2);
    held[0]!.nack();
    await held[1]!.reject('bad');
    await settle(() => broker.describeGroup('ev-dlq', 'g-dlq').lag === 0n);
    const groupEvents = heard.filter((e) => e.name !== 'produced' && e.name !== 'delivered');
    expect(groupEvents.map((e) => e.name)).toEqual(['nacked', 'deadLettered', 'deadLettered']);
    expect(groupEvents[1]).toMatchObject({ offset: 0n, deliveryCount: 1, deadLetterTopic: 'ev-dlq.dead', deadLetterOffset: 0n });
    expect(groupEvents[2]).toMatchObject({ offset: 1n, deliveryCount: 1, reason: 'rejected: bad', deadLetterOffset: 1n });
    // Copies made together are one batch (dead-letter-copies.ts): one produced event for both.
    expect(heard.flatMap((e) => (e.name === 'produced' && e.topic === 'ev-dlq.dead' ? [e.records] : []))).toEqual([2]);
    expect(broker.describeGroup('ev-dlq', 'g-dlq').partitions[0]).toMatchObject({ deadLettered: 2, redeliveries: 0, ackFloor: 2n });
  });

  it('rebalanced: one event per change of owners, naming each member\'s partitions', async () => {
    const { broker, settle } = await engineFixture();
    await broker.createTopic('ev-rebalance', { partitions: 2 });
    const heard = listen(broker);
    const first = await broker.subscribe({ topic: 'ev-rebalance', group: 'g-rb', ordering: 'partition' }, () => undefined);
    const second = await broker.subscribe({ topic: 'ev-rebalance', group: 'g-rb', ordering: 'partition' }, () => undefined);
    await settle();
    const rebalances = heard.filter((e) => e.name === 'rebalanced');
    expect(rebalances).toHaveLength(2);
    const members = broker.describeGroup('ev-rebalance', 'g-rb').partitions.map((p) => p.owner);
    expect(rebalances[1]).toMatchObject({ topic: 'ev-rebalance', group: 'g-rb' });
    const assignment = (rebalances[1] as Parameters<BrokerEvents['rebalanced']>[0]).assignment;
    expect(Object.entries(assignment).flatMap(([member, ps]) => ps.map((p) => [p, member])).sort()).toEqual(members.map((m, p) => [p, m]));
    await first.close();
    await second.close();
  });

  it("a member joining a 'partition' group: the moved partition's delivery in flight is redelivered 'rebalance', then rebalanced names the new owner", async () => {
    const { broker, settle } = await engineFixture();
    await broker.createTopic('ev-join', { partitions: 2 });
    await broker.produce('ev-join', [{ value: 'a', partition: 0 }, { value: 'b', partition: 1 }]);
    const options = { topic: 'ev-join', group: 'g-join', ordering: 'partition', ackTimeoutMs: 1000 } as const;
    const first = parking();
    await broker.subscribe(options, first.handler);
    await settle(() => first.held.length === 2);
    const heard = listen(broker);
    const second = parking();
    const joined = await broker.subscribe(options, second.handler);
    await settle(() => second.held.length === 1);
    const moved = second.held[0]!.partition;
    expect(heard.map((e) => e.name)).toEqual(['redelivered', 'rebalanced', 'delivered']);
    expect(heard[0]).toMatchObject({ partition: moved, offset: 0n, reason: 'rebalance', nextDeliveryCount: 2, delayMs: 0 });
    expect(heard[1]).toMatchObject({ reason: 'memberJoined', member: joined.memberId, assignment: { 'g-join-0': [1 - moved], [joined.memberId!]: [moved] } });
    expect(heard[2]).toMatchObject({ partition: moved, member: joined.memberId, deliveryCount: 2, redelivered: true });
  });

  it('retention: one topic-wide retentionDropped and one per group that lost records, matching lostToRetention', async () => {
    const { broker, settle } = await engineFixture();
    await broker.createTopic('ev-retention', { segmentBytesMax: 4096, retention: { maxBytes: 8192 } });
    const { held, handler } = parking();
    await broker.subscribe({ topic: 'ev-retention', group: 'g-ret', maxInFlight: 1 }, handler);
    for (let i = 0; i < 100; i++) await broker.produce('ev-retention', [{ value: `m${i}`.padEnd(200, '.') }]);
    await settle(() => held.length === 1);
    const heard = listen(broker);
    await broker.enforceRetention();
    await settle();
    const drops = heard.filter((e) => e.name === 'retentionDropped');
    const start = broker.describeTopic('ev-retention').partitions[0]!.startOffset;
    expect(drops).toEqual([
      { name: 'retentionDropped', topic: 'ev-retention', partition: 0, startOffset: start, lostRecords: start },
      { name: 'retentionDropped', topic: 'ev-retention', partition: 0, startOffset: start, group: 'g-ret', lostRecords: start },
    ]);
    expect(broker.describeGroup('ev-retention', 'g-ret').partitions[0]!.lostToRetention).toBe(start);
  });

  it('a deleted topic\'s group emits nothing more after its groupDeleted: no acked, nacked or deadLettered from its deliveries', async () => {
    const { broker, settle, advance } = await engineFixture();
    await broker.createTopic('ev-gone');
    await broker.produce('ev-gone', [{ value: 'a' }, { value: 'b' }]);
    const { held, handler } = parking();
    await broker.subscribe({ topic: 'ev-gone', group: 'g-gone', ackTimeoutMs: 1000, maxDeliveries: 1 }, handler);
    await settle(() => held.length === 2);
    const heard = listen(broker);
    await broker.deleteTopic('ev-gone');
    await held[0]!.ack().catch(() => undefined);
    held[1]!.nack();
    await advance(5000);
    expect(heard).toEqual([{ name: 'groupDeleted', topic: 'ev-gone', group: 'g-gone' }, { name: 'topicDeleted', topic: 'ev-gone' }]);
  });

  it('topicCreated for createTopic and for a dead-letter topic made on demand; none for a create refused', async () => {
    const { broker, settle } = await engineFixture();
    const heard = listen(broker);
    await broker.createTopic('ev-made', { partitions: 3 });
    await expect(broker.createTopic('ev-made')).rejects.toMatchObject({ code: 'TOPIC_EXISTS' });
    await broker.produce('ev-made', [{ value: 'poison', partition: 2 }]);
    await broker.subscribe({ topic: 'ev-made', group: 'g-made' }, (d) => d.reject('bad'));
    await settle(() => broker.describeGroup('ev-made', 'g-made').lag === 0n);
    expect(heard.filter((e) => e.name === 'topicCreated')).toEqual([
      { name: 'topicCreated', topic: 'ev-made', partitions: 3 },
      { name: 'topicCreated', topic: 'ev-made.dlq', partitions: 1 },
    ]);
  });

  it("topicDeleted is a deleted topic's last event, after its groups' groupDeleted; a delete failing before its commit point emits nothing", async () => {
    const { broker, fs } = await engineFixture();
    await broker.createTopic('ev-deleted');
    await broker.subscribe({ topic: 'ev-deleted', group: 'g-deleted' }, () => undefined);
    const heard = listen(broker);
    fs.failNext('unlink', { errno: 'EIO', path: `${broker.dataDir}/topics/ev-deleted/topic.json` });
    await expect(broker.deleteTopic('ev-deleted')).rejects.toMatchObject({ code: 'IO_ERROR' });
    expect(heard).toEqual([]);
    await broker.deleteTopic('ev-deleted');
    expect(heard).toEqual([
      { name: 'groupDeleted', topic: 'ev-deleted', group: 'g-deleted' },
      { name: 'topicDeleted', topic: 'ev-deleted' },
    ]);
  });

  it('a tail reader overtaken by retention: the topic-wide retentionDropped, then one naming the reader with what it lost', async () => {
    const { broker, settle } = await engineFixture();
    await broker.createTopic('ev-tail', { segmentBytesMax: 4096, retention: { maxBytes: 8192 } });
    const { held, handler } = parking();
    const reader = await broker.subscribe({ topic: 'ev-tail', maxInFlight: 1, from: 'earliest' }, handler);
    for (let i = 0; i < 100; i++) await broker.produce('ev-tail', [{ value: `m${i}`.padEnd(200, '.') }]);
    await settle(() => held.length === 1);
    const heard = listen(broker);
    await broker.enforceRetention();
    await held[0]!.ack();
    await settle(() => held.length === 2);
    const start = broker.describeTopic('ev-tail').partitions[0]!.startOffset;
    expect(held[1]!.offset).toBe(start);
    expect(heard.filter((e) => e.name === 'retentionDropped')).toEqual([
      { name: 'retentionDropped', topic: 'ev-tail', partition: 0, startOffset: start, lostRecords: start },
      { name: 'retentionDropped', topic: 'ev-tail', partition: 0, startOffset: start, reader: reader.memberId, lostRecords: start - 1n },
    ]);
  });

  it("'partition' go-back: the nacked record and each later one in flight are redelivered once, in order", async () => {
    const { broker, settle } = await engineFixture();
    await broker.createTopic('ev-goback');
    await broker.produce('ev-goback', [{ value: 'a' }, { value: 'b' }, { value: 'c' }]);
    const { held, handler } = parking();
    await broker.subscribe({ topic: 'ev-goback', group: 'g-goback', ordering: 'partition', backoff: { initialMs: 0, jitter: 0 } }, handler);
    await settle(() => held.length === 3);
    const heard = listen(broker);
    held[0]!.nack();
    await settle(() => held.length === 6);
    const summary = heard.map((e) => [e.name, 'offset' in e ? e.offset : undefined, 'reason' in e ? e.reason : 'deliveryCount' in e ? e.deliveryCount : undefined]);
    expect(summary).toEqual([
      ['nacked', 0n, 1], ['redelivered', 0n, 'nack'], ['redelivered', 1n, 'goBack'], ['redelivered', 2n, 'goBack'],
      ['delivered', 0n, 2], ['delivered', 1n, 2], ['delivered', 2n, 2],
    ]);
    expect(broker.describeGroup('ev-goback', 'g-goback').partitions[0]!.redeliveries).toBe(3);
  });

  it('groupReset: one event as the new positions apply (the held deliveries are stale from then on), then the replay', async () => {
    const { broker, settle } = await engineFixture();
    await broker.createTopic('ev-reset', { partitions: 2 });
    await broker.produce('ev-reset', [{ value: 'a', partition: 0 }, { value: 'b', partition: 0 }, { value: 'c', partition: 1 }]);
    const { held, handler } = parking();
    await broker.subscribe({ topic: 'ev-reset', group: 'g-reset' }, handler);
    await settle(() => held.length === 3);
    const heard = listen(broker);
    let atEvent: { stale: boolean[]; floors: bigint[] } | undefined;
    broker.on('groupReset', () => {
      atEvent = { stale: held.map((d) => d.stale), floors: broker.describeGroup('ev-reset', 'g-reset').partitions.map((p) => p.ackFloor) };
    });
    expect(await broker.resetGroup('ev-reset', 'g-reset', { offset: 1n })).toEqual([1n, 1n]);
    expect(atEvent).toEqual({ stale: [true, true, true], floors: [1n, 1n] });
    await settle(() => held.length === 4);
    await held[0]!.ack().catch(() => undefined); // stale
    await held[3]!.ack();
    expect(heard.map((e) => e.name)).toEqual(['groupReset', 'delivered', 'acked']);
    expect(heard[0]).toEqual({ name: 'groupReset', topic: 'ev-reset', group: 'g-reset', offsets: [1n, 1n] });
    expect(heard[1]).toMatchObject({ partition: 0, offset: 1n, deliveryCount: 1, redelivered: false });
  });

  it.each([
    ['succeeds', undefined, true],
    ['fails before its commit point (the group stays)', 'unlink', false],
    ['fails after its commit point (the group is gone)', 'rmdir', true],
  ] as const)('groupDeleted: a delete that %s emits it at the commit point, or not at all', async (_what, failing, emitted) => {
    const world = await engineFixture();
    const { broker, fs } = world;
    await broker.createTopic('ev-delete');
    await broker.produce('ev-delete', [{ value: 'a' }]);
    const subscription = await broker.subscribe({ topic: 'ev-delete', group: 'g-delete' }, () => undefined);
    await world.settle(() => broker.describeGroup('ev-delete', 'g-delete').lag === 0n);
    await subscription.close();
    const heard = listen(broker);
    const config = `${broker.dataDir}/groups/ev-delete/g-delete/config.json`;
    let configAtEvent: boolean | undefined;
    broker.on('groupDeleted', () => void fs.exists(config).then((exists) => (configAtEvent = exists)));
    if (failing) fs.failNext(failing, { errno: 'EIO', path: /\/groups\/ev-delete\/g-delete(\/config\.json)?$/ });
    await broker.deleteGroup('ev-delete', 'g-delete').catch(() => undefined);
    expect(heard).toEqual(emitted ? [{ name: 'groupDeleted', topic: 'ev-delete', group: 'g-delete' }] : []);
    expect(configAtEvent).toBe(emitted ? false : undefined);
  });
});

describe('events of deleteTopic', () => {
  it('groupDeleted: one per group of the topic (the redrive group too), after its commit point, each the last event of its group', async () => {
    const world = await engineFixture();
    const { broker, fs } = world;
    await broker.createTopic('ev-topic-gone');
    await broker.createTopic('ev-topic-stays');
    // The last record is a dead letter from ev-topic-stays (the broker's seven headers, last).
    await broker.produce('ev-topic-gone', [{ value: 'a' }, { value: 'b' }, { value: 'dead', headers: deadLetterTrailer('ev-topic-stays') }]);
    await (await broker.subscribe({ topic: 'ev-topic-gone', group: 'g-left' }, () => undefined)).close();
    const { held, handler } = parking();
    await broker.subscribe({ topic: 'ev-topic-gone', group: 'g-holding', backoff: { initialMs: 1_000 } }, handler);
    await world.settle(() => held.length === 3);
    await held[0]!.nack(); // its backoff would redeliver it after the delete
    // The topic is a dead-letter topic: moving its dead letter back makes brook.redrive.
    expect(await broker.redrive('ev-topic-gone')).toEqual({ moved: 1, skipped: 2 });
    await (await broker.subscribe({ topic: 'ev-topic-stays', group: 'g-left' }, () => undefined)).close();
    const heard = listen(broker);
    const topicFile = `${broker.dataDir}/topics/ev-topic-gone/topic.json`;
    const topicFileAtEvent: boolean[] = [];
    broker.on('groupDeleted', () => void fs.exists(topicFile).then((exists) => topicFileAtEvent.push(exists)));

    await broker.deleteTopic('ev-topic-gone');
    await world.advance(10_000);

    const deleted = heard.filter((e) => e.name === 'groupDeleted');
    expect(deleted.map((e) => e.group).sort()).toEqual(['brook.redrive', 'g-holding', 'g-left']);
    expect(deleted.every((e) => e.topic === 'ev-topic-gone')).toBe(true);
    // Nothing of these groups after them; then the topic's own last event.
    expect(heard.slice(-deleted.length - 1)).toEqual([...deleted, { name: 'topicDeleted', topic: 'ev-topic-gone' }]);
    await world.settle();
    expect(topicFileAtEvent).toEqual([false, false, false]);
  });
});
