/**
 * deleteTopic while the topic is in use, and a topic created again under the same name: what
 * the subscriptions, deliveries and timers of the deleted topic do, what a crash in the middle
 * of a delete leaves, and that nothing of the old topic leaks into the new one
 * (docs/semantics.md, "Deleting a topic"). Last, what open makes of a topic directory that does
 * not match its topic.json (docs/storage.md, "Recovery").
 */
import { describe, expect, it, vi } from 'vitest';
import { encodeBatch } from '@brook/protocol';
import { engineFixture, parking } from '../groups/group-fixture.js';
import { Broker } from '../broker.js';
import { producerBatch } from '../producers/producer-fixture.js';

const text = (bytes: Uint8Array | null) => (bytes === null ? null : new TextDecoder().decode(bytes));

describe('deleteTopic and producer state', () => {
  // It searched the producer state of every partition of the broker for the topic's: deleting n
  // topics that had been produced to idempotently (a client producer's default) cost O(n^2).
  it("forgets the topic's producer state without looking at other topics'", async () => {
    const { broker } = await engineFixture();
    const { producerId } = await broker.initProducer();
    const batch = producerBatch({ producerId, firstSeq: 0 });
    for (let i = 0; i < 300; i++) {
      await broker.createTopic(`lc-idem-${i}`);
      await broker.produceBatch({ topic: `lc-idem-${i}`, partition: 0, batch });
    }
    const next = Object.getPrototypeOf(new Map().entries()) as { next(): IteratorResult<unknown> };
    const entriesWalked = vi.spyOn(next, 'next');
    try {
      await broker.deleteTopic('lc-idem-0');
      expect(entriesWalked.mock.calls.length).toBeLessThan(100);
    } finally {
      entriesWalked.mockRestore();
    }
    // The others' state is still there: a retry is a duplicate.
    expect(await broker.produceBatch({ topic: 'lc-idem-1', partition: 0, batch })).toMatchObject({ duplicate: true });
  });
});

describe('deleteTopic while a group consumes it', () => {
  it('while the delete runs, listGroups lists no group of the topic: describeGroup (and /metrics) would refuse it', async () => {
    const { broker, clock } = await engineFixture();
    await broker.createTopic('listed-while-deleted');
    await broker.subscribe({ topic: 'listed-while-deleted', group: 'g-listed' }, () => undefined);
    let deleted = false;
    const deleting = broker.deleteTopic('listed-while-deleted').then(() => void (deleted = true));
    while (!deleted) {
      for (const { topic, group } of broker.listGroups()) expect(() => broker.describeGroup(topic, group)).not.toThrow();
      await clock.advanceAsync(0);
    }
    await deleting;
  });

  it('takes its deliveries back: ack() and reject() reject with UNKNOWN_TOPIC, nack() resolves, close() resolves, and no timer of the group is left', async () => {
    const world = await engineFixture();
    const { broker } = world;
    await broker.createTopic('lc-settle');
    await broker.produce('lc-settle', [{ value: 'a' }, { value: 'b' }, { value: 'c' }]);
    const { held, handler } = parking();
    const subscription = await broker.subscribe({ topic: 'lc-settle', group: 'g', backoff: { initialMs: 10_000 } }, handler);
    await world.settle(() => held.length === 3);
    await held[2]!.nack(); // one record waits out a backoff when the topic goes
    const events: string[] = [];
    for (const name of ['acked', 'nacked', 'deadLettered', 'leaseExpired', 'redelivered'] as const) broker.on(name, () => void events.push(name));

    await broker.deleteTopic('lc-settle');

    expect(held[0]!.stale).toBe(true);
    await expect(held[0]!.ack()).rejects.toMatchObject({ code: 'UNKNOWN_TOPIC', details: { topic: 'lc-settle' } });
    await expect(held[1]!.reject('too late')).rejects.toMatchObject({ code: 'UNKNOWN_TOPIC' });
    await expect(held[0]!.nack()).rejects.toMatchObject({ code: 'UNKNOWN_TOPIC' }); // the first settlement won
    await subscription.close();
    expect(world.clock.pendingTimers()).toBe(0);
    await world.advance(60_000);
    expect(events).toEqual([]);
    expect(broker.listTopics()).toEqual([]);
    expect(broker.listGroups()).toEqual([]);
    expect(() => broker.describeGroup('lc-settle', 'g')).toThrow(expect.objectContaining({ code: 'UNKNOWN_TOPIC' }));
  });

  it('a dead-letter copy under way when the topic goes still reaches the dead-letter topic, but no deadLettered event comes after the delete', async () => {
    const world = await engineFixture();
    const { broker } = world;
    await broker.createTopic('lc-copying');
    await broker.produce('lc-copying', [{ value: 'poison' }]);
    const { held, handler } = parking();
    await broker.subscribe({ topic: 'lc-copying', group: 'g' }, handler);
    await world.settle(() => held.length === 1);
    const events: string[] = [];
    broker.on('deadLettered', () => void events.push('deadLettered'));
    const rejecting = held[0]!.reject('poison'); // its copy first creates lc-copying.dlq: it is still under way below

    await broker.deleteTopic('lc-copying');
    events.push('deleted');

    await rejecting;
    await world.settle();
    expect(events).toEqual(['deleted']);
    expect((await broker.fetch({ topic: 'lc-copying.dlq', partition: 0, offset: 0n })).map((r) => text(r.value))).toEqual(['poison']);
  });

  it.each([
    ['a group member', 'g'],
    ['a tail reader', undefined],
  ])('%s still joining when the topic is deleted fails with UNKNOWN_TOPIC; a topic created again under the name starts fresh', async (_what, group) => {
    const world = await engineFixture();
    const { broker } = world;
    await broker.createTopic('lc-join');
    await broker.produce('lc-join', [{ value: 'old' }]);
    const joining = broker.subscribe({ topic: 'lc-join', group, from: 'earliest' }, () => undefined);
    await broker.deleteTopic('lc-join');
    await expect(joining).rejects.toMatchObject({ code: 'UNKNOWN_TOPIC' });
    expect(broker.listGroups()).toEqual([]);
    expect(await world.fs.exists(`${broker.dataDir}/groups/lc-join`)).toBe(false);

    await broker.createTopic('lc-join');
    await broker.produce('lc-join', [{ value: 'new' }]);
    const seen: string[] = [];
    await broker.subscribe({ topic: 'lc-join', group, from: 'earliest' }, (d) => void seen.push(d.text()!));
    await world.settle(() => seen.length === 1);
    expect(seen).toEqual(['new']);
  });
});

describe('deleteTopic racing produce and retention', () => {
  it("produces queued behind a discard 'new' room check when the topic is deleted fail with UNKNOWN_TOPIC, not the log's CLOSED", async () => {
    const { broker } = await engineFixture();
    await broker.createTopic('lc-full', { retention: { maxBytes: 1024 * 1024, discard: 'new' } });
    const value = 'x'.repeat(1000);
    const producing = Array.from({ length: 5 }, () => broker.produce('lc-full', [{ value }]).then(() => 'ok', (error: { code?: string }) => error.code));
    await broker.deleteTopic('lc-full');
    const outcomes = await Promise.all(producing);
    // Each either got in before the delete or fails as one made after it would.
    for (const outcome of outcomes) expect(['ok', 'UNKNOWN_TOPIC']).toContain(outcome);
    expect(outcomes).toContain('UNKNOWN_TOPIC');
  });

  it('a retention pass when one of the topics is deleted skips that topic and retains the others, instead of failing with CLOSED', async () => {
    const world = await engineFixture({ segmentBytesMax: 4096 });
    const { broker } = world;
    for (const topic of ['lc-retained-gone', 'lc-retained-kept']) {
      await broker.createTopic(topic, { retention: { maxAgeMs: 1000 } });
      for (let i = 0; i < 3; i++) await broker.produce(topic, [{ value: 'x'.repeat(3000) }]);
    }
    await world.clock.advanceAsync(5000);
    const retaining = broker.enforceRetention();
    await broker.deleteTopic('lc-retained-gone');
    expect((await retaining).map((drop) => drop.topic)).toEqual(['lc-retained-kept']);
    expect(broker.describeTopic('lc-retained-kept').partitions[0]!.startOffset).toBe(3n);
  });
});

describe('a topic created again under a deleted name', () => {
  it('a power cut at any point of deleteTopic: the topic comes back whole, its group with it, or not at all', async () => {
    for (let cutAt = 1; ; cutAt++) {
      const world = await engineFixture({ fsync: 'always' });
      await world.broker.createTopic('lc-cut', { partitions: 2 });
      await world.broker.produce('lc-cut', [{ value: 'a', partition: 0 }, { value: 'b', partition: 1 }]);
      await world.broker.subscribe({ topic: 'lc-cut', group: 'g' }, () => undefined);
      await world.settle(() => world.broker.describeGroup('lc-cut', 'g').lag === 0n);
      let operations = 0;
      world.fs.onOperation = () => {
        if (++operations === cutAt) world.fs.powerCut();
      };
      await world.broker.deleteTopic('lc-cut').catch(() => undefined);
      world.fs.onOperation = undefined;
      if (operations < cutAt) return; // the delete ran to the end without reaching this cut
      const broker = await world.restart({ powerCut: false });
      if (broker.listTopics().includes('lc-cut')) {
        expect(broker.describeGroup('lc-cut', 'g').partitions.map((p) => p.ackFloor), `cut at ${cutAt}`).toEqual([1n, 1n]);
        continue;
      }
      expect(broker.listGroups(), `cut at ${cutAt}`).toEqual([]);
      expect(await world.fs.exists(`${broker.dataDir}/groups/lc-cut`), `cut at ${cutAt}`).toBe(false);
    }
  });

  it('a delete that fails before its commit point (topic.json stays) leaves the topic there and in use, as a restart finds it; the delete can be retried', async () => {
    const world = await engineFixture();
    const { broker, fs } = world;
    await broker.createTopic('lc-failed-before');
    await broker.produce('lc-failed-before', [{ value: 'a' }]);
    const seen: string[] = [];
    const subscription = await broker.subscribe({ topic: 'lc-failed-before', group: 'g' }, (d) => void seen.push(d.text()!));
    await world.settle(() => seen.length === 1);
    fs.failNext('unlink', { errno: 'EIO', path: `${broker.dataDir}/topics/lc-failed-before/topic.json` });

    await expect(broker.deleteTopic('lc-failed-before')).rejects.toMatchObject({ code: 'IO_ERROR', retriable: true });

    expect(broker.listTopics()).toEqual(['lc-failed-before']);
    expect(broker.listGroups()).toEqual([{ topic: 'lc-failed-before', group: 'g' }]);
    await broker.produce('lc-failed-before', [{ value: 'b' }]);
    await world.settle(() => seen.length === 2);
    expect(seen).toEqual(['a', 'b']);
    await subscription.close();
    const restarted = await world.restart({ powerCut: false });
    expect([restarted.listTopics(), restarted.listGroups()]).toEqual([['lc-failed-before'], [{ topic: 'lc-failed-before', group: 'g' }]]);
    await restarted.deleteTopic('lc-failed-before');
    expect(restarted.listTopics()).toEqual([]);
  });

  it('a delete that fails after its commit point has deleted the topic for good, and a new topic of the name does not inherit the old groups', async () => {
    const world = await engineFixture();
    const { broker, fs } = world;
    await broker.createTopic('lc-failed');
    await broker.produce('lc-failed', [{ value: 'old-1' }, { value: 'old-2' }]);
    await broker.subscribe({ topic: 'lc-failed', group: 'g' }, () => undefined);
    await world.settle(() => broker.describeGroup('lc-failed', 'g').lag === 0n);
    fs.failNext('rmdir', { errno: 'EIO', path: `${broker.dataDir}/groups/lc-failed` });
    await broker.deleteTopic('lc-failed');
    expect([broker.listTopics(), broker.listGroups()]).toEqual([[], []]);
    expect(await fs.exists(`${broker.dataDir}/groups/lc-failed`)).toBe(true);

    await broker.createTopic('lc-failed');
    await broker.produce('lc-failed', [{ value: 'new-1' }, { value: 'new-2' }, { value: 'new-3' }]);
    const seen: string[] = [];
    await broker.subscribe({ topic: 'lc-failed', group: 'g' }, (d) => void seen.push(d.text()!));
    await world.settle(() => seen.length === 3);
    expect(seen).toEqual(['new-1', 'new-2', 'new-3']);
  });

  it('a delete that fails after its commit point: a restart finds no topic and no group, and removes what the delete left', async () => {
    const world = await engineFixture();
    await world.broker.createTopic('lc-failed-restart');
    await (await world.broker.subscribe({ topic: 'lc-failed-restart', group: 'g' }, () => undefined)).close();
    world.fs.failNext('rmdir', { errno: 'EIO', path: `${world.broker.dataDir}/topics/lc-failed-restart` });
    await world.broker.deleteTopic('lc-failed-restart');
    expect([world.broker.listTopics(), world.broker.listGroups()]).toEqual([[], []]);
    const broker = await world.restart({ powerCut: false });
    expect([broker.listTopics(), broker.listGroups()]).toEqual([[], []]);
    expect(await world.fs.exists(`${broker.dataDir}/topics/lc-failed-restart`)).toBe(false);
  });

  it('across a restart and with another partition count: no group position, dead-letter count or record of the old topic', async () => {
    const world = await engineFixture();
    await world.broker.createTopic('lc-again', { partitions: 2 });
    await world.broker.produce('lc-again', [{ value: 'a', partition: 0 }, { value: 'b', partition: 1 }]);
    await world.broker.subscribe({ topic: 'lc-again', group: 'g' }, (d) => (d.text() === 'a' ? d.reject('no') : undefined));
    await world.settle(() => world.broker.describeGroup('lc-again', 'g').lag === 0n);
    await world.broker.deleteTopic('lc-again');
    await world.broker.close();
    const broker = await world.restart({ powerCut: false });

    await broker.createTopic('lc-again', { partitions: 3 });
    await broker.produce('lc-again', [{ value: 'x', partition: 2 }]);
    const seen: string[] = [];
    await broker.subscribe({ topic: 'lc-again', group: 'g' }, (d) => void seen.push(d.text()!));
    await world.settle(() => seen.length === 1);
    expect(seen).toEqual(['x']);
    const group = broker.describeGroup('lc-again', 'g');
    expect(group.partitions.map((p) => [p.ackFloor, p.deadLettered])).toEqual([[0n, 0], [0n, 0], [1n, 0]]);
    // The dead-letter topic is a topic of its own: it keeps what the old group sent it.
    expect((await broker.fetch({ topic: 'lc-again.dlq', partition: 0, offset: 0n })).map((r) => text(r.value))).toEqual(['a']);
  });

  it('an idempotent producer id that wrote to the old topic starts over on the new one', async () => {
    const broker = await Broker.open({ storage: 'memory' });
    await broker.createTopic('lc-idem');
    const { producerId, producerEpoch } = await broker.initProducer();
    const batch = (baseSequence: number, value: string) => encodeBatch(
      [{ key: null, value: new TextEncoder().encode(value), headers: [], timestamp: 0 }], { producerId, producerEpoch, baseSequence },
    );
    await broker.produceBatch({ topic: 'lc-idem', partition: 0, batch: batch(0, 'old-0') });
    await broker.produceBatch({ topic: 'lc-idem', partition: 0, batch: batch(1, 'old-1') });
    await broker.deleteTopic('lc-idem');
    await broker.createTopic('lc-idem');
    // Sequence 1 again is not a duplicate of the old topic's batch: the new log has no such record.
    await expect(broker.produceBatch({ topic: 'lc-idem', partition: 0, batch: batch(1, 'new-1') })).rejects.toMatchObject({ code: 'UNKNOWN_PRODUCER_ID' });
    expect(await broker.produceBatch({ topic: 'lc-idem', partition: 0, batch: batch(0, 'new-0') })).toMatchObject({ baseOffset: 0n, duplicate: false });
    expect((await broker.fetch({ topic: 'lc-idem', partition: 0, offset: 0n })).map((r) => text(r.value))).toEqual(['new-0']);
    await broker.close();
  });
});

describe('topic directories at open', () => {
  // A directory renamed or copied by hand: file operations go by the directory of the name
  // (deleteTopic, producer snapshots), so a topic.json in another directory is not this topic.
  it.each([
    ['renamed', async (world: Awaited<ReturnType<typeof engineFixture>>) => world.fs.rename('/brook/topics/lc-moved', '/brook/topics/lc-moved-old')],
    ['copied (topic.json alone)', async (world: Awaited<ReturnType<typeof engineFixture>>) => {
      await world.fs.mkdir('/brook/topics/lc-moved-old');
      await world.fs.writeFile('/brook/topics/lc-moved-old/topic.json', await world.fs.readFile('/brook/topics/lc-moved/topic.json'));
    }],
  ])('a topic directory %s under another name stops the open with CORRUPT_METADATA naming its topic.json', async (_how, move) => {
    const world = await engineFixture();
    await world.broker.createTopic('lc-moved');
    await world.broker.produce('lc-moved', [{ value: 'a' }]);
    await world.broker.close();
    await move(world);
    await world.fs.syncDir('/brook/topics');
    await expect(world.restart({ powerCut: false })).rejects.toMatchObject({
      code: 'CORRUPT_METADATA', details: { file: '/brook/topics/lc-moved-old/topic.json' },
    });
  });
});

describe('a topic.json at open', () => {
  it.each([
    ['of another version', { version: 2 }],
    ['without its segmentBytesMax', { segmentBytesMax: undefined }],
    ['without its segmentMsMax', { segmentMsMax: undefined }],
  ])('%s stops the open with CORRUPT_METADATA naming it', async (_how, change) => {
    const world = await engineFixture();
    await world.broker.createTopic('lc-file');
    await world.broker.close();
    const file = '/brook/topics/lc-file/topic.json';
    const written = JSON.parse(text(await world.fs.readFile(file))!) as Record<string, unknown>;
    await world.fs.writeFile(file, new TextEncoder().encode(JSON.stringify({ ...written, ...change })));
    await expect(world.restart({ powerCut: false })).rejects.toMatchObject({ code: 'CORRUPT_METADATA', details: { file } });
  });
});

describe('partition directories at open', () => {
  // createTopic makes every partition's first segment durable before topic.json, and retention
  // never deletes a partition's last segment: one without any is a loss, not a new partition.
  it.each([
    ['missing', (world: Awaited<ReturnType<typeof engineFixture>>) => world.fs.rmdir('/brook/topics/lc-lost/1')],
    ['emptied of its segment files', async (world: Awaited<ReturnType<typeof engineFixture>>) => {
      for (const name of await world.fs.readdir('/brook/topics/lc-lost/1')) await world.fs.unlink(`/brook/topics/lc-lost/1/${name}`);
    }],
    ['left with its indexes but no .log file', async (world: Awaited<ReturnType<typeof engineFixture>>) => {
      for (const name of await world.fs.readdir('/brook/topics/lc-lost/1')) if (name.endsWith('.log')) await world.fs.unlink(`/brook/topics/lc-lost/1/${name}`);
    }],
  ])('a partition directory %s stops the open with CORRUPT_METADATA, rather than start the partition over at offset 0', async (_how, lose) => {
    const world = await engineFixture();
    await world.broker.createTopic('lc-lost', { partitions: 2 });
    await world.broker.produce('lc-lost', [{ value: 'a', partition: 1 }]);
    await world.broker.close();
    await lose(world);
    await world.fs.syncDir('/brook/topics/lc-lost');
    await expect(world.restart({ powerCut: false })).rejects.toMatchObject({
      code: 'CORRUPT_METADATA', details: { file: '/brook/topics/lc-lost/topic.json', partition: 1 },
    });
  });

  it('partition directories beyond the partitions of topic.json stop the open with CORRUPT_METADATA naming the first, rather than hide their records', async () => {
    const world = await engineFixture();
    await world.broker.createTopic('lc-extra', { partitions: 3 });
    await world.broker.produce('lc-extra', [{ value: 'a', partition: 2 }]);
    await world.broker.close();
    const file = '/brook/topics/lc-extra/topic.json';
    const written = JSON.parse(text(await world.fs.readFile(file))!) as Record<string, unknown>;
    await world.fs.writeFile(file, new TextEncoder().encode(JSON.stringify({ ...written, partitions: 1 })));
    await expect(world.restart({ powerCut: false })).rejects.toMatchObject({ code: 'CORRUPT_METADATA', details: { file, partition: 1 } });
  });

  it('partition directories beyond, numbered from 10 up: CORRUPT_METADATA names the lowest by number, not by name', async () => {
    const world = await engineFixture();
    await world.broker.createTopic('lc-extra-many', { partitions: 11 });
    await world.broker.close();
    const file = '/brook/topics/lc-extra-many/topic.json';
    const written = JSON.parse(text(await world.fs.readFile(file))!) as Record<string, unknown>;
    // Directories 9 and 10 beyond: '10' comes before '9' by name.
    await world.fs.writeFile(file, new TextEncoder().encode(JSON.stringify({ ...written, partitions: 9 })));
    await expect(world.restart({ powerCut: false })).rejects.toMatchObject({ code: 'CORRUPT_METADATA', details: { file, partition: 9 } });
    await world.fs.rmdir('/brook/topics/lc-extra-many/9');
    await expect(world.restart({ powerCut: false })).rejects.toMatchObject({ code: 'CORRUPT_METADATA', details: { file, partition: 10 } });
  });

  it('a file or a directory of another name in a topic directory is not a partition: the topic opens', async () => {
    const world = await engineFixture();
    await world.broker.createTopic('lc-not-partitions');
    await world.broker.close();
    await world.fs.writeFile('/brook/topics/lc-not-partitions/1', new Uint8Array(1));
    await world.fs.mkdir('/brook/topics/lc-not-partitions/01');
    const broker = await world.restart({ powerCut: false });
    expect(broker.describeTopic('lc-not-partitions').partitions).toHaveLength(1);
    await broker.close();
  });
});
