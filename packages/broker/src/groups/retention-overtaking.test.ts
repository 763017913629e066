/**
 * Retention overtaking a group (discard 'old'): the group loses the records retention deleted
 * and nothing else. What it knew of the records above startOffset (acks, attempts, deliveries in
 * flight or backing off, key lanes) stays, across restarts too.
 */
import { describe, expect, it } from 'vitest';
import type { Delivery } from './delivery.js';
import type { SubscribeOptions } from './subscribe-options.js';
import { engineFixture, duringRetention, parking } from './group-fixture.js';
import { heldReads } from '../held-reads.test-support.js';

const RECORDS = 100;

/** A topic whose retention keeps two 4 KiB segments of ~200-byte records, and RECORDS of them. */
async function overtakenTopic(topic: string, key: (offset: number) => string | null = () => null) {
  const fixture = await engineFixture();
  await fixture.broker.createTopic(topic, { segmentBytesMax: 4096, retention: { maxBytes: 8192 } });
  const produce = async () => {
    for (let i = 0; i < RECORDS; i++) await fixture.broker.produce(topic, [{ key: key(i), value: `m${i}`.padEnd(200, '.') }]);
  };
  return Object.assign(fixture, { produce });
}

/** Subscribes a member that holds (never settles) the offsets in `hold` and acks the rest. */
async function holdingMember(fixture: Awaited<ReturnType<typeof engineFixture>>, options: SubscribeOptions, hold: (offset: bigint) => boolean) {
  const seen: Delivery[] = [];
  await fixture.broker.subscribe({ maxInFlight: 200, ...options }, (d) => {
    seen.push(d);
    return hold(d.offset) ? new Promise(() => undefined) : undefined;
  });
  return seen;
}

async function retain(fixture: Awaited<ReturnType<typeof overtakenTopic>>, topic: string): Promise<bigint> {
  await fixture.broker.enforceRetention();
  await fixture.settle();
  return fixture.broker.describeTopic(topic).partitions[0]!.startOffset;
}

describe('retention overtaking a group', () => {
  it.each(['none', 'partition'] as const)("ordering '%s': only the deleted records are lost; acks and deliveries above startOffset stay", async (ordering) => {
    const topic = `overtaken-${ordering}`;
    const fixture = await overtakenTopic(topic);
    const seen = await holdingMember(fixture, { topic, group: 'g', ordering }, (offset) => offset === 0n || offset === 99n);
    await fixture.produce();
    await fixture.settle(() => fixture.broker.describeGroup(topic, 'g').lag === 2n);
    const delivered = seen.length;
    const startOffset = await retain(fixture, topic);
    expect(startOffset).toBeGreaterThan(1n);
    expect(fixture.broker.describeGroup(topic, 'g').partitions[0]).toMatchObject({ ackFloor: 99n, lostToRetention: 1n, lag: 1n });
    expect(seen.length).toBe(delivered); // nothing acked above startOffset comes again
    await expect(seen[0]!.ack()).rejects.toMatchObject({ code: 'DELIVERY_STALE' });
    await seen.find((d) => d.offset === 99n)!.ack(); // still in flight: its ack counts
    expect(fixture.broker.describeGroup(topic, 'g').partitions[0]).toMatchObject({ ackFloor: 100n, lag: 0n });
  });

  it('a record backing off above startOffset keeps its attempts: its delay and maxDeliveries still hold', async () => {
    const topic = 'overtaken-backoff';
    const fixture = await overtakenTopic(topic);
    const seen: Delivery[] = [];
    await fixture.broker.subscribe({ topic, group: 'g', maxInFlight: 200, maxDeliveries: 2 }, (d) => {
      seen.push(d);
      if (d.offset === 0n) return new Promise(() => undefined);
      if (d.offset === 99n) void d.nack({ delayMs: 10_000 });
      return undefined;
    });
    await fixture.produce();
    await fixture.settle(() => seen.filter((d) => d.offset === 99n).length === 1);
    await retain(fixture, topic);
    expect(seen.filter((d) => d.offset === 99n)).toHaveLength(1); // still waiting out its backoff
    await fixture.advance(10_000);
    await fixture.settle(() => seen.filter((d) => d.offset === 99n).length === 2);
    expect(seen.filter((d) => d.offset === 99n).map((d) => d.deliveryCount)).toEqual([1, 2]);
    await fixture.advance(10_000);
    await fixture.settle(() => fixture.broker.describeGroup(topic, 'g').partitions[0]!.deadLettered === 1);
    expect(seen.filter((d) => d.offset === 99n)).toHaveLength(2);
  });

  it("ordering 'partition': a go-back to a record retention then deleted goes on from startOffset, in order", async () => {
    const topic = 'overtaken-go-back';
    const fixture = await overtakenTopic(topic);
    const seen: Delivery[] = [];
    await fixture.broker.subscribe({ topic, group: 'g', ordering: 'partition', maxInFlight: 200 }, (d) => {
      seen.push(d);
      if (d.offset === 0n) void d.nack({ delayMs: 60_000 }); // takes back every later record in flight
      return new Promise(() => undefined);
    });
    await fixture.produce();
    await fixture.settle(() => seen.length > 0 && fixture.broker.describeGroup(topic, 'g').partitions[0]!.backingOff === 1);
    const delivered = seen.length;
    const startOffset = await retain(fixture, topic);
    await fixture.settle(() => seen.length === delivered + Number(100n - startOffset));
    const again = seen.slice(delivered).map((d) => d.offset);
    expect(again).toEqual(Array.from({ length: Number(100n - startOffset) }, (_, i) => startOffset + BigInt(i)));
  });

  it("ordering 'key': a key whose holder is above startOffset keeps its lane: its next records wait for it, in order", async () => {
    const topic = 'overtaken-key';
    const fixture = await overtakenTopic(topic, (offset) => (offset >= 95 ? 'lane' : `k${offset}`));
    const seen = await holdingMember(fixture, { topic, group: 'g', ordering: 'key' }, (offset) => offset === 0n || offset === 95n);
    await fixture.produce();
    await fixture.settle(() => fixture.broker.describeGroup(topic, 'g').lag === 6n);
    const delivered = seen.length;
    await retain(fixture, topic);
    expect(seen.length).toBe(delivered);
    await seen.find((d) => d.offset === 95n)!.ack();
    await fixture.settle(() => fixture.broker.describeGroup(topic, 'g').lag === 0n);
    expect(seen.slice(delivered).map((d) => [d.offset, d.deliveryCount])).toEqual([[96n, 1], [97n, 1], [98n, 1], [99n, 1]]);
  });

  it("ordering 'key': a key held by a record retention deleted goes to its next record", async () => {
    const topic = 'overtaken-key-holder';
    const fixture = await overtakenTopic(topic, (offset) => (offset === 0 || offset === 99 ? 'lane' : `k${offset}`));
    const seen = await holdingMember(fixture, { topic, group: 'g', ordering: 'key' }, (offset) => offset === 0n);
    await fixture.produce();
    await fixture.settle(() => fixture.broker.describeGroup(topic, 'g').lag === 2n);
    expect(seen.map((d) => d.offset)).not.toContain(99n);
    await retain(fixture, topic);
    await fixture.settle(() => fixture.broker.describeGroup(topic, 'g').lag === 0n);
    expect(seen.filter((d) => d.offset === 99n).map((d) => d.deliveryCount)).toEqual([1]);
  });

  it("ordering 'key': a record the key was handed to, deleted before anyone took it, hands the key on", async () => {
    const topic = 'overtaken-key-handed';
    const fixture = await overtakenTopic(topic, () => 'lane');
    const options = { topic, group: 'g', ordering: 'key', maxDeliveries: 1 } as const;
    let held = 0;
    // Room for every record: all are read and taken, and those after offset 0 wait behind it.
    const first = await fixture.broker.subscribe({ ...options, maxInFlight: 200 }, () => {
      held += 1;
      return new Promise(() => undefined);
    });
    await fixture.produce();
    await fixture.settle();
    expect(held).toBe(1);
    // Its last attempt taken back, offset 0 is dead-lettered; then it hands the key to offset 1,
    // which no member takes before retention deletes it.
    first.abort();
    await fixture.settle(() => fixture.broker.describeGroup(topic, 'g').partitions[0]!.deadLettered === 1);
    const startOffset = await retain(fixture, topic);
    const delivered: bigint[] = [];
    await fixture.broker.subscribe({ ...options, maxInFlight: 200 }, (d) => void delivered.push(d.offset));
    await fixture.settle(() => fixture.broker.describeGroup(topic, 'g').lag === 0n);
    expect(delivered).toEqual(Array.from({ length: RECORDS - Number(startOffset) }, (_, i) => startOffset + BigInt(i)));
  });

  it('acks above the floor survive a restart, then retention overtaking, then another restart', async () => {
    const topic = 'overtaken-restart';
    const fixture = await overtakenTopic(topic);
    await holdingMember(fixture, { topic, group: 'g' }, (offset) => offset === 0n);
    await fixture.produce();
    await fixture.settle(() => fixture.broker.describeGroup(topic, 'g').lag === 1n);
    await fixture.restart();
    const startOffset = await retain(fixture, topic);
    expect(fixture.broker.describeGroup(topic, 'g').partitions[0]).toMatchObject({ ackFloor: 100n, lostToRetention: 1n });
    await fixture.restart();
    const seen = await holdingMember(fixture, { topic, group: 'g' }, () => false);
    await fixture.settle();
    expect(seen).toEqual([]);
    expect(fixture.broker.describeTopic(topic).partitions[0]!.startOffset).toBe(startOffset);
    expect(fixture.broker.describeGroup(topic, 'g').partitions[0]).toMatchObject({ ackFloor: 100n, lag: 0n });
  });

  it('a reset racing retention restarts the group at startOffset: records deleted before it applied are not lost again', async () => {
    const topic = 'overtaken-reset';
    // The reset looks up its offset by time in the log; retention runs to its end while that read waits.
    const { world: fixture, holdNextRead } = await heldReads();
    await fixture.broker.createTopic(topic, { segmentBytesMax: 4096, retention: { maxBytes: 8192 } });
    const seen = await holdingMember(fixture, { topic, group: 'g' }, () => false);
    for (let i = 0; i < RECORDS; i++) await fixture.broker.produce(topic, [{ value: `m${i}`.padEnd(200, '.') }]);
    await fixture.settle(() => fixture.broker.describeGroup(topic, 'g').lag === 0n);
    const held = holdNextRead(new RegExp(`/topics/${topic}/`));
    const resetting = fixture.broker.resetGroup(topic, 'g', { timestamp: 0 });
    await held.reached;
    await fixture.broker.enforceRetention();
    const { startOffset } = fixture.broker.describeTopic(topic).partitions[0]!;
    expect(startOffset).toBeGreaterThan(0n);
    held.release();
    expect(await resetting).toEqual([startOffset]);
    await fixture.settle(() => fixture.broker.describeGroup(topic, 'g').lag === 0n);
    expect(fixture.broker.describeGroup(topic, 'g').partitions[0]).toMatchObject({ lostToRetention: 0n, ackFloor: 100n });
    expect(seen.slice(RECORDS).map((d) => d.offset)[0]).toBe(startOffset);
  });

  it.each(['earliest', { offset: 0n }, { timestamp: 0 }] as const)('a group created from %o while retention runs starts at the new startOffset: records deleted before it existed are not lost to it', async (from) => {
    const topic = 'overtaken-creating';
    const fixture = await overtakenTopic(topic);
    await fixture.produce();
    const dropped: unknown[] = [];
    fixture.broker.on('retentionDropped', (event) => void (event.group !== undefined && dropped.push(event)));
    // The group's floors are found before retention moves startOffset, its files written after.
    let joined: Promise<Delivery[]> | undefined;
    duringRetention(fixture, 'checkpoint', () => (joined = holdingMember(fixture, { topic, group: 'fresh', from }, () => false)));
    await fixture.broker.enforceRetention();
    const seen = await joined!;
    await fixture.settle(() => fixture.broker.describeGroup(topic, 'fresh').lag === 0n);
    const { startOffset } = fixture.broker.describeTopic(topic).partitions[0]!;
    expect(startOffset).toBeGreaterThan(0n);
    expect(seen[0]!.offset).toBe(startOffset);
    expect(fixture.broker.describeGroup(topic, 'fresh').partitions[0]).toMatchObject({ lostToRetention: 0n, ackFloor: 100n });
    expect(dropped).toEqual([]);
  });
});

describe("retention overtaking a group in 'key' ordering, a key in two partitions", () => {
  it('a waiting record that retention took is passed over: the key goes to the next one waiting', async () => {
    const { broker, settle } = await engineFixture();
    await broker.createTopic('t', { partitions: 2, segmentBytesMax: 4096, retention: { maxBytes: 8192 } });
    await broker.produce('t', [{ key: 'K', value: 'holder', partition: 0 }, { key: 'K', value: 'lost', partition: 1 }]);
    const c = parking();
    await broker.subscribe({ topic: 't', group: 'g', ordering: 'key', maxInFlight: 100 }, c.handler);
    await settle();
    await broker.produce('t', [{ key: 'K', value: 'next', partition: 0 }]); // waits behind 'lost'
    await settle();
    expect(c.held.map((d) => d.text())).toEqual(['holder']);
    for (let i = 0; i < 60; i++) await broker.produce('t', [{ value: 'x'.repeat(300), partition: 1 }]);
    await broker.enforceRetention();
    expect(broker.describeGroup('t', 'g').partitions[1]!.lostToRetention).toBeGreaterThan(0n);
    await c.held[0]!.ack();
    await settle();
    expect(c.held.filter((d) => d.key !== null).map((d) => d.text())).toEqual(['holder', 'next']);
  });
});

describe('retention overtaking groups when one of them cannot journal it', () => {
  it("a group whose journal failed does not keep retention from telling the topic's other groups what they lost", async () => {
    const topic = 'overtaken-journal-failed';
    const fixture = await overtakenTopic(topic);
    const failing = await holdingMember(fixture, { topic, group: 'a-failed' }, () => true);
    await holdingMember(fixture, { topic, group: 'b-healthy' }, () => true);
    await fixture.produce();
    await fixture.settle(() => failing.length > 0);
    fixture.fs.failNext('write', { errno: 'EIO', path: /\/groups\/overtaken-journal-failed\/a-failed\// });
    await expect(failing[0]!.ack()).rejects.toMatchObject({ code: 'IO_ERROR' });
    await expect(fixture.broker.enforceRetention()).rejects.toMatchObject({ code: 'IO_ERROR' });
    await fixture.settle();
    const { startOffset } = fixture.broker.describeTopic(topic).partitions[0]!;
    expect(startOffset).toBeGreaterThan(0n);
    expect(fixture.broker.describeGroup(topic, 'b-healthy').partitions[0]).toMatchObject({ ackFloor: startOffset, lostToRetention: startOffset });
  });
});
