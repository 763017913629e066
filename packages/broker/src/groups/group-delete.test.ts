/**
 * deleteGroup: who may delete a group (not while it has members, joining ones included), what
 * goes with it (listing, timers, files), what calls racing it do, and what a crash or an I/O
 * error in the middle leaves (docs/semantics.md, "Deleting a group").
 */
import { describe, expect, it } from 'vitest';
import { MemoryFileSystem } from '@brook/protocol';
import type { Delivery } from './delivery.js';
import { consumedAndLeft, engineFixture, parking, type EngineFixture } from './group-fixture.js';
import { deadLetterTrailer } from './dead-letter-trailer.test-support.js';

const texts = (deliveries: Delivery[]) => deliveries.map((d) => d.text());

/**
 * A world whose file system holds the unlink of a group's config.json (deleteGroup's commit
 * point) until `release()`: what runs meanwhile meets a delete under way, deterministically.
 */
async function heldAtCommitPoint() {
  let reached = (): void => undefined;
  const atCommit = new Promise<void>((resolve) => (reached = resolve));
  let release = (): void => undefined;
  const released = new Promise<void>((resolve) => (release = resolve));
  const fs = new MemoryFileSystem();
  const holding = new Proxy(fs, {
    get(target, property) {
      if (property === 'unlink') {
        return async (path: string) => {
          if (path.endsWith('/config.json')) {
            reached();
            await released;
          }
          return target.unlink(path);
        };
      }
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return { world: await engineFixture({ fs: holding }), fs, atCommit, release };
}

describe('deleteGroup', () => {
  it('removes a group without members: gone from listGroups and describeGroup, its files gone; the name then makes a fresh group at its `from`', async () => {
    const world = await engineFixture();
    const { broker } = world;
    await consumedAndLeft(world, 'dg-basic', 'g-basic', ['a', 'b']);
    await consumedAndLeft(world, 'dg-basic-other', 'g-basic', ['x']);

    await broker.deleteGroup('dg-basic', 'g-basic');

    expect(broker.listGroups()).toEqual([{ topic: 'dg-basic-other', group: 'g-basic' }]);
    expect(() => broker.describeGroup('dg-basic', 'g-basic')).toThrow(expect.objectContaining({ code: 'UNKNOWN_GROUP' }));
    expect(await world.fs.exists(`${broker.dataDir}/groups/dg-basic/g-basic`)).toBe(false);
    const seen: Delivery[] = [];
    await broker.subscribe({ topic: 'dg-basic', group: 'g-basic', from: 'earliest' }, (d) => void seen.push(d));
    await world.settle(() => seen.length === 2);
    expect(texts(seen)).toEqual(['a', 'b']);
    expect(seen.map((d) => d.deliveryCount)).toEqual([1, 1]);
  });

  it('is refused with UNKNOWN_TOPIC, UNKNOWN_GROUP, or INVALID_REQUEST for the redrive group, which goes with its topic', async () => {
    const world = await engineFixture();
    const { broker } = world;
    await broker.createTopic('dg-absent');
    await expect(broker.deleteGroup('dg-no-such-topic', 'g')).rejects.toMatchObject({ code: 'UNKNOWN_TOPIC' });
    await expect(broker.deleteGroup('dg-absent', 'g-absent')).rejects.toMatchObject({ code: 'UNKNOWN_GROUP', details: { topic: 'dg-absent', group: 'g-absent' } });
    await broker.produce('dg-absent', [{ value: 'dead', headers: deadLetterTrailer('dg-absent') }]);
    expect(await broker.redrive('dg-absent')).toMatchObject({ moved: 1 }); // made by the first record moved
    await expect(broker.deleteGroup('dg-absent', 'brook.redrive')).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
    expect(broker.listGroups('dg-absent')).toEqual([{ topic: 'dg-absent', group: 'brook.redrive' }]);
  });

  it.each([
    ['a connected member', async (world: EngineFixture) => {
      const subscription = await world.broker.subscribe({ topic: 'dg-members', group: 'g-members' }, () => undefined);
      return () => subscription.close();
    }],
    ['a member closing gracefully, holding a delivery', async (world: EngineFixture) => {
      const { held, handler } = parking();
      const subscription = await world.broker.subscribe({ topic: 'dg-members', group: 'g-members' }, handler);
      await world.broker.produce('dg-members', [{ value: 'held' }]);
      await world.settle(() => held.length === 1);
      const closing = subscription.close();
      await world.settle(() => world.broker.describeGroup('dg-members', 'g-members').members[0]?.closing === true);
      return async () => {
        await held[0]!.ack();
        await closing;
      };
    }],
    ['the first member still joining (the group is being created)', async (world: EngineFixture) => {
      const joining = world.broker.subscribe({ topic: 'dg-members', group: 'g-members' }, () => undefined);
      return async () => (await joining).close();
    }],
    ['a second member still joining', async (world: EngineFixture) => {
      await (await world.broker.subscribe({ topic: 'dg-members', group: 'g-members' }, () => undefined)).close();
      const joining = world.broker.subscribe({ topic: 'dg-members', group: 'g-members' }, () => undefined);
      return async () => (await joining).close();
    }],
    ['a consume() loop still joining', async (world: EngineFixture) => {
      const stream = world.broker.consume({ topic: 'dg-members', group: 'g-members' });
      return () => stream.close();
    }],
  ])('is refused with GROUP_NOT_EMPTY (not retriable) while the group has %s; once it has left, the delete goes through', async (_what, occupy) => {
    const world = await engineFixture();
    const { broker } = world;
    await broker.createTopic('dg-members');
    const leave = await occupy(world);
    // Those it has now, closing or not (a member still joining is not one yet).
    const members = broker.listGroups('dg-members').length > 0 ? broker.describeGroup('dg-members', 'g-members').members.length : 0;

    await expect(broker.deleteGroup('dg-members', 'g-members')).rejects.toMatchObject({
      code: 'GROUP_NOT_EMPTY', retriable: false, details: { topic: 'dg-members', group: 'g-members', members },
    });
    await leave();
    await broker.deleteGroup('dg-members', 'g-members');
    expect(broker.listGroups()).toEqual([]);
  });

  it('ends the timers of the group: a backoff and a dead-letter copy waiting to be tried again fire no more, and no event of it comes', async () => {
    const world = await engineFixture();
    const { broker } = world;
    // A dead-letter topic that is full: the copy fails with TOPIC_FULL and waits backoff.maxMs.
    await broker.createTopic('dg-timers.full', { retention: { maxBytes: 1024, discard: 'new' } });
    await broker.produce('dg-timers.full', [{ value: 'x'.repeat(900) }]);
    await broker.createTopic('dg-timers');
    await broker.produce('dg-timers', [{ value: 'nacked' }, { value: 'rejected' }]);
    const timersBefore = world.clock.pendingTimers(); // the retention runner's
    const { held, handler } = parking();
    const subscription = await broker.subscribe({ topic: 'dg-timers', group: 'g-timers', deadLetterTopic: 'dg-timers.full', backoff: { initialMs: 10_000, maxMs: 20_000 } }, handler);
    await world.settle(() => held.length === 2);
    await held[0]!.nack();
    await held[1]!.reject('poison');
    await subscription.close();
    expect(world.clock.pendingTimers()).toBe(timersBefore + 2);
    const events: string[] = [];
    for (const name of ['delivered', 'redelivered', 'deadLettered', 'leaseExpired', 'retentionDropped'] as const) broker.on(name, () => void events.push(name));

    await broker.deleteGroup('dg-timers', 'g-timers');

    expect(world.clock.pendingTimers()).toBe(timersBefore);
    await world.advance(60_000);
    expect(events).toEqual([]);
    expect(broker.describeTopic('dg-timers.full').partitions[0]!.endOffset).toBe(1n);
  });

  it('a dead-letter copy under way when the group goes: the record reaches the dead-letter topic, but no deadLettered event comes after the delete', async () => {
    const world = await engineFixture();
    const { broker } = world;
    await broker.createTopic('dg-copying');
    await broker.produce('dg-copying', [{ value: 'poison' }]);
    const { held, handler } = parking();
    const subscription = await broker.subscribe({ topic: 'dg-copying', group: 'g-copying' }, handler);
    await world.settle(() => held.length === 1);
    const events: string[] = [];
    broker.on('deadLettered', () => void events.push('deadLettered'));
    const rejecting = held[0]!.reject('poison'); // its copy first creates dg-copying.dlq: it is still under way below
    await subscription.close();

    await broker.deleteGroup('dg-copying', 'g-copying');
    events.push('deleted');

    await rejecting;
    await world.settle();
    expect(events).toEqual(['deleted']);
    expect((await broker.fetch({ topic: 'dg-copying.dlq', partition: 0, offset: 0n })).map((r) => new TextDecoder().decode(r.value!))).toEqual(['poison']);
  });

  it('a read under way when the group goes, meeting what retention deleted: no retentionDropped of the group comes after the delete', async () => {
    // Without read-ahead (room for one record), the ack below frees the room its step reads into.
    const world = await engineFixture({ groupUnackedRecordsMax: 1 });
    const { broker } = world;
    await broker.createTopic('dg-reading', { segmentBytesMax: 4096, retention: { maxBytes: 8192 } });
    const { held, handler } = parking();
    const subscription = await broker.subscribe({ topic: 'dg-reading', group: 'g-reading', maxInFlight: 1 }, handler);
    await broker.produce('dg-reading', [{ value: 'first' }]);
    await world.settle(() => held.length === 1);
    for (let i = 0; i < 100; i++) await broker.produce('dg-reading', [{ value: `m${i}`.padEnd(200, '.') }]);
    const events: string[] = [];
    broker.on('retentionDropped', (event) => void (event.group !== undefined && events.push('retentionDropped')));
    const retained = broker.enforceRetention();
    void held[0]!.ack(); // the freed room's step starts its read (below startOffset) in the next microtask...
    let deleted: Promise<void> | undefined;
    queueMicrotask(() => {
      subscription.abort(); // ...and the group is deleted while that read is under way
      deleted = broker.deleteGroup('dg-reading', 'g-reading').then(() => void events.push('deleted'));
      events.push('delete called');
    });
    await retained;
    await deleted;
    await world.settle();
    expect(events).toEqual(['delete called', 'deleted']);
  });

  it("lets a discard 'new' topic that a forgotten group held full take records again, once its other groups have consumed them", async () => {
    const world = await engineFixture();
    const { broker } = world;
    await broker.createTopic('dg-full', { retention: { maxBytes: 4096, discard: 'new' } });
    await (await broker.subscribe({ topic: 'dg-full', group: 'g-forgotten' }, () => undefined)).close();
    await broker.subscribe({ topic: 'dg-full', group: 'g-live' }, () => undefined);
    const value = 'x'.repeat(900);
    for (let i = 0; i < 4; i++) await broker.produce('dg-full', [{ value }]);
    await world.settle(() => broker.describeGroup('dg-full', 'g-live').lag === 0n);
    await expect(broker.produce('dg-full', [{ value }])).rejects.toMatchObject({ code: 'TOPIC_FULL' });

    await broker.deleteGroup('dg-full', 'g-forgotten');

    await expect(broker.produce('dg-full', [{ value }])).resolves.toHaveLength(1);
  });
});

describe('deleteGroup racing other calls', () => {
  it('while it runs, listGroups lists only groups that describeGroup describes (a /metrics scrape never fails)', async () => {
    const world = await engineFixture();
    const { broker } = world;
    await consumedAndLeft(world, 'dg-listed', 'g-listed', ['a']);
    let deleted = false;
    const deleting = broker.deleteGroup('dg-listed', 'g-listed').then(() => void (deleted = true));
    expect(broker.listGroups()).toEqual([]);
    while (!deleted) {
      for (const { topic, group } of broker.listGroups()) expect(() => broker.describeGroup(topic, group)).not.toThrow();
      expect(() => broker.describeGroup('dg-listed', 'g-listed')).toThrow(expect.objectContaining({ code: 'UNKNOWN_GROUP' }));
      await world.clock.advanceAsync(0);
    }
    await deleting;
  });

  it('two deletes together: one deletes, the other finds no group (UNKNOWN_GROUP)', async () => {
    const world = await engineFixture();
    await consumedAndLeft(world, 'dg-twice', 'g-twice', ['a']);
    const outcomes = await Promise.all([1, 2].map(() => world.broker.deleteGroup('dg-twice', 'g-twice').then(() => 'deleted', (e: { code: string }) => e.code)));
    expect(outcomes).toEqual(['deleted', 'UNKNOWN_GROUP']);
  });

  it('a subscribe to the name while the delete runs waits for it, then makes a fresh group at its `from`', async () => {
    const world = await engineFixture();
    const { broker } = world;
    await consumedAndLeft(world, 'dg-rejoin', 'g-rejoin', ['a', 'b']);
    const deleting = broker.deleteGroup('dg-rejoin', 'g-rejoin');
    const seen: Delivery[] = [];
    const joining = broker.subscribe({ topic: 'dg-rejoin', group: 'g-rejoin', from: 'earliest' }, (d) => void seen.push(d));
    // The join counts as a member from the call on: a delete now is refused.
    await expect(broker.deleteGroup('dg-rejoin', 'g-rejoin')).rejects.toMatchObject({ code: 'GROUP_NOT_EMPTY' });
    await deleting;
    await joining;
    await world.settle(() => seen.length === 2);
    expect(texts(seen)).toEqual(['a', 'b']);
    expect(broker.describeGroup('dg-rejoin', 'g-rejoin').partitions[0]!.ackFloor).toBe(2n);
  });

  it('a resetGroup racing it either resets the group before it goes or fails with UNKNOWN_GROUP, never with CLOSED', async () => {
    const outcomes = new Set<string>();
    for (let turns = 0; turns < 40; turns++) {
      // Without the tail cache, finding the reset's offset by time reads the segment: the delete runs meanwhile.
      const world = await engineFixture({ logTailCacheBytes: 0 });
      const { broker } = world;
      await consumedAndLeft(world, 'dg-reset', 'g-reset', ['a', 'b'], { partitions: 2 });
      const resetting = broker.resetGroup('dg-reset', 'g-reset', { timestamp: 0 }).then(() => 'reset', (e: { code: string }) => e.code);
      for (let i = 0; i < turns; i++) await Promise.resolve();
      const deleting = broker.deleteGroup('dg-reset', 'g-reset');
      const outcome = await resetting;
      outcomes.add(outcome);
      expect(['reset', 'UNKNOWN_GROUP'], `after ${turns} turns`).toContain(outcome);
      await deleting;
      expect(await world.fs.exists(`${broker.dataDir}/groups/dg-reset/g-reset`)).toBe(false);
    }
    expect([...outcomes].sort()).toEqual(['UNKNOWN_GROUP', 'reset']);
  });

  it('a deleteTopic while it runs waits for it (then removes the rest): both succeed', async () => {
    const { world, fs, atCommit, release } = await heldAtCommitPoint();
    const { broker } = world;
    await consumedAndLeft(world, 'dg-topic', 'g-topic', ['a']);
    const deletingGroup = broker.deleteGroup('dg-topic', 'g-topic');
    await atCommit;
    let topicDeleted = false;
    const deletingTopic = broker.deleteTopic('dg-topic').then(() => void (topicDeleted = true));
    await world.settle();
    expect(topicDeleted).toBe(false);
    release();
    await deletingGroup;
    await deletingTopic;
    expect(await fs.exists(`${broker.dataDir}/groups/dg-topic`)).toBe(false);
  });

  it('a deleteTopic while it runs, and it then fails before its commit point: the topic takes the group along, and its groupDeleted comes once', async () => {
    const { world, fs, atCommit, release } = await heldAtCommitPoint();
    const { broker } = world;
    await consumedAndLeft(world, 'dg-topic-failed', 'g-topic', ['a']);
    const deleted: string[] = [];
    broker.on('groupDeleted', (e) => void deleted.push(`${e.topic}/${e.group}`));
    const deletingGroup = broker.deleteGroup('dg-topic-failed', 'g-topic').then(() => 'deleted', (e: { code: string }) => e.code);
    await atCommit;
    const deletingTopic = broker.deleteTopic('dg-topic-failed');
    await world.settle(); // past the topic's commit point: it waits for the group's delete
    fs.failNext('unlink', { errno: 'EIO', path: /\/groups\/dg-topic-failed\/g-topic\/config\.json$/ });
    release();
    expect(await deletingGroup).toBe('IO_ERROR');
    await deletingTopic;
    expect(deleted).toEqual(['dg-topic-failed/g-topic']);
    expect([broker.listTopics(), broker.listGroups()]).toEqual([[], []]);
    expect(await fs.exists(`${broker.dataDir}/groups/dg-topic-failed`)).toBe(false);
  });

  it('a broker closing while it runs waits for it: close() resolves once the files are gone', async () => {
    const { world, fs, atCommit, release } = await heldAtCommitPoint();
    await consumedAndLeft(world, 'dg-close', 'g-close', ['a']);
    const deleting = world.broker.deleteGroup('dg-close', 'g-close');
    await atCommit;
    let closed = false;
    const closing = world.broker.close().then(() => void (closed = true));
    await world.settle();
    expect(closed).toBe(false);
    release();
    await closing;
    await deleting;
    expect(await fs.exists(`${world.broker.dataDir}/groups/dg-close/g-close`)).toBe(false);
  });
});

describe('deleteGroup and crashes', () => {
  it('a power cut at any file operation of deleteGroup: the group comes back whole, or not at all and its name starts fresh', async () => {
    for (let cutAt = 1; ; cutAt++) {
      const world = await engineFixture({ fsync: 'always' });
      await consumedAndLeft(world, 'dg-cut', 'g-cut', ['a', 'b'], { partitions: 2 });
      let operations = 0;
      world.fs.onOperation = () => {
        if (++operations === cutAt) world.fs.powerCut();
      };
      await world.broker.deleteGroup('dg-cut', 'g-cut').catch(() => undefined);
      world.fs.onOperation = undefined;
      if (operations < cutAt) return; // the delete ran to the end without reaching this cut
      const broker = await world.restart({ powerCut: false });
      if (broker.listGroups().length > 0) {
        expect(broker.describeGroup('dg-cut', 'g-cut').partitions.map((p) => p.ackFloor), `cut at ${cutAt}`).toEqual([1n, 1n]);
        continue;
      }
      expect(await world.fs.exists(`${broker.dataDir}/groups/dg-cut/g-cut`), `cut at ${cutAt}`).toBe(false);
      await broker.subscribe({ topic: 'dg-cut', group: 'g-cut', from: 'latest' }, () => undefined);
      expect(broker.describeGroup('dg-cut', 'g-cut').partitions.map((p) => p.ackFloor), `cut at ${cutAt}`).toEqual([1n, 1n]);
      expect(broker.describeGroup('dg-cut', 'g-cut').partitions.map((p) => p.deadLettered)).toEqual([0, 0]);
    }
  });
});
