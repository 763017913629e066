/**
 * Tail readers (subscriptions without a group) in process, on the virtual clock: what is theirs
 * alone. Fan-out, from, and deletion are in acks-and-redelivery.test.ts and the conformance suites.
 */
import { describe, expect, it, vi } from 'vitest';
import { PartitionLog } from '../log/partition-log.js';
import { segmentPath } from '../log/segment-files.js';
import type { Delivery } from './delivery.js';
import type { Subscription } from './subscription.js';
import { duringRetention, engineFixture, parking } from './group-fixture.js';

/** A topic whose retention keeps two 4 KiB segments, and 100 records of ~200 bytes on each partition. */
async function overtakenTopic(topic: string, partitions = 1) {
  const fixture = await engineFixture();
  await fixture.broker.createTopic(topic, { partitions, segmentBytesMax: 4096, retention: { maxBytes: 8192 } });
  const produce = async () => {
    for (let i = 0; i < 100; i++) {
      for (let partition = 0; partition < partitions; partition++) await fixture.broker.produce(topic, [{ value: `m${i}`.padEnd(200, '.'), partition }]);
    }
  };
  const retain = async () => {
    await fixture.broker.enforceRetention();
    await fixture.settle();
    return fixture.broker.describeTopic(topic).partitions.map((p) => p.startOffset);
  };
  return Object.assign(fixture, { produce, retain });
}

/**
 * A topic of 60 records whose first (sealed) segment has its second batch's baseOffset damaged,
 * where a clean open does not scan: every read that reaches it fails CORRUPT_SEGMENT (storage.md).
 */
async function damagedTopic(topic: string) {
  const fixture = await engineFixture({ indexIntervalBytes: 64 });
  await fixture.broker.createTopic(topic, { segmentBytesMax: 4096 });
  for (let i = 0; i < 60; i++) await fixture.broker.produce(topic, [{ value: 'x'.repeat(100) }]);
  await fixture.broker.close();
  const sealed = segmentPath(`${fixture.broker.dataDir}/topics/${topic}/0`, 0n, '.log');
  const bytes = await fixture.fs.readFile(sealed);
  const second = 12 + new DataView(bytes.buffer, bytes.byteOffset).getInt32(8);
  new DataView(bytes.buffer, bytes.byteOffset).setBigInt64(second, 40n);
  await fixture.fs.writeFile(sealed, bytes);
  await fixture.restart({ powerCut: false });
  return fixture;
}

describe('a tail reader', () => {
  it('serves its partitions in turn: a steady backlog on one does not starve another', async () => {
    const { broker, settle } = await engineFixture();
    await broker.createTopic('tr-fair', { partitions: 2 });
    await broker.produce('tr-fair', [{ value: 'cold', partition: 1 }, { value: 'hot', partition: 0 }]);
    const { held, handler } = parking();
    await broker.subscribe({ topic: 'tr-fair', from: 'earliest', maxInFlight: 1 }, handler);
    // Partition 0 never runs dry: each record handled there is followed by another.
    for (let i = 0; i < 4; i++) {
      await settle(() => held.length === i + 1);
      await broker.produce('tr-fair', [{ value: 'hot', partition: 0 }]);
      await held[i]!.ack();
    }
    await settle(() => held.length === 5);
    expect(held.map((d) => d.partition)).toContain(1);
  });

  it('reads ahead about its window (maxInFlight records a read), not fetchBytesMax of log at once', async () => {
    // Decoding fetchBytesMax (4 MiB, ~30k small records) per read kept that many records alive
    // between scavenges: a tail reader spent twice the CPU a record of a group that acks.
    const { broker, settle } = await engineFixture();
    await broker.createTopic('tr-read-ahead');
    for (let i = 0; i < 20; i++) await broker.produce('tr-read-ahead', Array.from({ length: 50 }, (_, j) => ({ value: `v${i}-${j}` })));
    const reads = vi.spyOn(PartitionLog.prototype, 'read');
    try {
      const { held, handler } = parking();
      await broker.subscribe({ topic: 'tr-read-ahead', from: 'earliest', maxInFlight: 3 }, handler);
      await settle(() => held.length === 3);
      for (let i = 0; i < 60; i++) {
        await held[i]!.ack();
        await settle(() => held.length === i + 4);
      }
      expect(reads.mock.calls.length).toBeGreaterThan(1);
      expect(new Set(reads.mock.calls.map(([, limits]) => limits.maxRecords))).toEqual(new Set([3]));
      expect(held.map((d) => d.text())).toEqual(Array.from({ length: 63 }, (_, n) => `v${Math.floor(n / 50)}-${n % 50}`));
    } finally {
      reads.mockRestore();
    }
  });

  it('a read that fails on a passing I/O error is tried again by itself after the default backoff, so a backlog nobody produces to does not stall on it', async () => {
    const { broker, settle, fs, advance } = await engineFixture({ logTailCacheBytes: 0 });
    await broker.createTopic('tr-read-retried');
    await broker.produce('tr-read-retried', [{ value: 'a' }, { value: 'b' }]);
    fs.failNext('read', { errno: 'EIO', times: 2 });
    const seen: (string | null)[] = [];
    await broker.subscribe({ topic: 'tr-read-retried', from: 'earliest' }, (d) => void seen.push(d.text()));
    await settle();
    // DEFAULT_BACKOFF: 100 ms, then 200 ms, each within ±10 % jitter.
    await advance(89);
    expect(seen).toEqual([]);
    await advance(21); // the first retry is due by 110 ms: its read fails too
    await settle();
    expect(seen).toEqual([]);
    await advance(179);
    expect(seen).toEqual([]);
    await advance(41); // the second, within 220 ms of the first: it reads
    await settle(() => seen.length === 2);
    expect(seen).toEqual(['a', 'b']);
  });

  it('closed while a read retry is pending: the retry is cancelled with it', async () => {
    const { broker, settle, fs, clock } = await engineFixture({ logTailCacheBytes: 0 });
    await broker.createTopic('tr-retry-closed');
    await broker.produce('tr-retry-closed', [{ value: 'a' }]);
    const timersBefore = clock.pendingTimers();
    fs.failNext('read', { errno: 'EIO' });
    const subscription = await broker.subscribe({ topic: 'tr-retry-closed', from: 'earliest' }, () => undefined);
    await settle(() => clock.pendingTimers() > timersBefore);
    await subscription.close();
    expect(clock.pendingTimers()).toBe(timersBefore);
  });

  it('close() leaves at once, though its handler holds a delivery: a reader keeps no acks, nothing waits on it', async () => {
    const { broker, settle } = await engineFixture();
    await broker.createTopic('tr-close');
    await broker.produce('tr-close', [{ value: 'a' }, { value: 'b' }]);
    const { held, handler } = parking();
    const subscription = await broker.subscribe({ topic: 'tr-close', from: 'earliest', maxInFlight: 1 }, handler);
    await settle(() => held.length === 1);
    await subscription.close();
    await expect(subscription.ended).resolves.toBeUndefined();
    await held[0]!.ack(); // settling after the end changes nothing
    await settle();
    expect(held.map((d) => d.text())).toEqual(['a']);
  });

  it('overtaken by retention: told how many records it lost (retentionDropped with reader, lostToRetention), then goes on at startOffset', async () => {
    const fixture = await overtakenTopic('tr-overtaken', 2);
    const { held, handler } = parking();
    const subscription = await fixture.broker.subscribe({ topic: 'tr-overtaken', from: 'earliest', maxInFlight: 2 }, handler);
    await fixture.produce();
    await fixture.settle(() => held.length === 2);
    const told: unknown[] = [];
    fixture.broker.on('retentionDropped', (e) => e.reader !== undefined && told.push(e));
    const starts = await fixture.retain();
    // It handed out offset 0 of each partition: everything else below startOffset it lost.
    expect(held.map((d) => [d.partition, d.offset])).toEqual([[0, 0n], [1, 0n]]);
    expect(subscription.memberId).toMatch(/^reader-/);
    expect(told).toEqual(starts.map((startOffset, partition) => ({
      topic: 'tr-overtaken', partition, startOffset, reader: subscription.memberId, lostRecords: startOffset - 1n,
    })));
    expect(subscription.lostToRetention).toBe(starts[0]! - 1n + starts[1]! - 1n);
    for (const delivery of held.splice(0)) await delivery.ack();
    await fixture.settle(() => held.length === 2);
    expect(held.map((d) => [d.partition, d.offset]).sort()).toEqual([[0, starts[0]], [1, starts[1]]]);
    await fixture.retain(); // nothing more deleted: nothing more lost
    expect(told).toHaveLength(2);
  });

  it('a reader that had handed out everything retention deleted loses nothing; a group member has no count of its own', async () => {
    const fixture = await overtakenTopic('tr-caught-up');
    const seen: Delivery[] = [];
    const reader = await fixture.broker.subscribe({ topic: 'tr-caught-up', from: 'earliest' }, (d) => void seen.push(d));
    const member = await fixture.broker.subscribe({ topic: 'tr-caught-up', group: 'g' }, () => undefined);
    await fixture.produce();
    await fixture.settle(() => seen.length === 100);
    const told: unknown[] = [];
    fixture.broker.on('retentionDropped', (e) => e.reader !== undefined && told.push(e));
    const [start] = await fixture.retain();
    expect(start).toBeGreaterThan(0n);
    expect(told).toEqual([]);
    expect(reader.lostToRetention).toBe(0n);
    expect(member.lostToRetention).toBeUndefined();
  });

  it('a consume() loop that is overtaken counts its losses too, and reads on from startOffset', async () => {
    const fixture = await overtakenTopic('tr-overtaken-loop');
    const stream = fixture.broker.consume({ topic: 'tr-overtaken-loop', from: 'earliest', maxInFlight: 1 });
    await stream.ready;
    const iterator = stream[Symbol.asyncIterator]();
    await fixture.produce();
    const first = await iterator.next();
    expect(first.value!.offset).toBe(0n);
    const [start] = await fixture.retain();
    await first.value!.ack();
    expect((await iterator.next()).value!.offset).toBe(start);
    expect(stream.lostToRetention).toBe(start! - 1n);
    stream.abort();
  });

  it.each([['a tail reader', undefined], ['a group', 'g']])(
    '%s reading on while retention still deletes the files is told at once, before the partition\'s own retentionDropped, each loss once',
    async (_name, group) => {
      const topic = `tr-overtaken-order-${group ?? 'reader'}`;
      const fixture = await overtakenTopic(topic);
      const { held, handler } = parking();
      await fixture.broker.subscribe({ topic, group, from: 'earliest', maxInFlight: 1 }, handler);
      await fixture.broker.produce(topic, [{ value: 'first' }]);
      await fixture.settle(() => held.length === 1);
      await fixture.produce(); // its one slot taken, it reads none of them ahead
      const told: { who: string; lostRecords: bigint }[] = [];
      fixture.broker.on('retentionDropped', (e) => told.push({ who: e.reader ?? e.group ?? 'partition', lostRecords: e.lostRecords }));
      // The freed slot reads on, below the new startOffset, while retention deletes the files.
      let acked: Promise<void> | undefined;
      duringRetention(fixture, 'unlink', () => (acked = held[0]!.ack()));
      await fixture.broker.enforceRetention();
      await acked;
      await fixture.settle(() => held.length === 2);
      const { startOffset } = fixture.broker.describeTopic(topic).partitions[0]!;
      expect(told).toEqual([{ who: group ?? expect.stringMatching(/^reader-/), lostRecords: startOffset - 1n }, { who: 'partition', lostRecords: startOffset }]);
      expect(held[1]!.offset).toBe(startOffset);
    },
  );

  it('closed while its read meets what retention deleted: not told (no retentionDropped naming a reader that is gone), nothing counted', async () => {
    const topic = 'tr-overtaken-closed';
    const fixture = await overtakenTopic(topic);
    const { held, handler } = parking();
    const subscription = await fixture.broker.subscribe({ topic, from: 'earliest', maxInFlight: 1 }, handler);
    await fixture.broker.produce(topic, [{ value: 'first' }]);
    await fixture.settle(() => held.length === 1);
    await fixture.produce();
    const told: unknown[] = [];
    fixture.broker.on('retentionDropped', (e) => e.reader !== undefined && told.push(e));
    duringRetention(fixture, 'unlink', () => {
      void held[0]!.ack(); // the freed slot's step starts its read (below startOffset) in the next microtask...
      queueMicrotask(() => subscription.abort()); // ...and the reader is closed while that read is under way
    });
    await fixture.broker.enforceRetention();
    await fixture.settle();
    expect(told).toEqual([]);
    expect(subscription.lostToRetention).toBe(0n);
  });

  it('a join racing retention starts at startOffset: records deleted before it joined are not counted lost', async () => {
    const fixture = await overtakenTopic('tr-join-racing');
    await fixture.produce();
    const seen: Delivery[] = [];
    // A timestamp start reads the log to find its offset; retention moves startOffset meanwhile.
    let joined: Promise<Subscription> | undefined;
    duringRetention(fixture, 'checkpoint', () => (joined = fixture.broker.subscribe({ topic: 'tr-join-racing', from: { timestamp: 0 } }, (d) => void seen.push(d))));
    await fixture.broker.enforceRetention();
    const reader = await joined!;
    await fixture.settle();
    const { startOffset } = fixture.broker.describeTopic('tr-join-racing').partitions[0]!;
    expect(startOffset).toBeGreaterThan(0n);
    expect(seen[0]!.offset).toBe(startOffset);
    expect(reader.lostToRetention).toBe(0n);
  });
});

describe('a tail reader that meets a batch it can never read (CORRUPT_SEGMENT)', () => {
  it('ends with it, rather than stall there in silence: its `ended` rejects, a consume() loop throws it', async () => {
    const { broker, settle } = await damagedTopic('tr-damaged');
    const { held, handler } = parking();
    const sub = await broker.subscribe({ topic: 'tr-damaged', from: 'earliest', maxInFlight: 5 }, handler);
    let outcome: unknown;
    sub.ended.then(() => (outcome = 'resolved'), (error: unknown) => (outcome = error));
    await settle(() => outcome !== undefined);
    expect(outcome).toMatchObject({ code: 'CORRUPT_SEGMENT' });
    expect(held, 'its read reaches the damaged batch, and fails whole').toEqual([]);

    const loop = broker.consume({ topic: 'tr-damaged', from: 'earliest' });
    const seen: bigint[] = [];
    await expect((async () => {
      for await (const delivery of loop) {
        seen.push(delivery.offset);
        await delivery.ack();
      }
    })()).rejects.toMatchObject({ code: 'CORRUPT_SEGMENT' });
    expect(seen).toEqual([]);
    // A group member's read fails the group's step instead, which describeGroup shows.
    await broker.subscribe({ topic: 'tr-damaged', group: 'g', from: 'earliest' }, handler);
    await settle(() => broker.describeGroup('tr-damaged', 'g').lastError !== undefined);
    expect(broker.describeGroup('tr-damaged', 'g').lastError).toMatch(/CORRUPT_SEGMENT/);
  });
});
