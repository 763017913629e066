/**
 * One test per delivery rule of DESIGN.md "Delivery semantics": acks, nacks, leases, backoff,
 * dead letters, flow control, fan-out and load balancing. All on the virtual clock.
 */
import { describe, expect, it } from 'vitest';
import { MemoryFileSystem } from '@brook/protocol';
import { holdingSyncsOf } from '../log/log-fixture.js';
import type { Delivery } from './delivery.js';
import { engineFixture, parking } from './group-fixture.js';
import { DEAD_LETTER_HEADERS } from './dead-letter.js';

async function topicWith(count: number, options: Parameters<typeof engineFixture>[0] = {}) {
  const fixture = await engineFixture(options);
  await fixture.broker.createTopic('t');
  if (count > 0) await fixture.broker.produce('t', Array.from({ length: count }, (_, i) => ({ value: `m${i}` })));
  return fixture;
}

describe('acks', () => {
  it('a handler that resolves acks: the group has no lag and every record was acked once', async () => {
    const { broker, settle } = await topicWith(5);
    const acked: bigint[] = [];
    broker.on('acked', (e) => acked.push(e.offset));
    await broker.subscribe({ topic: 't', group: 'g' }, () => undefined);
    await settle(() => broker.describeGroup('t', 'g').lag === 0n);
    expect(acked.sort()).toEqual([0n, 1n, 2n, 3n, 4n]);
  });

  it('ack() resolves once the ack is durable: a power cut after it loses nothing', async () => {
    const fixture = await topicWith(3);
    const { held, handler } = parking();
    await fixture.broker.subscribe({ topic: 't', group: 'g' }, handler);
    await fixture.settle(() => held.length === 3);
    await held[0]!.ack();
    await held[1]!.ack();
    const broker = await fixture.restart();
    const seen: bigint[] = [];
    await broker.subscribe({ topic: 't', group: 'g' }, (d) => void seen.push(d.offset));
    await fixture.settle(() => broker.describeGroup('t', 'g').lag === 0n);
    expect(seen).toEqual([2n]);
  });

  it('every settlement returns a promise, and the first one wins: later calls return its promise', async () => {
    const { broker, settle } = await topicWith(2);
    const { held, handler } = parking();
    await broker.subscribe({ topic: 't', group: 'g', backoff: { initialMs: 60_000, jitter: 0 } }, handler);
    await settle(() => held.length === 2);
    const [acked, nacked] = held as [Delivery, Delivery];
    await expect(acked.extend(5000)).resolves.toBeUndefined();
    const ack = acked.ack();
    expect(acked.nack()).toBe(ack);
    expect(acked.extend()).toBe(ack);
    expect(acked.reject('late')).toBe(ack);
    await ack;
    const nack = nacked.nack();
    await expect(nack).resolves.toBeUndefined();
    expect(nacked.ack()).toBe(nack);
    expect(broker.describeGroup('t', 'g').partitions[0]!.ackFloor).toBe(1n);
  });

  it('an ack of a stale delivery (its lease expired) rejects with DELIVERY_STALE and does nothing; the record comes again', async () => {
    const { broker, settle, advance } = await topicWith(1);
    const { held, handler } = parking();
    await broker.subscribe({ topic: 't', group: 'g', ackTimeoutMs: 1000, backoff: { initialMs: 0, jitter: 0 } }, handler);
    await settle(() => held.length === 1);
    expect(held[0]!.stale).toBe(false);
    await advance(1000);
    await settle(() => held.length === 2);
    expect(held[0]!.stale).toBe(true);
    await expect(held[0]!.ack()).rejects.toMatchObject({ code: 'DELIVERY_STALE', retriable: false });
    expect(held[0]!.stale).toBe(false); // settled now: the first settlement wins, even a stale one
    expect(broker.describeGroup('t', 'g').lag).toBe(1n);
    expect(held[1]!.deliveryCount).toBe(2);
    await held[1]!.ack();
    expect(broker.describeGroup('t', 'g').lag).toBe(0n);
  });
  it('a stale delivery: reject() rejects with DELIVERY_STALE and dead-letters nothing; nack() and extend() resolve', async () => {
    const { broker, settle, advance } = await topicWith(3);
    const { held, handler } = parking();
    await broker.subscribe({ topic: 't', group: 'g', ackTimeoutMs: 1000, backoff: { initialMs: 0, jitter: 0 } }, handler);
    await settle(() => held.length === 3);
    await advance(1000);
    await settle(() => held.length === 6);
    const [rejected, nacked, extended] = held as [Delivery, Delivery, Delivery];
    await expect(rejected.reject('late')).rejects.toMatchObject({ code: 'DELIVERY_STALE' });
    await expect(nacked.nack()).resolves.toBeUndefined();
    await expect(extended.extend(5000)).resolves.toBeUndefined();
    expect(broker.describeGroup('t', 'g').partitions[0]).toMatchObject({ deadLettered: 0 });
    expect(held.slice(3).map((d) => d.deliveryCount)).toEqual([2, 2, 2]);
  });
});

describe('redelivery and backoff', () => {
  it('a handler that throws nacks; the record comes back after the backoff, not before', async () => {
    const { broker, settle, advance } = await topicWith(1);
    const attempts: number[] = [];
    await broker.subscribe({ topic: 't', group: 'g', backoff: { initialMs: 500, jitter: 0 } }, (d) => {
      attempts.push(d.deliveryCount);
      if (d.deliveryCount === 1) throw new Error('boom');
    });
    await settle(() => attempts.length === 1);
    await advance(499);
    expect(attempts).toEqual([1]);
    await advance(1);
    await settle(() => attempts.length === 2);
    expect(attempts).toEqual([1, 2]);
    await settle(() => broker.describeGroup('t', 'g').lag === 0n);
  });

  it('backoff grows by the multiplier up to maxMs, for nacks and lease expiries alike', async () => {
    const { broker, settle, advance } = await topicWith(1);
    const delays: number[] = [];
    broker.on('redelivered', (e) => delays.push(e.delayMs));
    const { held, handler } = parking();
    await broker.subscribe({ topic: 't', group: 'g', ackTimeoutMs: 10_000, backoff: { initialMs: 100, multiplier: 3, maxMs: 1000, jitter: 0 } }, handler);
    await settle(() => held.length === 1);
    held[0]!.nack();
    await advance(100);
    await settle(() => held.length === 2);
    await advance(10_000); // lease expiry counts as a failed attempt too
    await advance(300);
    await settle(() => held.length === 3);
    held[2]!.nack();
    await advance(900);
    await settle(() => held.length === 4);
    held[3]!.nack();
    expect(delays).toEqual([100, 300, 900, 1000]);
  });

  it('nack({ delayMs }) overrides the backoff', async () => {
    const { broker, settle, advance } = await topicWith(1);
    const { held, handler } = parking();
    await broker.subscribe({ topic: 't', group: 'g', backoff: { initialMs: 60_000 } }, handler);
    await settle(() => held.length === 1);
    held[0]!.nack({ delayMs: 5 });
    await advance(5);
    await settle(() => held.length === 2);
    expect(held[1]).toMatchObject({ offset: 0n, deliveryCount: 2, redelivered: true });
  });

  it('a lease expires after ackTimeoutMs (leaseExpired event); extend() renews it', async () => {
    const { broker, settle, advance } = await topicWith(1);
    const expired: number[] = [];
    broker.on('leaseExpired', (e) => expired.push(e.deliveryCount));
    const { held, handler } = parking();
    await broker.subscribe({ topic: 't', group: 'g', ackTimeoutMs: 1000, backoff: { initialMs: 0, jitter: 0 } }, handler);
    await settle(() => held.length === 1);
    await advance(900);
    held[0]!.extend();
    await advance(900);
    expect(expired).toEqual([]);
    held[0]!.extend(5000);
    await advance(4999);
    expect(expired).toEqual([]);
    await advance(1);
    expect(expired).toEqual([1]);
    await settle(() => held.length === 2);
    expect(broker.describeGroup('t', 'g').partitions[0]!.inFlight).toEqual([
      expect.objectContaining({ offset: 0n, deliveryCount: 2 }),
    ]);
  });

  it('a lease that runs out while its attempt is still being journaled is no attempt: the record goes out with deliveryCount 1, no leaseExpired', async () => {
    const syncs = holdingSyncsOf(new MemoryFileSystem(), (path) => path.includes('/journal-'));
    const { broker, advance, settle } = await topicWith(0, { fs: syncs.fs, fsync: 'always' });
    const expired: bigint[] = [];
    broker.on('leaseExpired', (e) => expired.push(e.offset));
    const { held, handler } = parking();
    await broker.subscribe({ topic: 't', group: 'g-slow-journal', ackTimeoutMs: 1000, backoff: { initialMs: 100, jitter: 0 } }, handler);
    syncs.hold();
    await broker.produce('t', [{ value: 'late' }]);
    await settle(() => syncs.state.held > 0);
    await advance(1000); // the disk is slower than the lease
    syncs.release();
    await advance(500); // past a lease expiry's backoff
    await settle(() => held.length === 1);
    expect([held[0]!.deliveryCount, expired]).toEqual([1, []]);
  });

  it('a member that crashes (abort) has its records redelivered to the others, attempt + 1', async () => {
    const { broker, settle } = await topicWith(4);
    const a = parking();
    const b = parking();
    const reasons: string[] = [];
    broker.on('redelivered', (e) => reasons.push(e.reason));
    const subA = await broker.subscribe({ topic: 't', group: 'g', maxInFlight: 4 }, a.handler);
    await settle(() => a.held.length === 4);
    await broker.subscribe({ topic: 't', group: 'g', maxInFlight: 4 }, b.handler);
    subA.abort();
    await settle(() => b.held.length === 4);
    expect(b.held.map((d) => [d.offset, d.deliveryCount])).toEqual([[0n, 2], [1n, 2], [2n, 2], [3n, 2]]);
    expect(reasons).toEqual(['memberLeft', 'memberLeft', 'memberLeft', 'memberLeft']);
  });

  it('a member that crashes (abort) while its graceful close() waits leaves once: the other members stay', async () => {
    const { broker, settle } = await topicWith(2);
    const a = parking();
    const b = parking();
    const subA = await broker.subscribe({ topic: 't', group: 'g', maxInFlight: 1 }, a.handler);
    await settle(() => a.held.length === 1);
    await broker.subscribe({ topic: 't', group: 'g', maxInFlight: 1 }, b.handler);
    await settle(() => b.held.length === 1);
    const closing = subA.close();
    await settle(() => broker.describeGroup('t', 'g').members[0]?.closing === true);
    subA.abort();
    await closing;
    await settle();
    expect(broker.describeGroup('t', 'g').members.map((m) => m.id)).toEqual(['g-1']);
  });

  it('close() is graceful: nothing new is delivered, and it waits for running handlers to finish', async () => {
    const { broker, settle } = await topicWith(3);
    let release: () => void = () => undefined;
    const started: bigint[] = [];
    const sub = await broker.subscribe({ topic: 't', group: 'g', maxInFlight: 1 }, (d) => {
      started.push(d.offset);
      return new Promise<void>((resolve) => (release = resolve));
    });
    await settle(() => started.length === 1);
    let closed = false;
    const closing = sub.close().then(() => (closed = true));
    await settle();
    expect(closed).toBe(false);
    release();
    await closing;
    expect(started).toEqual([0n]);
    expect(broker.describeGroup('t', 'g').partitions[0]!.ackFloor).toBe(1n);
  });
});

describe('dead letters', () => {
  it('reject(reason) dead-letters at once, with origin headers, and counts as acked', async () => {
    const { broker, settle } = await topicWith(2);
    await broker.subscribe({ topic: 't', group: 'g' }, async (d) => {
      if (d.offset === 1n) await d.reject('bad payload');
    });
    await settle(() => broker.describeGroup('t', 'g').lag === 0n);
    const [dead] = await broker.fetch({ topic: 't.dlq', partition: 0, offset: 0n });
    const header = (key: string) => new TextDecoder().decode(dead!.headers.find((h) => h.key === key)!.value!);
    expect(new TextDecoder().decode(dead!.value!)).toBe('m1');
    expect(header(DEAD_LETTER_HEADERS.topic)).toBe('t');
    expect(header(DEAD_LETTER_HEADERS.partition)).toBe('0');
    expect(header(DEAD_LETTER_HEADERS.offset)).toBe('1');
    expect(header(DEAD_LETTER_HEADERS.group)).toBe('g');
    expect(header(DEAD_LETTER_HEADERS.deliveryCount)).toBe('1');
    expect(header(DEAD_LETTER_HEADERS.reason)).toBe('rejected: bad payload');
    expect(broker.describeGroup('t', 'g').partitions[0]!.deadLettered).toBe(1);
  });

  it('after maxDeliveries failed attempts the record goes to the dead-letter topic (custom name)', async () => {
    const { broker, settle, advance } = await topicWith(1);
    const attempts: number[] = [];
    const dead: string[] = [];
    broker.on('deadLettered', (e) => dead.push(`${e.deliveryCount} ${e.deadLetterTopic} ${e.reason}`));
    await broker.subscribe({ topic: 't', group: 'g', maxDeliveries: 3, deadLetterTopic: 'poison', backoff: { initialMs: 10, jitter: 0 } }, (d) => {
      attempts.push(d.deliveryCount);
      throw new Error('always fails');
    });
    for (let i = 0; i < 5; i++) await advance(100);
    await settle(() => dead.length === 1);
    expect(attempts).toEqual([1, 2, 3]);
    // The reason says what the handler threw on its last attempt.
    expect(dead).toEqual(['3 poison nack on attempt 3 of maxDeliveries 3; last failure: Error: always fails']);
    expect(await broker.fetch({ topic: 'poison', partition: 0, offset: 0n })).toHaveLength(1);
    expect(broker.describeGroup('t', 'g').lag).toBe(0n);
  });
});

describe('flow control, fan-out and load balancing', () => {
  // Per member (maxInFlight) or per group and partition (groupUnackedRecordsMax, with credit to
  // spare): exactly the limit is delivered, and an ack at the floor lets exactly one more through.
  it.each([
    ['maxInFlight per member', {}, { maxInFlight: 3 }],
    ['groupUnackedRecordsMax per group and partition', { groupUnackedRecordsMax: 3 }, { maxInFlight: 10 }],
  ])('never has more than %s unacked', async (_limit, brokerOptions, subscribeOptions) => {
    const { broker, settle } = await topicWith(10, brokerOptions);
    const { held, handler } = parking();
    await broker.subscribe({ topic: 't', group: 'g', ...subscribeOptions }, handler);
    await settle(() => held.length === 3);
    await settle();
    expect(held).toHaveLength(3);
    await held[0]!.ack();
    await settle(() => held.length === 4);
    await settle();
    expect(held).toHaveLength(4);
  });

  it('two groups each get every record (fan-out); members of one group share them (load balancing)', async () => {
    const { broker, settle } = await topicWith(0);
    const seen = new Map<string, bigint[]>();
    const consumer = (name: string) => (d: Delivery) => void (seen.get(name) ?? seen.set(name, []).get(name)!).push(d.offset);
    await broker.subscribe({ topic: 't', group: 'audit' }, consumer('audit'));
    for (const name of ['b1', 'b2', 'b3']) await broker.subscribe({ topic: 't', group: 'billing', maxInFlight: 2 }, consumer(name));
    await broker.produce('t', Array.from({ length: 30 }, (_, i) => ({ value: `m${i}` })));
    await settle(() => broker.describeGroup('t', 'audit').lag === 0n && broker.describeGroup('t', 'billing').lag === 0n);
    expect(seen.get('audit')).toHaveLength(30);
    const billing = ['b1', 'b2', 'b3'].map((name) => seen.get(name) ?? []);
    expect(billing.every((offsets) => offsets.length > 0)).toBe(true);
    expect(billing.flat().sort((a, b) => Number(a - b))).toEqual(Array.from({ length: 30 }, (_, i) => BigInt(i)));
  });

  it('a subscription without a group tails the topic: from latest, every reader sees every record, no redelivery', async () => {
    const { broker, settle } = await topicWith(5);
    const one: bigint[] = [];
    const two: bigint[] = [];
    await broker.subscribe({ topic: 't' }, (d) => void one.push(d.offset));
    await broker.subscribe({ topic: 't' }, (d) => {
      two.push(d.offset);
      throw new Error('ignored: tail readers do not redeliver');
    });
    await broker.produce('t', [{ value: 'new1' }, { value: 'new2' }]);
    await settle(() => one.length === 2 && two.length === 2);
    await settle();
    expect(one).toEqual([5n, 6n]);
    expect(two).toEqual([5n, 6n]);
    expect(broker.listGroups('t')).toEqual([]);
  });

  it('consume() is the async-iterator form; leaving the loop early sends unacked records back', async () => {
    const { broker, settle } = await topicWith(4);
    const seen: bigint[] = [];
    for await (const message of broker.consume({ topic: 't', group: 'g', maxInFlight: 2 })) {
      seen.push(message.offset);
      if (seen.length === 3) break;
      await message.ack();
    }
    expect(seen).toEqual([0n, 1n, 2n]);
    await settle();
    const group = broker.describeGroup('t', 'g');
    expect(group.members).toEqual([]);
    expect(group.partitions[0]!.ackFloor).toBe(2n);
  });

  it.each([
    ['a group', 'g'],
    ['a tail reader', undefined],
  ])('consume() of %s: deleting the topic ends the loop with UNKNOWN_TOPIC, closing the broker with CLOSED', async (_what, group) => {
    const { broker, settle } = await topicWith(1);
    await broker.createTopic('other');
    const loop = async (topic: string): Promise<bigint[]> => {
      const seen: bigint[] = [];
      for await (const message of broker.consume({ topic, group, from: 'earliest' })) {
        seen.push(message.offset);
        await message.ack();
      }
      return seen;
    };
    const onT = loop('t');
    const onOther = loop('other');
    await settle();
    await broker.deleteTopic('t');
    await expect(onT).rejects.toMatchObject({ code: 'UNKNOWN_TOPIC', details: { topic: 't' } });
    await broker.close();
    await expect(onOther).rejects.toMatchObject({ code: 'CLOSED' });
  });

  it('consume() that is still joining when the broker closes ends too (it does not wait forever)', async () => {
    const { broker } = await topicWith(2);
    const loop = (async () => {
      for await (const message of broker.consume({ topic: 't', group: 'late' })) await message.ack();
    })();
    await broker.close();
    await expect(loop).rejects.toMatchObject({ code: 'CLOSED' });
  });
});

describe('credit freed by a nack', () => {
  it('goes to the next ready record at once, while the nacked one waits out its backoff', async () => {
    const fixture = await engineFixture();
    await fixture.broker.createTopic('t');
    await fixture.broker.produce('t', [{ value: 'a' }, { value: 'b' }, { value: 'c' }]);
    const seen: string[] = [];
    await fixture.broker.subscribe(
      { topic: 't', group: 'g', maxInFlight: 1, backoff: { initialMs: 10_000, jitter: 0 } },
      (d) => {
        seen.push(`${d.text()}@${fixture.clock.now()}`);
        if (d.text() === 'a' && d.deliveryCount === 1) throw new Error('first attempt fails');
      },
    );
    const start = fixture.clock.now();
    await fixture.settle(() => seen.length === 3);
    expect(seen).toEqual([`a@${start}`, `b@${start}`, `c@${start}`]);
    await fixture.advance(10_000);
    await fixture.settle(() => seen.length === 4);
    expect(seen[3]).toBe(`a@${start + 10_000}`);
  });
});
