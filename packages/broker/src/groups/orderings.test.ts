/**
 * The three ordering modes, including DDIA figure 11-2: with load balancing and redelivery, a
 * consumer can see m4 before m3 — unless ordering is per key or per partition.
 */
import { describe, expect, it } from 'vitest';
import type { Delivery } from './delivery.js';
import { engineFixture } from './group-fixture.js';
import type { Ordering } from './subscribe-options.js';

interface Consumer {
  held: Delivery[];
  handler: (delivery: Delivery) => Promise<void>;
}

/** A consumer whose deliveries wait until the test settles them. */
function consumer(): Consumer {
  const held: Delivery[] = [];
  return {
    held,
    handler: (delivery) => {
      held.push(delivery);
      return new Promise<void>(() => undefined);
    },
  };
}


/**
 * Figure 11-2: m1..m5 (one key, one partition), two consumers with one slot each. Both process
 * and ack until m3 is handed out; then the consumer holding m3 crashes, while (in 'none') the
 * other one holds m4. Returns the order in which the records were acked.
 */
async function figure11_2(ordering: Ordering): Promise<string[]> {
  const { broker, settle } = await engineFixture();
  await broker.createTopic('orders', { partitions: 1 });
  await broker.produce('orders', ['m1', 'm2', 'm3', 'm4', 'm5'].map((value) => ({ key: 'one-key', value })));
  const consumers = [consumer(), consumer()];
  const order: string[] = [];
  broker.on('acked', (e) => order.push(`m${Number(e.offset) + 1}`));
  const subs = [];
  for (const c of consumers) subs.push(await broker.subscribe({ topic: 'orders', group: 'g', ordering, maxInFlight: 1 }, c.handler));
  const unsettled = (c: Consumer) => c.held.filter((d) => !d.settled);
  const holderOf = (value: string) => consumers.findIndex((c) => unsettled(c).some((d) => d.text() === value));
  for (let step = 0; step < 10 && holderOf('m3') < 0; step++) {
    await settle();
    const next = consumers.flatMap(unsettled).find((d) => d.text() !== 'm3');
    if (next) await next.ack();
  }
  await settle();
  const crashed = holderOf('m3');
  subs[crashed]!.abort();
  const survivor = consumers[1 - crashed]!;
  for (let step = 0; step < 20 && broker.describeGroup('orders', 'g').lag > 0n; step++) {
    await settle();
    const next = unsettled(survivor)[0];
    if (next) await next.ack();
  }
  return order;
}

describe('DDIA figure 11-2: redelivery and load balancing', () => {
  it("ordering 'none': m3, held by a consumer that crashes, is processed after m4", async () => {
    const order = await figure11_2('none');
    expect(order.indexOf('m4')).toBeLessThan(order.indexOf('m3'));
    expect([...order].sort()).toEqual(['m1', 'm2', 'm3', 'm4', 'm5']);
  });

  it.each(['key', 'partition'] as const)("ordering '%s': the same crash does not reorder", async (ordering) => {
    expect(await figure11_2(ordering)).toEqual(['m1', 'm2', 'm3', 'm4', 'm5']);
  });
});

describe("ordering 'none'", () => {
  /** Two members of group g on topic t, each with room for 100 records. */
  async function twoMembers() {
    const fixture = await engineFixture();
    await fixture.broker.createTopic('t');
    const members = [consumer(), consumer()];
    for (const c of members) await fixture.broker.subscribe({ topic: 't', group: 'g', ordering: 'none', maxInFlight: 100 }, c.handler);
    return { ...fixture, members };
  }
  const values = (from: number, count: number) => Array.from({ length: count }, (_, i) => ({ value: `v${from + i}` }));

  it('gives a few records to one member as one run, and the next few to the other', async () => {
    const { broker, settle, members } = await twoMembers();
    await broker.produce('t', values(0, 5));
    await settle();
    const first = members.findIndex((c) => c.held.length > 0);
    expect(members[first]!.held.map((d) => d.text())).toEqual(['v0', 'v1', 'v2', 'v3', 'v4']);
    expect(members[1 - first]!.held).toEqual([]);
    await broker.produce('t', values(5, 5));
    await settle();
    expect(members[1 - first]!.held.map((d) => d.text())).toEqual(['v5', 'v6', 'v7', 'v8', 'v9']);
    expect(members[first]!.held).toHaveLength(5);
  });

  it('takes turns by runs given: records whose lease ran out at the member that had the last run go to the other', async () => {
    const { broker, advance } = await engineFixture();
    await broker.createTopic('t');
    await broker.produce('t', values(0, 10));
    const options = { topic: 't', group: 'g', ordering: 'none', maxInFlight: 10, ackTimeoutMs: 100, backoff: { initialMs: 0, maxMs: 0 } } as const;
    const stuck = consumer();
    await broker.subscribe(options, stuck.handler);
    await advance(0);
    const healthy: bigint[] = [];
    await broker.subscribe(options, (delivery) => void healthy.push(delivery.offset));
    await advance(0); // a step with nothing to give: nobody had a run
    await advance(options.ackTimeoutMs);
    expect([stuck.held.length, healthy.length]).toEqual([10, 10]);
  });

  it('sizes the runs by the members with room: one with none does not shorten the others\' shares', async () => {
    const { broker, settle } = await engineFixture();
    await broker.createTopic('t');
    const full = consumer();
    await broker.subscribe({ topic: 't', group: 'g', ordering: 'none', maxInFlight: 1 }, full.handler);
    await broker.produce('t', values(0, 1));
    await settle(() => full.held.length === 1);
    const members = [consumer(), consumer()];
    for (const c of members) await broker.subscribe({ topic: 't', group: 'g', ordering: 'none', maxInFlight: 100 }, c.handler);
    await broker.produce('t', values(1, 100));
    await settle();
    expect(members.map((c) => c.held.length)).toEqual([50, 50]);
  });

  it('a member whose room ends before its run is over passes the rest to the next member in the same step', async () => {
    const { broker, settle } = await engineFixture();
    await broker.createTopic('t');
    const small = consumer();
    const large = consumer();
    await broker.subscribe({ topic: 't', group: 'g', ordering: 'none', maxInFlight: 5 }, small.handler);
    await broker.subscribe({ topic: 't', group: 'g', ordering: 'none', maxInFlight: 100 }, large.handler);
    await broker.produce('t', values(0, 100));
    await settle();
    expect([small.held.length, large.held.length]).toEqual([5, 95]);
  });

  it('shares a backlog evenly, in runs of consecutive offsets', async () => {
    const { broker, settle, members } = await twoMembers();
    await broker.produce('t', values(0, 100));
    await settle();
    const offsets = members.map((c) => c.held.map((d) => Number(d.offset)));
    expect(offsets.map((o) => o.length)).toEqual([50, 50]);
    for (const o of offsets) expect(o).toEqual(Array.from({ length: 50 }, (_, i) => o[0]! + i));
  });
});

describe("ordering 'none' and 'key': redeliveries first", () => {
  it.each([
    ['none', 'null keys', () => null],
    ['key', 'null keys', () => null],
    ['key', 'a key each', (i: number) => `k${i}`],
  ] as const)("'%s', %s: a redelivery goes ahead of the records not delivered yet", async (ordering, _keys, key) => {
    const { broker, settle } = await engineFixture();
    await broker.createTopic('t');
    await broker.produce('t', [0, 1, 2].map((i) => ({ key: key(i), value: `v${i}` })));
    const order: string[] = [];
    const backoff = { initialMs: 0, maxMs: 0 };
    await broker.subscribe({ topic: 't', group: 'g', ordering, maxInFlight: 1, backoff }, async (d) => {
      order.push(`${d.text()}#${d.deliveryCount}`);
      if (order.length === 1) await d.nack();
    });
    await settle(() => order.length === 4);
    expect(order).toEqual(['v0#1', 'v0#2', 'v1#1', 'v2#1']);
  });
});

describe("ordering 'key'", () => {
  it('has at most one record per key in flight, and spreads keys over members', async () => {
    const { broker, settle } = await engineFixture();
    await broker.createTopic('t');
    const c1 = consumer();
    const c2 = consumer();
    // Both members first: records there before the second joins may all go to the first.
    await broker.subscribe({ topic: 't', group: 'g', ordering: 'key', maxInFlight: 5 }, c1.handler);
    await broker.subscribe({ topic: 't', group: 'g', ordering: 'key', maxInFlight: 5 }, c2.handler);
    await broker.produce('t', ['a', 'b', 'a', 'b', 'c'].map((key, i) => ({ key, value: `${key}${i}` })));
    await settle();
    const inFlight = [...c1.held, ...c2.held].map((d) => d.text());
    expect(inFlight.sort()).toEqual(['a0', 'b1', 'c4']);
    expect(c1.held.length).toBeGreaterThan(0);
    expect(c2.held.length).toBeGreaterThan(0);
  });

  it('tells keys apart by their bytes: 16 and 17 bytes (the two ways ids are made), bytes 0x80-0xff, a prefix', async () => {
    const { broker, settle } = await engineFixture();
    await broker.createTopic('t', { partitions: 1 });
    const c = consumer();
    await broker.subscribe({ topic: 't', group: 'g', ordering: 'key', maxInFlight: 20 }, c.handler);
    const keys = [
      new Uint8Array(16).fill(0x61), new Uint8Array(17).fill(0x61), Uint8Array.of(0x80), Uint8Array.of(0x81), Uint8Array.of(0xff),
      Uint8Array.of(0xc3, 0xa9), Uint8Array.of(0xe9), new Uint8Array(17).fill(0x80), Uint8Array.of(0x61), new Uint8Array(0),
    ];
    // Each key twice: the first of each is in flight at once, the second waits behind it.
    await broker.produce('t', [...keys, ...keys].map((key, i) => ({ key, value: `v${i}` })));
    await settle();
    expect(c.held.map((d) => d.text())).toEqual(keys.map((_, i) => `v${i}`));
  });

  it("a key's next record waits through its predecessor's redeliveries and goes out once it is acked", async () => {
    const { broker, settle, advance } = await engineFixture();
    await broker.createTopic('t');
    await broker.produce('t', [{ key: 'k', value: 'k0' }, { key: 'k', value: 'k1' }]);
    const c = consumer();
    await broker.subscribe({ topic: 't', group: 'g', ordering: 'key', maxInFlight: 5, backoff: { initialMs: 100, jitter: 0 } }, c.handler);
    await settle();
    expect(c.held.map((d) => d.text())).toEqual(['k0']);
    c.held[0]!.nack();
    await advance(100);
    await settle();
    expect(c.held.map((d) => `${d.text()}#${d.deliveryCount}`)).toEqual(['k0#1', 'k0#2']);
    await c.held[1]!.ack();
    await settle();
    expect(c.held.map((d) => d.text())).toEqual(['k0', 'k0', 'k1']);
  });

  it("a key's next record also waits for a dead-lettered predecessor, then follows it", async () => {
    const { broker, settle } = await engineFixture();
    await broker.createTopic('t');
    await broker.produce('t', [{ key: 'k', value: 'k0' }, { key: 'k', value: 'k1' }]);
    const c = consumer();
    await broker.subscribe({ topic: 't', group: 'g', ordering: 'key', maxInFlight: 5 }, c.handler);
    await settle();
    await c.held[0]!.reject('poison');
    await settle();
    expect(c.held.map((d) => d.text())).toEqual(['k0', 'k1']);
  });
});

describe("ordering 'key': a slow key holds up only itself", () => {
  it('records of other keys (and null keys) behind hundreds of a key that backs off still go out, at once', async () => {
    const { broker, settle, advance } = await engineFixture();
    await broker.createTopic('hot-key', { partitions: 1 });
    await broker.produce('hot-key', Array.from({ length: 300 }, (_, i) => ({ key: 'hot', value: `hot${i}` })));
    await broker.produce('hot-key', [{ key: 'cold', value: 'cold0' }, { key: null, value: 'null0' }]);
    const c = consumer();
    const options = { topic: 'hot-key', group: 'g-hot-key', ordering: 'key', maxInFlight: 10, backoff: { initialMs: 10_000, jitter: 0 } } as const;
    await broker.subscribe(options, c.handler);
    await settle();
    // Without waiting for anything else to happen (an ack, a produce): the step that reads them hands them out.
    expect(c.held.map((d) => d.text())).toEqual(['hot0', 'cold0', 'null0']);
    await c.held[0]!.nack();
    await c.held[1]!.ack();
    await c.held[2]!.ack();
    await broker.produce('hot-key', [{ key: 'cold', value: 'cold1' }]);
    await advance(1000); // hot0 backs off for 10 s
    expect(c.held.map((d) => d.text())).toEqual(['hot0', 'cold0', 'null0', 'cold1']);
    expect(broker.describeGroup('hot-key', 'g-hot-key').partitions[0]!.backingOff).toBe(1);
  });
  it('a key whose record backs off stays held when that record\'s member leaves: the record goes to another member after the backoff, then the next', async () => {
    const { broker, settle, advance } = await engineFixture();
    await broker.createTopic('key-left', { partitions: 1 });
    await broker.produce('key-left', [{ key: 'k', value: 'k0' }, { key: 'k', value: 'k1' }]);
    const options = { topic: 'key-left', group: 'g-key-left', ordering: 'key', backoff: { initialMs: 100, jitter: 0 } } as const;
    const first = consumer();
    const second = consumer();
    const sub = await broker.subscribe(options, first.handler);
    await settle();
    await broker.subscribe(options, second.handler);
    await first.held[0]!.nack();
    await sub.close();
    await advance(99);
    expect(second.held).toEqual([]);
    await advance(1);
    expect(second.held.map((d) => `${d.text()}#${d.deliveryCount}`)).toEqual(['k0#2']);
    await second.held[0]!.ack();
    await settle();
    expect(second.held.map((d) => d.text())).toEqual(['k0', 'k1']);
  });
});

describe("ordering 'key' and retention", () => {
  it('retention overtaking one partition leaves the keys waiting in other partitions in order', async () => {
    const { broker, settle } = await engineFixture();
    await broker.createTopic('t', { partitions: 2, segmentBytesMax: 4096, retention: { maxBytes: 8192 } });
    await broker.produce('t', [{ key: 'K', value: 'k1', partition: 1 }, { key: 'K', value: 'k2', partition: 1 }]);
    await broker.produce('t', [{ value: 'p0-first', partition: 0 }]);
    const c = consumer();
    await broker.subscribe({ topic: 't', group: 'g', ordering: 'key', maxInFlight: 2 }, c.handler);
    await settle(() => c.held.length === 2);
    expect(c.held.map((d) => d.text()).sort()).toEqual(['k1', 'p0-first']);
    for (let i = 0; i < 60; i++) await broker.produce('t', [{ value: 'x'.repeat(300), partition: 0 }]);
    await broker.enforceRetention();
    expect(broker.describeGroup('t', 'g').partitions[0]!.lostToRetention).toBeGreaterThan(0n);
    await c.held.find((d) => d.text() === 'k1')!.ack();
    await settle(() => c.held.some((d) => d.text() === 'k2'));
  });
});

describe("ordering 'partition'", () => {
  it('gives each partition to one member and rebalances when members join and leave', async () => {
    const { broker, settle } = await engineFixture();
    await broker.createTopic('t', { partitions: 4 });
    const assignments: Record<string, number[]>[] = [];
    broker.on('rebalanced', (e) => assignments.push(e.assignment));
    const c1 = consumer();
    const c2 = consumer();
    const sub1 = await broker.subscribe({ topic: 't', group: 'g', ordering: 'partition' }, c1.handler);
    await broker.subscribe({ topic: 't', group: 'g', ordering: 'partition' }, c2.handler);
    sub1.abort();
    await settle();
    expect(assignments).toEqual([{ 'g-0': [0, 1, 2, 3] }, { 'g-0': [0, 1], 'g-1': [2, 3] }, { 'g-1': [0, 1, 2, 3] }]);
    expect(broker.describeGroup('t', 'g').partitions.map((p) => p.owner)).toEqual(['g-1', 'g-1', 'g-1', 'g-1']);
  });

  it('a member owning several partitions serves them in turn: a backlog on one does not hold back the others', async () => {
    const { broker, settle } = await engineFixture();
    await broker.createTopic('t', { partitions: 2 });
    await broker.produce('t', Array.from({ length: 10 }, (_, i) => ({ value: `p0-${i}`, partition: 0 })));
    await broker.produce('t', [{ value: 'p1-0', partition: 1 }]);
    const order: string[] = [];
    await broker.subscribe({ topic: 't', group: 'g', ordering: 'partition', maxInFlight: 1 }, (d) => void order.push(d.text()!));
    await settle(() => order.length === 11);
    expect(order.indexOf('p1-0')).toBeLessThan(2);
  });

  it('a member closing gracefully keeps a partition until it has settled what it holds there; then the partition moves', async () => {
    const { broker, settle } = await engineFixture();
    await broker.createTopic('t', { partitions: 2 });
    await broker.produce('t', [0, 1].map((partition) => ({ value: `p${partition}`, partition })));
    const assignments: Record<string, number[]>[] = [];
    broker.on('rebalanced', (e) => assignments.push(e.assignment));
    const redelivered: bigint[] = [];
    broker.on('redelivered', (e) => redelivered.push(e.offset));
    const c1 = consumer();
    const c2 = consumer();
    const sub1 = await broker.subscribe({ topic: 't', group: 'g', ordering: 'partition' }, c1.handler);
    await settle();
    await broker.subscribe({ topic: 't', group: 'g', ordering: 'partition' }, c2.handler);
    await settle();
    // The join moved partition 1, and took g-0's record of it back; g-0 keeps partition 0 and p0.
    expect(assignments).toEqual([{ 'g-0': [0, 1] }, { 'g-0': [0], 'g-1': [1] }]);
    const held = c1.held.find((d) => d.partition === 0)!;
    const closing = sub1.close();
    await settle();
    expect(broker.describeGroup('t', 'g').partitions[0]!.owner).toBe('g-0');
    await held.ack(); // still current: the close waited for it
    await closing;
    await settle();
    expect(assignments.at(-1)).toEqual({ 'g-1': [0, 1] });
    expect(redelivered).toEqual([0n]); // only the record of partition 1, at the join
    expect(broker.describeGroup('t', 'g').partitions.map((p) => p.ackFloor)).toEqual([1n, 0n]);
  });

  it('a closing member that never settles holds its partition only until the lease expires', async () => {
    const { broker, settle, advance } = await engineFixture();
    await broker.createTopic('t');
    await broker.produce('t', [{ value: 'p0' }]);
    const c1 = consumer();
    const c2 = consumer();
    const options = { topic: 't', group: 'g', ordering: 'partition', ackTimeoutMs: 1000, backoff: { initialMs: 0, maxMs: 0 } } as const;
    const sub1 = await broker.subscribe(options, c1.handler);
    await settle();
    await broker.subscribe(options, c2.handler);
    const closing = sub1.close();
    await settle();
    expect([c1.held.length, c2.held.length]).toEqual([1, 0]);
    await advance(1000);
    await closing;
    await settle();
    expect(c2.held.map((d) => `${d.text()}#${d.deliveryCount}`)).toEqual(['p0#2']);
  });

  it('delivers in offset order, and a redelivery of n brings back every later record in flight, in order (go-back-N)', async () => {
    const { broker, settle, advance } = await engineFixture();
    await broker.createTopic('t');
    await broker.produce('t', Array.from({ length: 5 }, (_, i) => ({ value: `m${i}` })));
    const c = consumer();
    const reasons: string[] = [];
    broker.on('redelivered', (e) => reasons.push(`${e.offset}:${e.reason}`));
    await broker.subscribe({ topic: 't', group: 'g', ordering: 'partition', maxInFlight: 3, backoff: { initialMs: 50, jitter: 0 } }, c.handler);
    await settle();
    expect(c.held.map((d) => d.offset)).toEqual([0n, 1n, 2n]);
    await c.held[0]!.ack();
    await settle();
    c.held[1]!.nack(); // m1 fails while m2 and m3 are in flight
    await settle();
    expect(reasons).toEqual(['1:nack', '2:goBack', '3:goBack']);
    await expect(c.held[2]!.ack()).rejects.toMatchObject({ code: 'DELIVERY_STALE' }); // m2 was taken back
    await advance(50);
    await settle();
    expect(c.held.map((d) => `${d.offset}#${d.deliveryCount}`)).toEqual(['0#1', '1#1', '2#1', '3#1', '1#2', '2#2', '3#2']);
  });

  it('go-back-N after a nack with a delay: the records acked meanwhile do not come again, those in flight wait for the failed one', async () => {
    const { broker, settle, advance } = await engineFixture();
    await broker.createTopic('back-delay');
    await broker.produce('back-delay', Array.from({ length: 5 }, (_, i) => ({ value: `m${i}` })));
    const c = consumer();
    await broker.subscribe({ topic: 'back-delay', group: 'g-back-delay', ordering: 'partition', maxInFlight: 3 }, c.handler);
    await settle();
    await c.held[1]!.ack();
    await c.held[2]!.ack();
    await settle();
    await c.held[0]!.nack({ delayMs: 500 }); // m3 and m4 are in flight: taken back
    await advance(499);
    expect(c.held.map((d) => `${d.text()}${d.stale ? ' stale' : ''}`)).toEqual(['m0', 'm1', 'm2', 'm3 stale', 'm4 stale']);
    await advance(1);
    expect(c.held.slice(5).map((d) => `${d.text()}#${d.deliveryCount}`)).toEqual(['m0#2', 'm3#2', 'm4#2']);
  });
});
