/**
 * A group's settings (docs/semantics.md "Settings of a group"): members agreeing on them, joins
 * made together, a group without members taking new ones, and keeping them across restarts.
 * All through the broker's API on the virtual clock.
 */
import { describe, expect, it } from 'vitest';
import type { Subscription } from './subscription.js';
import { engineFixture } from './group-fixture.js';

const outcome = (result: PromiseSettledResult<Subscription>) => (result.status === 'fulfilled' ? 'joined' : (result.reason as { code: string }).code);

describe('group settings agreed by joins made together', () => {
  it.each([
    ['a new group', false],
    ['a group without members', true],
  ])('on %s, the first join sets them and one asking for others is refused with INVALID_CONFIG', async (_name, existing) => {
    const { broker } = await engineFixture();
    const topic = `together-${existing}`;
    await broker.createTopic(topic);
    if (existing) await (await broker.subscribe({ topic, group: 'g-together' }, () => undefined)).close();
    const joins = await Promise.allSettled([
      broker.subscribe({ topic, group: 'g-together', ordering: 'key' }, () => undefined),
      broker.subscribe({ topic, group: 'g-together', ordering: 'partition' }, () => undefined),
    ]);
    expect(joins.map(outcome)).toEqual(['joined', 'INVALID_CONFIG']);
    const description = broker.describeGroup(topic, 'g-together');
    expect(description.config.ordering).toBe('key');
    expect(description.members).toHaveLength(1);
  });

  it('a join whose new settings cannot be written is refused with the I/O error and changes nothing', async () => {
    const { broker, settle, fs } = await engineFixture();
    await broker.createTopic('unwritten');
    await (await broker.subscribe({ topic: 'unwritten', group: 'g-unwritten', ordering: 'key' }, () => undefined)).close();
    await broker.produce('unwritten', [{ value: 'a' }]);
    fs.failNext('write', { path: /g-unwritten\/config\.json\.tmp$/, errno: 'ENOSPC' });
    let delivered = 0;
    await expect(broker.subscribe({ topic: 'unwritten', group: 'g-unwritten', ordering: 'partition' }, () => void (delivered += 1)))
      .rejects.toMatchObject({ code: 'IO_ERROR' });
    await settle();
    expect(delivered).toBe(0);
    expect(broker.describeGroup('unwritten', 'g-unwritten')).toMatchObject({ config: { ordering: 'key' }, members: [] });
  });

  it('a group reconfigured by a member that joined it empty keeps the new settings across a restart', async () => {
    const world = await engineFixture({ fsync: 'always' });
    await world.broker.createTopic('kept');
    await (await world.broker.subscribe({ topic: 'kept', group: 'g-kept', ordering: 'key' }, () => undefined)).close();
    await (await world.broker.subscribe({ topic: 'kept', group: 'g-kept', ordering: 'partition', ackTimeoutMs: 1234 }, () => undefined)).close();
    await world.restart();
    expect(world.broker.describeGroup('kept', 'g-kept').config).toMatchObject({ ordering: 'partition', ackTimeoutMs: 1234 });
  });
});

describe('a group reconfigured by a member joining it empty', () => {
  it.each([
    ['more attempts', { maxDeliveries: 5 }],
    ['another lease', { maxDeliveries: 1, ackTimeoutMs: 1234 }],
  ])('a record being dead-lettered meanwhile (%s) is copied once and not delivered again', async (name, settings) => {
    const { broker, settle } = await engineFixture();
    const topic = `dead-lettering-${settings.maxDeliveries}`;
    await broker.createTopic(topic);
    await broker.produce(topic, [{ value: 'last-attempt' }]);
    let held = 0;
    const first = await broker.subscribe({ topic, group: 'g-dl', maxDeliveries: 1 }, () => {
      held += 1;
      return new Promise(() => undefined);
    });
    await settle(() => held === 1);
    // Its last attempt taken back: the record is being dead-lettered when the next member joins.
    first.abort();
    const delivered: string[] = [];
    await broker.subscribe({ topic, group: 'g-dl', ...settings, name }, (d) => void delivered.push(String(d.text())));
    await settle(() => broker.describeGroup(topic, 'g-dl').lag === 0n);
    await settle();
    expect(delivered).toEqual([]);
    expect(await broker.fetch({ topic: `${topic}.dlq`, partition: 0, offset: 0n })).toHaveLength(1);
    expect(broker.describeGroup(topic, 'g-dl').partitions[0]).toMatchObject({ deadLettered: 1, inFlight: [], backingOff: 0 });
  });

  it("'key': a key's next record waits for its predecessor being dead-lettered across the reconfigure", async () => {
    const { broker, settle, advance } = await engineFixture();
    await broker.createTopic('dl-key');
    // A full dead-letter topic: the copy waits, across the reconfigure.
    await broker.createTopic('dl-key.dlq', { retention: { maxBytes: 300, discard: 'new' } });
    await broker.produce('dl-key.dlq', [{ value: 'x'.repeat(200) }]);
    await broker.produce('dl-key', [{ key: 'k', value: 'a' }, { key: 'k', value: 'b' }]);
    const order: string[] = [];
    broker.on('deadLettered', (e) => void order.push(`dead-lettered ${e.offset}`));
    let held = 0;
    const options = { topic: 'dl-key', group: 'g-dl-key', ordering: 'key', maxDeliveries: 1, backoff: { maxMs: 1000 } } as const;
    const first = await broker.subscribe(options, () => {
      held += 1;
      return new Promise(() => undefined);
    });
    await settle(() => held === 1);
    first.abort();
    await broker.subscribe({ ...options, ackTimeoutMs: 1234 }, (d) => void order.push(`delivered ${d.text()}`));
    await settle();
    expect(order).toEqual([]);
    await broker.deleteTopic('dl-key.dlq'); // room: the next try makes the copy
    await advance(1000);
    await settle(() => broker.describeGroup('dl-key', 'g-dl-key').lag === 0n);
    expect(order).toEqual(['dead-lettered 0', 'delivered b']);
  });

  it("switched to 'key': a record tried under 'none' does not overtake an earlier record of its key that never reached a consumer", async () => {
    const { broker, settle } = await engineFixture();
    const topic = 'to-key';
    await broker.createTopic(topic);
    // k0 waits unread in a consume() loop's queue (no attempt once given back), k1 goes to a handler that nacks it.
    const unread = broker.consume({ topic, group: 'g-to-key', maxInFlight: 1 });
    await settle();
    const tried: string[] = [];
    const nacking = await broker.subscribe({ topic, group: 'g-to-key', maxInFlight: 1 }, (d) => {
      tried.push(String(d.text()));
      d.nack({ delayMs: 60_000 });
    });
    await broker.produce(topic, [{ key: 'k', value: 'k0' }, { key: 'k', value: 'k1' }]);
    await settle(() => tried.length === 1);
    expect(tried).toEqual(['k1']);
    nacking.abort();
    unread.abort();
    const order: string[] = [];
    await broker.subscribe({ topic, group: 'g-to-key', ordering: 'key', maxInFlight: 2 }, (d) => void order.push(String(d.text())));
    await settle(() => broker.describeGroup(topic, 'g-to-key').lag === 0n);
    expect(order).toEqual(['k0', 'k1']);
  });

  it('a record being dead-lettered goes, at once, to the dead-letter topic named when its copy began', async () => {
    const { broker, settle } = await engineFixture();
    await broker.createTopic('dl-topic');
    await broker.produce('dl-topic', [{ value: 'a' }]);
    const copies: string[] = [];
    broker.on('deadLettered', (e) => void copies.push(e.deadLetterTopic));
    let held = 0;
    const first = await broker.subscribe({ topic: 'dl-topic', group: 'g-dl-topic', maxDeliveries: 1 }, () => {
      held += 1;
      return new Promise(() => undefined);
    });
    await settle(() => held === 1);
    first.abort();
    await broker.subscribe({ topic: 'dl-topic', group: 'g-dl-topic', maxDeliveries: 1, deadLetterTopic: 'dl-topic-other' }, () => undefined);
    await settle(() => broker.describeGroup('dl-topic', 'g-dl-topic').lag === 0n);
    expect(copies).toEqual(['dl-topic.dlq']);
    expect(await broker.fetch({ topic: 'dl-topic.dlq', partition: 0, offset: 0n })).toHaveLength(1);
    expect(broker.listTopics()).not.toContain('dl-topic-other');
  });

  it.each([
    ['with other settings, is delivered at once', { ackTimeoutMs: 999 }, [2]],
    ['with the same settings, keeps waiting', {}, []],
  ])('a record waiting out a backoff when a member joins %s', async (_name, settings, counts) => {
    const { broker, settle } = await engineFixture();
    const topic = `backoff-${counts.length}`;
    await broker.createTopic(topic);
    await broker.produce(topic, [{ value: 'a' }]);
    let nacked = 0;
    const first = await broker.subscribe({ topic, group: 'g-backoff' }, (d) => {
      nacked += 1;
      d.nack({ delayMs: 3_600_000 });
    });
    await settle(() => nacked === 1);
    await first.close();
    const deliveryCounts: number[] = [];
    await broker.subscribe({ topic, group: 'g-backoff', ...settings }, (d) => void deliveryCounts.push(d.deliveryCount));
    await settle();
    expect(deliveryCounts).toEqual(counts);
    expect(broker.describeGroup(topic, 'g-backoff').partitions[0]!.backingOff).toBe(1 - counts.length);
  });

  it('a lowered maxDeliveries dead-letters a record that already had that many attempts, without delivering it', async () => {
    const { broker, settle } = await engineFixture();
    await broker.createTopic('lowered');
    await broker.produce('lowered', [{ value: 'a' }]);
    let attempts = 0;
    const first = await broker.subscribe({ topic: 'lowered', group: 'g-lowered', maxDeliveries: 10 }, (d) => {
      attempts += 1;
      d.nack({ delayMs: attempts < 3 ? 0 : 3_600_000 });
    });
    await settle(() => attempts === 3);
    await first.close();
    const delivered: number[] = [];
    await broker.subscribe({ topic: 'lowered', group: 'g-lowered', maxDeliveries: 2 }, (d) => void delivered.push(d.deliveryCount));
    await settle(() => broker.describeGroup('lowered', 'g-lowered').lag === 0n);
    expect(delivered).toEqual([]);
    const [copy] = await broker.fetch({ topic: 'lowered.dlq', partition: 0, offset: 0n });
    const header = (name: string) => new TextDecoder().decode(copy!.headers.find((h) => h.key === name)!.value!);
    expect(header('brook.delivery-count')).toBe('3');
  });

  it('a shorter ackTimeoutMs holds from the first delivery after the reconfigure (a lease granted before does not delay it)', async () => {
    const { broker, settle, advance } = await engineFixture();
    await broker.createTopic('shorter-lease');
    await broker.produce('shorter-lease', [{ value: 'a' }, { value: 'b' }]);
    let held = 0;
    const first = await broker.subscribe({ topic: 'shorter-lease', group: 'g-shorter-lease', ackTimeoutMs: 10_000, maxInFlight: 1 }, () => {
      held += 1;
      return new Promise(() => undefined);
    });
    await settle(() => held === 1);
    first.abort();
    const expired: bigint[] = [];
    broker.on('leaseExpired', (e) => void expired.push(e.offset));
    await broker.subscribe({ topic: 'shorter-lease', group: 'g-shorter-lease', ackTimeoutMs: 1000, maxInFlight: 1 }, () => new Promise(() => undefined));
    await settle(() => broker.describeGroup('shorter-lease', 'g-shorter-lease').members[0]?.inFlight === 1);
    await advance(999);
    expect(expired).toEqual([]);
    await advance(1);
    expect(expired).toEqual([0n]);
  });

  it('a member closing gracefully still counts: another asking for other settings is refused until it has left', async () => {
    const { broker, settle } = await engineFixture();
    await broker.createTopic('closing');
    await broker.produce('closing', [{ value: 'a' }]);
    let finish: () => void = () => undefined;
    const first = await broker.subscribe({ topic: 'closing', group: 'g-closing' }, () => new Promise<void>((resolve) => (finish = resolve)));
    await settle(() => broker.describeGroup('closing', 'g-closing').members[0]?.inFlight === 1);
    const closing = first.close();
    await expect(broker.subscribe({ topic: 'closing', group: 'g-closing', ordering: 'key' }, () => undefined)).rejects.toMatchObject({ code: 'INVALID_CONFIG' });
    finish();
    await closing;
    await broker.subscribe({ topic: 'closing', group: 'g-closing', ordering: 'key' }, () => undefined);
    expect(broker.describeGroup('closing', 'g-closing').config.ordering).toBe('key');
  });

  it('a record whose dead-letter copy failed keeps being tried across the reconfigure, and is copied once', async () => {
    const { broker, settle, advance, fs } = await engineFixture();
    await broker.createTopic('dl-retry');
    await broker.createTopic('dl-retry.dlq');
    await broker.produce('dl-retry', [{ value: 'a' }]);
    const backoff = { maxMs: 1000 };
    let held = 0;
    const first = await broker.subscribe({ topic: 'dl-retry', group: 'g-dl-retry', maxDeliveries: 1, backoff }, () => {
      held += 1;
      return new Promise(() => undefined);
    });
    await settle(() => held === 1);
    fs.failNext('write', { path: /dl-retry\.dlq.*\.log$/, errno: 'EIO' });
    first.abort();
    // The copy fails and waits backoff.maxMs for its next try when the next member joins.
    await settle();
    const delivered: string[] = [];
    await broker.subscribe({ topic: 'dl-retry', group: 'g-dl-retry', maxDeliveries: 5, backoff }, (d) => void delivered.push(String(d.text())));
    await settle();
    expect(broker.describeGroup('dl-retry', 'g-dl-retry').lag).toBe(1n);
    await advance(1000);
    await settle(() => broker.describeGroup('dl-retry', 'g-dl-retry').lag === 0n);
    expect(delivered).toEqual([]);
    expect(await broker.fetch({ topic: 'dl-retry.dlq', partition: 0, offset: 0n })).toHaveLength(1);
  });
});
