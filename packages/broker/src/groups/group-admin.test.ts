/**
 * Where a group starts and how it is moved: `from`, resetGroup (replay), describeGroup, config
 * agreement between members, retention overtaking a slow group, and discard 'new' backpressure.
 */
import { describe, expect, it } from 'vitest';
import type { Delivery } from './delivery.js';
import { TOPIC_NAME_LENGTH_MAX } from '../index.js';
import { engineFixture } from './group-fixture.js';

const values = (deliveries: Delivery[]) => deliveries.map((d) => d.text());

async function topicWith(count: number) {
  const fixture = await engineFixture();
  await fixture.broker.createTopic('t');
  for (let i = 0; i < count; i++) {
    await fixture.broker.produce('t', [{ value: `m${i}`, timestamp: 1000 * (i + 1) }]);
  }
  return fixture;
}

describe('where a new group starts', () => {
  it.each([
    ['earliest', 'earliest', ['m0', 'm1', 'm2', 'm3']],
    ['latest', 'latest', []],
    ['an offset', { offset: 2n }, ['m2', 'm3']],
    ['an offset past the end (clamped)', { offset: 99n }, []],
    ['a timestamp', { timestamp: 2500 }, ['m2', 'm3']],
  ] as const)('from %s', async (_name, from, expected) => {
    const { broker, settle } = await topicWith(4);
    const seen: Delivery[] = [];
    await broker.subscribe({ topic: 't', group: 'g', from }, (d) => void seen.push(d));
    await settle(() => broker.describeGroup('t', 'g').lag === 0n);
    expect(values(seen)).toEqual(expected);
  });

  it('an existing group ignores `from` and continues where it was', async () => {
    const { broker, settle } = await topicWith(2);
    const first = await broker.subscribe({ topic: 't', group: 'g' }, () => undefined);
    await settle(() => broker.describeGroup('t', 'g').lag === 0n);
    await first.close();
    await broker.produce('t', [{ value: 'm2' }]);
    const seen: Delivery[] = [];
    await broker.subscribe({ topic: 't', group: 'g', from: 'earliest' }, (d) => void seen.push(d));
    await settle(() => broker.describeGroup('t', 'g').lag === 0n);
    expect(values(seen)).toEqual(['m2']);
  });
});

describe('resetGroup (replay)', () => {
  it('to earliest: a member sees everything again; to a timestamp: from there', async () => {
    const { broker, settle } = await topicWith(4);
    const seen: Delivery[] = [];
    await broker.subscribe({ topic: 't', group: 'g' }, (d) => void seen.push(d));
    await settle(() => broker.describeGroup('t', 'g').lag === 0n);
    expect(await broker.resetGroup('t', 'g', 'earliest')).toEqual([0n]);
    await settle(() => seen.length === 8);
    expect(await broker.resetGroup('t', 'g', { timestamp: 3000 })).toEqual([2n]);
    await settle(() => seen.length === 10);
    expect(values(seen)).toEqual(['m0', 'm1', 'm2', 'm3', 'm0', 'm1', 'm2', 'm3', 'm2', 'm3']);
    expect(seen.slice(4).every((d) => d.deliveryCount === 1)).toBe(true);
  });

  it('a reset made while the group reads the log replays every record from the reset point', async () => {
    // Without the tail cache, the read of new records waits for the file system: the reset lands during it.
    const { broker, settle } = await engineFixture({ logTailCacheBytes: 0 });
    await broker.createTopic('reset-reading');
    await broker.produce('reset-reading', Array.from({ length: 100 }, (_, i) => ({ value: `m${i}` })));
    const seen: bigint[] = [];
    await broker.subscribe({ topic: 'reset-reading', group: 'g-reading', maxInFlight: 5 }, (d) => void seen.push(d.offset));
    await settle(() => broker.describeGroup('reset-reading', 'g-reading').lag === 0n, 2000);
    seen.length = 0;
    await broker.produce('reset-reading', Array.from({ length: 100 }, (_, i) => ({ value: `n${i}` })));
    await broker.resetGroup('reset-reading', 'g-reading', { offset: 50n });
    await settle(() => broker.describeGroup('reset-reading', 'g-reading').lag === 0n, 2000);
    expect(seen).toEqual(Array.from({ length: 150 }, (_, i) => BigInt(50 + i)));
  });

  it('acks of deliveries made before the reset are stale: they do not ack the replayed records', async () => {
    const { broker, settle } = await topicWith(2);
    const held: Delivery[] = [];
    await broker.subscribe({ topic: 't', group: 'g' }, (d) => (held.push(d), new Promise<void>(() => undefined)));
    await settle(() => held.length === 2);
    await broker.resetGroup('t', 'g', 'earliest');
    await settle(() => held.length === 4);
    for (const old of held.slice(0, 2)) await expect(old.ack()).rejects.toMatchObject({ code: 'DELIVERY_STALE' });
    const description = broker.describeGroup('t', 'g');
    expect(description.lag).toBe(2n);
    expect(description.members[0]!.inFlight).toBe(2);
    expect(description.partitions[0]!.inFlight.map((f) => [f.offset, f.deliveryCount])).toEqual([[0n, 1], [1n, 1]]);
    await Promise.all(held.slice(2).map((d) => d.ack()));
    expect(broker.describeGroup('t', 'g').lag).toBe(0n);
  });

  it('a record being dead-lettered at the reset is copied, counted, and replayed', async () => {
    const { broker, settle } = await topicWith(1);
    const deliveryCounts: number[] = [];
    await broker.subscribe({ topic: 't', group: 'g' }, (d) => {
      deliveryCounts.push(d.deliveryCount);
      if (deliveryCounts.length === 1) {
        void d.reject('bad');
        void broker.resetGroup('t', 'g', 'earliest');
      }
    });
    await settle(() => deliveryCounts.length === 2 && broker.describeGroup('t', 'g').lag === 0n);
    expect(deliveryCounts).toEqual([1, 1]);
    expect(await broker.fetch({ topic: 't.dlq', partition: 0, offset: 0n })).toHaveLength(1);
    expect(broker.describeGroup('t', 'g').partitions[0]!.deadLettered).toBe(1);
  });

  it('a record in backoff that a reset skips leaves no timer behind, and never comes again', async () => {
    const fixture = await topicWith(1);
    const { broker, settle, clock } = fixture;
    const seen: Delivery[] = [];
    await broker.subscribe({ topic: 't', group: 'g', backoff: { initialMs: 10_000, maxMs: 20_000 } }, (d) => {
      seen.push(d);
      throw new Error('fails: backs off');
    });
    await settle(() => broker.describeGroup('t', 'g').partitions[0]!.backingOff === 1);
    const timersBackingOff = clock.pendingTimers();
    await broker.resetGroup('t', 'g', 'latest');
    expect(clock.pendingTimers()).toBe(timersBackingOff - 1);
    await fixture.advance(60_000);
    expect(seen).toHaveLength(1);
  });

  it('UNKNOWN_GROUP for a group that does not exist', async () => {
    const { broker } = await topicWith(0);
    await expect(broker.resetGroup('t', 'nope', 'earliest')).rejects.toMatchObject({ code: 'UNKNOWN_GROUP' });
    expect(() => broker.describeGroup('t', 'nope')).toThrow(expect.objectContaining({ code: 'UNKNOWN_GROUP' }));
  });

  it('UNKNOWN_TOPIC, naming it, for a topic that does not exist: describe, reset, list and delete alike', async () => {
    const { broker } = await topicWith(0);
    const unknownTopic = expect.objectContaining({ code: 'UNKNOWN_TOPIC', details: expect.objectContaining({ topic: 'no-such' }) });
    expect(() => broker.describeGroup('no-such', 'g')).toThrow(unknownTopic);
    expect(() => broker.listGroups('no-such')).toThrow(unknownTopic);
    await expect(broker.resetGroup('no-such', 'g', 'earliest')).rejects.toEqual(unknownTopic);
    await expect(broker.deleteGroup('no-such', 'g')).rejects.toEqual(unknownTopic);
  });
});

describe('describeGroup', () => {
  it('shows members, per-partition floor, lag, what is in flight with its lease, and counters', async () => {
    const { broker, settle, clock } = await topicWith(3);
    await broker.subscribe({ topic: 't', group: 'g', maxInFlight: 2, ackTimeoutMs: 5000, name: 'worker-a' }, () => new Promise(() => undefined));
    await settle();
    const description = broker.describeGroup('t', 'g');
    expect(description.members).toEqual([{ id: 'g-0', name: 'worker-a', maxInFlight: 2, inFlight: 2, closing: false, paused: false, leaseLost: false }]);
    expect(description.config).toMatchObject({ ordering: 'none', ackTimeoutMs: 5000, deadLetterTopic: 't.dlq' });
    expect(description.lag).toBe(3n);
    expect(description.partitions[0]).toMatchObject({ partition: 0, ackFloor: 0n, endOffset: 3n, lag: 3n, deadLettered: 0, lostToRetention: 0n });
    expect(description.partitions[0]!.inFlight).toEqual([
      { offset: 0n, member: 'g-0', deliveryCount: 1, leaseDeadlineMs: clock.now() + 5000 },
      { offset: 1n, member: 'g-0', deliveryCount: 1, leaseDeadlineMs: clock.now() + 5000 },
    ]);
    // A member that gave no name is named by its id.
    await broker.subscribe({ topic: 't', group: 'g', maxInFlight: 2, ackTimeoutMs: 5000 }, () => undefined);
    expect(broker.describeGroup('t', 'g').members.map((m) => [m.id, m.name])).toEqual([['g-0', 'worker-a'], ['g-1', 'g-1']]);
  });
});

describe('group settings', () => {
  it('a member asking for other settings than the running members is refused with INVALID_CONFIG', async () => {
    const { broker } = await topicWith(0);
    await broker.subscribe({ topic: 't', group: 'g', ordering: 'key' }, () => undefined);
    await expect(broker.subscribe({ topic: 't', group: 'g', ordering: 'none' }, () => undefined)).rejects.toMatchObject({
      code: 'INVALID_CONFIG', details: { conflicts: ['ordering'] },
    });
  });

  it('an empty group takes the settings of the member that joins it', async () => {
    const { broker, settle } = await topicWith(0);
    const first = await broker.subscribe({ topic: 't', group: 'g', ordering: 'key' }, () => undefined);
    await first.close();
    await broker.subscribe({ topic: 't', group: 'g', ordering: 'partition' }, () => undefined);
    await settle();
    expect(broker.describeGroup('t', 'g').config.ordering).toBe('partition');
  });

  it.each([
    ['ordering', { ordering: 'fifo' }],
    // The LIMITS entries (maxInFlight, ackTimeoutMs, ...) at their bounds: config/limits.test.ts.
    ['jitter 2', { backoff: { jitter: 2 } }],
    ['multiplier below 1', { backoff: { multiplier: 0.99 } }],
    ['multiplier above 100', { backoff: { multiplier: 100.01 } }],
    ['maxMs < initialMs', { backoff: { initialMs: 10, maxMs: 5 } }],
    ['a bad from', { from: 'yesterday' }],
  ])('refuses %s with INVALID_CONFIG', async (_name, options) => {
    const { broker } = await topicWith(0);
    await expect(broker.subscribe({ topic: 't', group: 'g', ...(options as object) }, () => undefined)).rejects.toMatchObject({ code: 'INVALID_CONFIG' });
  });

  it('refuses a bad group name (a path, one character past TOPIC_NAME_LENGTH_MAX), and an unknown topic', async () => {
    const { broker } = await topicWith(0);
    await expect(broker.subscribe({ topic: 't', group: 'a/b' }, () => undefined)).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
    await expect(broker.subscribe({ topic: 't', group: 'g'.repeat(TOPIC_NAME_LENGTH_MAX + 1) }, () => undefined)).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
    await (await broker.subscribe({ topic: 't', group: 'g'.repeat(TOPIC_NAME_LENGTH_MAX) }, () => undefined)).close();
    expect(broker.listGroups('t')).toEqual([{ topic: 't', group: 'g'.repeat(TOPIC_NAME_LENGTH_MAX) }]);
    await expect(broker.subscribe({ topic: 'nope', group: 'g' }, () => undefined)).rejects.toMatchObject({ code: 'UNKNOWN_TOPIC' });
  });
});

describe('retention and backpressure', () => {
  it('retention overtaking a slow group: the group is told how many records it lost and goes on at startOffset', async () => {
    const fixture = await engineFixture();
    const { broker, settle } = fixture;
    await broker.createTopic('t', { segmentBytesMax: 4096, retention: { maxBytes: 8192 } });
    const held: Delivery[] = [];
    await broker.subscribe({ topic: 't', group: 'slow', maxInFlight: 1 }, (d) => {
      held.push(d);
      return new Promise(() => undefined);
    });
    for (let i = 0; i < 100; i++) await broker.produce('t', [{ value: 'x'.repeat(200) }]);
    await settle(() => held.length === 1);
    const lost: bigint[] = [];
    broker.on('retentionDropped', (e) => e.group === 'slow' && lost.push(e.lostRecords));
    await broker.enforceRetention();
    const startOffset = broker.describeTopic('t').partitions[0]!.startOffset;
    expect(startOffset).toBeGreaterThan(0n);
    expect(lost).toEqual([startOffset]);
    const group = broker.describeGroup('t', 'slow');
    expect(group.partitions[0]).toMatchObject({ ackFloor: startOffset, lostToRetention: startOffset });
    await expect(held[0]!.ack()).rejects.toMatchObject({ code: 'DELIVERY_STALE' }); // that record is gone
    await settle(() => held.length === 2);
    expect(held[1]!.offset).toBe(startOffset);
  });

  it("discard 'new' refuses producers with TOPIC_FULL until every group has consumed a whole segment", async () => {
    const { broker, settle } = await engineFixture();
    await broker.createTopic('t', { segmentBytesMax: 4096, retention: { maxBytes: 16 * 1024, discard: 'new' } });
    const held: Delivery[] = [];
    await broker.subscribe({ topic: 't', group: 'g', maxInFlight: 1000 }, (d) => {
      held.push(d);
      return new Promise(() => undefined);
    });
    let accepted = 0;
    let full: unknown;
    while (!full && accepted < 100) { // 16 KiB hold fewer than 100 such records
      await broker.produce('t', [{ value: 'x'.repeat(300) }]).then(() => accepted++, (e: unknown) => (full = e));
    }
    expect(full).toMatchObject({ code: 'TOPIC_FULL', retriable: true });
    expect(broker.describeTopic('t').partitions[0]!.sizeBytes).toBeLessThanOrEqual(16 * 1024);
    await settle(() => held.length === accepted);
    // Acking the first few records does not free a whole segment yet.
    for (const d of held.slice(0, 3)) await d.ack();
    await expect(broker.produce('t', [{ value: 'x'.repeat(300) }])).rejects.toMatchObject({ code: 'TOPIC_FULL' });
    // Acking the whole first segment does.
    for (const d of held.slice(3, 20)) await d.ack();
    await expect(broker.produce('t', [{ value: 'x'.repeat(300) }])).resolves.toHaveLength(1);
    expect(broker.describeTopic('t').partitions[0]!.startOffset).toBeGreaterThan(0n);
  });

  it("discard 'new' needs maxBytes", async () => {
    const { broker } = await engineFixture();
    await expect(broker.createTopic('t', { retention: { discard: 'new' } })).rejects.toMatchObject({ code: 'INVALID_CONFIG' });
  });

  it("discard 'new' with maxBytes far below the broker's segment size: a full topic frees room once its group acked (segments follow maxBytes)", async () => {
    const { broker, settle } = await engineFixture();
    await broker.createTopic('small', { retention: { maxBytes: 20_000, discard: 'new' } });
    let accepted = 0;
    let full: unknown;
    // 20 000 bytes hold fewer than 100 such records: a topic that never fills fails here, not by timeout.
    while (!full && accepted < 100) await broker.produce('small', [{ value: 'x'.repeat(200) }]).then(() => accepted++, (e: unknown) => (full = e));
    expect(full).toMatchObject({ code: 'TOPIC_FULL' });
    let acked = 0;
    await broker.subscribe({ topic: 'small', group: 'g', from: 'earliest', maxInFlight: 1000 }, async (d) => {
      await d.ack();
      acked++;
    });
    await settle(() => acked === accepted);
    await expect(broker.produce('small', [{ value: 'y' }])).resolves.toHaveLength(1);
    expect(broker.describeTopic('small').partitions[0]!.startOffset).toBeGreaterThan(0n);
  });

  it("discard 'new': a batch larger than maxBytes itself is MESSAGE_TOO_LARGE (not retriable); one of exactly maxBytes fits once the group consumed everything", async () => {
    const { broker, settle } = await engineFixture();
    // A one-record batch's size is its value's plus a fixed overhead (value lengths 128-16383: same varint widths).
    await broker.createTopic('measure');
    await broker.produce('measure', [{ value: 'x'.repeat(200) }]);
    const overhead = broker.describeTopic('measure').partitions[0]!.sizeBytes - 200;
    await broker.createTopic('capped', { retention: { maxBytes: 8192, discard: 'new' } });
    await broker.produce('capped', [{ value: 'x'.repeat(200) }]);
    await expect(broker.produce('capped', [{ value: 'x'.repeat(8192 - overhead + 1) }])).rejects.toMatchObject({ code: 'MESSAGE_TOO_LARGE', retriable: false });
    await expect(broker.produce('capped', [{ value: 'x'.repeat(8192 - overhead) }])).rejects.toMatchObject({ code: 'TOPIC_FULL', retriable: true });
    let acked = 0;
    await broker.subscribe({ topic: 'capped', group: 'g', from: 'earliest' }, async (d) => {
      await d.ack();
      acked++;
    });
    await settle(() => acked === 1);
    await expect(broker.produce('capped', [{ value: 'x'.repeat(8192 - overhead) }])).resolves.toHaveLength(1);
    expect(broker.describeTopic('capped').partitions[0]).toMatchObject({ startOffset: 1n, sizeBytes: 8192 });
  });

  it("discard 'new' never stays full for good: a consumed active segment is sealed on demand, whatever the segment size", async () => {
    const { broker, settle } = await engineFixture();
    // Segments as large as the limit: every record fits in the active segment, which retention
    // alone never deletes.
    await broker.createTopic('wide', { segmentBytesMax: 1 << 20, retention: { maxBytes: 8192, discard: 'new' } });
    let acked = 0;
    await broker.subscribe({ topic: 'wide', group: 'g' }, async (d) => {
      await d.ack();
      acked++;
    });
    for (let round = 1; round <= 5; round++) {
      await expect(broker.produce('wide', [{ value: 'x'.repeat(7000) }])).resolves.toHaveLength(1);
      await settle(() => acked === round);
    }
    expect(broker.describeTopic('wide').partitions[0]).toMatchObject({ startOffset: 4n, endOffset: 5n });
  });

  it('a topic name too long for the default "<topic>.dlq" needs an explicit deadLetterTopic; at the boundary the default works', async () => {
    const { broker, settle } = await engineFixture();
    const longest = 'a'.repeat(TOPIC_NAME_LENGTH_MAX - '.dlq'.length);
    const tooLong = `${longest}b`;
    await broker.createTopic(longest);
    await broker.createTopic(tooLong);
    await expect(broker.subscribe({ topic: tooLong, group: 'g' }, () => undefined))
      .rejects.toMatchObject({ code: 'INVALID_CONFIG', details: { option: 'deadLetterTopic' } });
    await expect(broker.subscribe({ topic: tooLong, group: 'g', deadLetterTopic: 'short.dlq' }, () => undefined)).resolves.toBeDefined();
    // The default at exactly the limit: a rejected record lands in it, and redrive brings it back.
    await broker.produce(longest, [{ value: 'poison' }]);
    let rejected = false;
    await broker.subscribe({ topic: longest, group: 'g' }, async (d) => {
      if (d.deliveryCount === 1) {
        await d.reject('bad');
        rejected = true;
      }
    });
    await settle(() => rejected);
    expect(broker.describeTopic(`${longest}.dlq`).partitions[0]!.endOffset).toBe(1n);
    await expect(broker.redrive(`${longest}.dlq`)).resolves.toMatchObject({ moved: 1 });
  });

  it('a group whose dead-letter topic is its own topic is INVALID_CONFIG: what it gave up on would come back to it, a trailer longer each time, for ever', async () => {
    const { broker } = await engineFixture();
    await broker.createTopic('own-dlq');
    await expect(broker.subscribe({ topic: 'own-dlq', group: 'g', deadLetterTopic: 'own-dlq' }, () => undefined))
      .rejects.toMatchObject({ code: 'INVALID_CONFIG', details: { option: 'deadLetterTopic', topic: 'own-dlq' } });
    expect(broker.listGroups('own-dlq')).toEqual([]);
  });

  it('checks admin arguments in process as over the wire: a negative reset offset, a redrive maxRecords below 1', async () => {
    const { broker, settle } = await engineFixture();
    await broker.createTopic('t');
    await broker.produce('t', [{ value: 'a' }]);
    let seen = 0;
    await broker.subscribe({ topic: 't', group: 'g' }, () => void seen++);
    await settle(() => seen === 1);
    await expect(broker.resetGroup('t', 'g', { offset: -1n })).rejects.toMatchObject({ code: 'INVALID_CONFIG', details: { option: 'to' } });
    await expect(broker.resetGroup('t', 'g', { offset: 0n })).resolves.toEqual([0n]);
    await broker.createTopic('t.dlq');
    for (const bad of [0, -1, 1.5]) {
      await expect(broker.redrive('t.dlq', { maxRecords: bad })).rejects.toMatchObject({ code: 'INVALID_REQUEST', details: { field: 'maxRecords' } });
    }
    await expect(broker.redrive('t.dlq', { maxRecords: 1 })).resolves.toMatchObject({ moved: 0 });
  });
});
