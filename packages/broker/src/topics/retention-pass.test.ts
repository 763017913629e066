/**
 * A retention pass over every topic (the periodic one, enforceRetention()): a partition that
 * cannot be retained now (its log failed, a file that cannot be deleted) does not keep the pass
 * from the other topics.
 */
import { describe, expect, it } from 'vitest';
import { duringRetention, engineFixture, parking } from '../groups/group-fixture.js';

const RECORD_BYTES = 200;

/** A topic that retention trims to two 4 KiB segments, holding well more than that. */
async function overfullTopic(broker: Awaited<ReturnType<typeof engineFixture>>['broker'], topic: string) {
  await broker.createTopic(topic, { segmentBytesMax: 4096, retention: { maxBytes: 8192 } });
  for (let i = 0; i < 100; i++) await broker.produce(topic, [{ value: `m${i}`.padEnd(RECORD_BYTES, '.') }]);
  return () => broker.describeTopic(topic).partitions[0]!;
}

describe('a retention pass', () => {
  it('goes on past a topic whose log failed: the other topics are retained, at every periodic pass', async () => {
    const { broker, fs, advance } = await engineFixture({ fsync: 'always', retentionCheckIntervalMs: 1000 });
    // Created first, so the pass meets it first; every record of it is past maxAgeMs.
    await broker.createTopic('pass-failed', { retention: { maxAgeMs: 60_000 } });
    await broker.produce('pass-failed', [{ value: 'a', timestamp: 0 }]);
    fs.failNext('sync', { errno: 'EIO', path: /\/topics\/pass-failed\// });
    await expect(broker.produce('pass-failed', [{ value: 'b', timestamp: 0 }])).rejects.toMatchObject({ code: 'IO_ERROR' });
    const healthy = await overfullTopic(broker, 'pass-healthy');
    await advance(120_000);
    expect(healthy().sizeBytes).toBeLessThanOrEqual(8192);
    // Nothing to report of the failed log (describeTopic's failure says it), so no rejection either.
    await expect(broker.enforceRetention()).resolves.toEqual([]);
    expect(broker.describeTopic('pass-failed').partitions[0]).toMatchObject({ startOffset: 0n, failure: { code: 'IO_ERROR' } });
  });

  it('a segment file it cannot delete: the other topics are retained all the same, then enforceRetention() rejects with the error', async () => {
    const { broker, fs } = await engineFixture();
    const first = await overfullTopic(broker, 'pass-unlink');
    const second = await overfullTopic(broker, 'pass-after');
    fs.failNext('unlink', { errno: 'EIO', path: /\/topics\/pass-unlink\// });
    await expect(broker.enforceRetention()).rejects.toMatchObject({ code: 'IO_ERROR' });
    expect(second().sizeBytes).toBeLessThanOrEqual(8192);
    expect(first().startOffset).toBeGreaterThan(0n);
  });
});

describe('a segment file retention fails to delete', () => {
  it('its records count as dropped all the same (event, startOffset), and the next pass deletes the file: a restart does not bring them back', async () => {
    const world = await engineFixture();
    const partition = await overfullTopic(world.broker, 'unlink-again');
    const dropped: bigint[] = [];
    world.broker.on('retentionDropped', (e) => void (e.group === undefined && e.reader === undefined && dropped.push(e.lostRecords)));
    world.fs.failNext('unlink', { errno: 'EIO', path: /\/topics\/unlink-again\/0\/0+\.log$/ });
    await expect(world.broker.enforceRetention()).rejects.toMatchObject({ code: 'IO_ERROR' });
    const { startOffset } = partition();
    expect(startOffset).toBeGreaterThan(0n);
    expect(dropped.reduce((a, b) => a + b, 0n)).toBe(startOffset);
    await world.broker.enforceRetention();
    expect(await world.fs.readdir('/brook/topics/unlink-again/0')).not.toContain('00000000000000000000.log');
    const reopened = await world.restart({ powerCut: false });
    expect(reopened.describeTopic('unlink-again').partitions[0]!.startOffset).toBe(startOffset);
  });
});

describe('records retention dropped never come back at open (the log-start checkpoint)', () => {
  /** Retention over an overfull topic, its first unlink failing: the records are out of the log, a file stays. */
  async function droppedWithAFileLeft(topic: string) {
    const world = await engineFixture();
    const partition = await overfullTopic(world.broker, topic);
    world.fs.failNext('unlink', { errno: 'EIO', path: new RegExp(`/topics/${topic}/0/0+\\.log$`) });
    await expect(world.broker.enforceRetention()).rejects.toMatchObject({ code: 'IO_ERROR' });
    const { startOffset } = partition();
    expect(startOffset).toBeGreaterThan(0n);
    expect(await world.fs.readdir(`/brook/topics/${topic}/0`)).toContain('00000000000000000000.log');
    return { world, startOffset };
  }

  async function expectStartsAt(broker: Awaited<ReturnType<typeof engineFixture>>['broker'], topic: string, startOffset: bigint) {
    expect(broker.describeTopic(topic).partitions[0]!.startOffset).toBe(startOffset);
    await expect(broker.fetch({ topic, partition: 0, offset: 0n })).rejects.toMatchObject({ code: 'OFFSET_OUT_OF_RANGE' });
    const [first] = await broker.fetch({ topic, partition: 0, offset: startOffset, maxRecords: 1 });
    expect(first!.offset).toBe(startOffset);
    expect(await broker.offsetForTimestamp(topic, 0, 0)).toBe(startOffset);
  }

  it('a file retention failed to delete, the broker killed before the next pass: the reopen deletes it and starts where retention left the log', async () => {
    const { world, startOffset } = await droppedWithAFileLeft('logstart-kill');
    const reopened = await world.restart({ powerCut: false });
    await expectStartsAt(reopened, 'logstart-kill', startOffset);
    expect(await world.fs.readdir('/brook/topics/logstart-kill/0')).not.toContain('00000000000000000000.log');
  });

  it('the same after a clean close, and a group from the earliest offset starts at startOffset', async () => {
    const { world, startOffset } = await droppedWithAFileLeft('logstart-close');
    await world.broker.close();
    const reopened = await world.restart({ powerCut: false });
    await expectStartsAt(reopened, 'logstart-close', startOffset);
    const { held, handler } = parking();
    await reopened.subscribe({ topic: 'logstart-close', group: 'logstart-close-group', from: 'earliest', maxInFlight: 1 }, handler);
    await world.settle(() => held.length > 0);
    expect(held[0]!.offset).toBe(startOffset);
  });

  it.each([
    ['at its first unlink, its new start made durable', 'unlink'],
    ['after its unlinks, before the directory fsync made them durable', 'syncDir'],
  ] as const)('a power cut in a retention %s: the segments come back and are deleted at open', async (_, at) => {
    const world = await engineFixture();
    const topic = `logstart-cut-${at}`;
    const dir = `/brook/topics/${topic}/0`;
    const partition = await overfullTopic(world.broker, topic);
    let unlinked = false;
    let seen: bigint | undefined;
    world.fs.onOperation = (op) => {
      if (seen !== undefined) throw new Error('the process is dead');
      if (!op.path.startsWith(dir) || (op.kind !== 'unlink' && op.kind !== 'syncDir')) return;
      if (op.kind === at && (at === 'unlink' || unlinked)) {
        seen = partition().startOffset; // what readers and groups were told
        world.fs.powerCut();
      }
      if (op.kind === 'unlink') unlinked = true;
    };
    await world.broker.enforceRetention().catch(() => undefined);
    world.fs.onOperation = undefined;
    expect(seen).toBeGreaterThan(0n);
    const reopened = await world.restart({ powerCut: false });
    await expectStartsAt(reopened, topic, seen!);
  });

  it('a checkpoint that cannot be written: nothing leaves the log (no record counts as dropped), and the next pass retains', async () => {
    const world = await engineFixture();
    const partition = await overfullTopic(world.broker, 'logstart-unwritten');
    const dropped: bigint[] = [];
    world.broker.on('retentionDropped', (e) => void dropped.push(e.lostRecords));
    world.fs.failNext('rename', { errno: 'EIO', path: /\/topics\/logstart-unwritten\/0\/log-start\.json/ });
    await expect(world.broker.enforceRetention()).rejects.toMatchObject({ code: 'IO_ERROR' });
    expect(partition().startOffset).toBe(0n);
    expect(dropped).toEqual([]);
    await world.broker.enforceRetention();
    expect(partition().startOffset).toBeGreaterThan(0n);
    expect(dropped).toEqual([partition().startOffset]);
  });
});

describe("a periodic pass that fails (nobody awaits it)", () => {
  it("shows in describeTopic's retentionFailure until a pass finishes, for a checkpoint not written and for a file not deleted", async () => {
    const { broker, fs, advance } = await engineFixture({ retentionCheckIntervalMs: 1000 });
    const partition = await overfullTopic(broker, 'periodic-failing');
    expect(partition().retentionFailure).toBeNull();
    fs.failNext('rename', { errno: 'ENOSPC', path: /\/topics\/periodic-failing\/0\/log-start\.json/, times: 2 });
    await advance(1000);
    expect(partition()).toMatchObject({ startOffset: 0n, failure: null, retentionFailure: { code: 'IO_ERROR', message: expect.stringMatching(/ENOSPC/) } });
    await advance(1000);
    expect(partition().retentionFailure).toMatchObject({ code: 'IO_ERROR' });
    fs.failNext('unlink', { errno: 'EIO', path: /\/topics\/periodic-failing\/0\/0+\.log$/ });
    await advance(1000);
    // The checkpoint is written now: the records leave the log, but a file stayed behind.
    expect(partition().startOffset).toBeGreaterThan(0n);
    expect(partition().retentionFailure).toMatchObject({ code: 'IO_ERROR', message: expect.stringMatching(/EIO/) });
    await advance(1000);
    expect(partition().retentionFailure).toBeNull();
    expect(await fs.readdir('/brook/topics/periodic-failing/0')).not.toContain('00000000000000000000.log');
  });
});

describe('a checkpoint renamed in place whose directory fsync failed (its durable state unknown, as after any failed fsync)', () => {
  /** The retentionDropped events `broker` emits from now on: whose loss (a group's, or none: the partition's), how many. */
  function drops(broker: Awaited<ReturnType<typeof engineFixture>>['broker']) {
    const seen: { group?: string; lostRecords: bigint }[] = [];
    broker.on('retentionDropped', ({ group, lostRecords }) => void seen.push({ ...(group === undefined ? {} : { group }), lostRecords }));
    return seen;
  }

  /** An overfull topic whose group 'g' holds offset 0 unacked, and a retention whose checkpoint's directory fsync fails. */
  async function renamedNotSynced(topic: string) {
    const world = await engineFixture();
    const partition = await overfullTopic(world.broker, topic);
    await world.broker.subscribe({ topic, group: 'g', from: 'earliest', maxInFlight: 1 }, parking().handler);
    await world.settle(() => world.broker.describeGroup(topic, 'g').partitions[0]!.inFlight.length === 1);
    const dropped = drops(world.broker);
    duringRetention(world, 'checkpoint', () => world.fs.failNext('syncDir', { errno: 'EIO', path: `/brook/topics/${topic}/0` }));
    await expect(world.broker.enforceRetention()).rejects.toMatchObject({ code: 'IO_ERROR', details: { op: 'syncDir' } });
    return { world, partition, dropped };
  }

  it('fails the log (no append is acknowledged until a reopen) and nothing leaves it yet; the next pass finishes the deletion and tells the groups', async () => {
    const { world, partition, dropped } = await renamedNotSynced('dirsync-failed');
    expect(partition()).toMatchObject({ startOffset: 0n, failure: { code: 'IO_ERROR' } });
    await expect(world.broker.produce('dirsync-failed', [{ value: 'after' }])).rejects.toMatchObject({ code: 'IO_ERROR' });
    expect(dropped).toEqual([]);
    await world.broker.enforceRetention();
    const { startOffset } = partition();
    expect(startOffset).toBeGreaterThan(0n);
    expect(dropped).toEqual([{ lostRecords: startOffset }, { group: 'g', lostRecords: startOffset }]);
    expect(world.broker.describeGroup('dirsync-failed', 'g').partitions[0]).toMatchObject({ ackFloor: startOffset, lostToRetention: startOffset });
  });

  it.each([
    ['killed (the rename stands): the log starts at the checkpoint, and the group is told what it lost when it reads', false],
    ['a power cut (the rename taken back): the log starts where it did, and the group lost nothing', true],
  ] as const)('the broker %s', async (_, powerCut) => {
    const { world } = await renamedNotSynced(`dirsync-restart-${powerCut}`);
    const topic = `dirsync-restart-${powerCut}`;
    expect(await world.fs.exists(`/brook/topics/${topic}/0/log-start.json`)).toBe(true); // visible, not durable
    const reopened = await world.restart({ powerCut });
    const { startOffset } = reopened.describeTopic(topic).partitions[0]!;
    expect(startOffset > 0n).toBe(!powerCut);
    const lost = drops(reopened);
    const { held, handler } = parking();
    await reopened.subscribe({ topic, group: 'g', maxInFlight: 1 }, handler);
    await world.settle(() => held.length > 0);
    expect(held[0]!.offset).toBe(startOffset);
    expect(lost).toEqual(powerCut ? [] : [{ group: 'g', lostRecords: startOffset }]);
    expect(reopened.describeGroup(topic, 'g').partitions[0]).toMatchObject({ ackFloor: startOffset, lostToRetention: startOffset });
  });
});


describe('describeGroup of a reopened group not yet told what retention deleted below its ackFloor', () => {
  it('counts in lag only the records left, and the ones it lost in lostToRetentionUntold until its first read tells it (once)', async () => {
    const topic = 'untold-describe';
    const world = await engineFixture();
    await overfullTopic(world.broker, topic);
    const { held, handler } = parking();
    await world.broker.subscribe({ topic, group: 'g', from: 'earliest', maxInFlight: 3 }, handler);
    await world.settle(() => held.length === 3);
    await Promise.all([held[1]!.ack(), held[2]!.ack()]); // acked above the floor: no loss when deleted
    duringRetention(world, 'checkpoint', () => world.fs.failNext('syncDir', { errno: 'EIO', path: `/brook/topics/${topic}/0` }));
    await expect(world.broker.enforceRetention()).rejects.toMatchObject({ code: 'IO_ERROR' });
    const reopened = await world.restart({ powerCut: false });
    const { startOffset, endOffset } = reopened.describeTopic(topic).partitions[0]!;
    expect(startOffset).toBeGreaterThan(3n);
    const untold = reopened.describeGroup(topic, 'g');
    expect(untold.partitions[0]).toMatchObject({ ackFloor: 0n, lag: endOffset - startOffset, lostToRetention: 0n, lostToRetentionUntold: startOffset - 2n });
    expect(untold.lag).toBe(endOffset - startOffset);
    const lost: bigint[] = [];
    reopened.on('retentionDropped', (e) => void (e.group === 'g' && lost.push(e.lostRecords)));
    const reading = parking();
    await reopened.subscribe({ topic, group: 'g', maxInFlight: 1 }, reading.handler);
    await world.settle(() => reading.held.length > 0);
    expect(lost).toEqual([startOffset - 2n]);
    expect(reopened.describeGroup(topic, 'g').partitions[0]).toMatchObject({
      ackFloor: startOffset, lag: endOffset - startOffset, lostToRetention: startOffset - 2n, lostToRetentionUntold: 0n,
    });
  });

  it('a group without members is told at the live pass itself, as one with members: nothing is left untold', async () => {
    const topic = 'untold-memberless';
    const world = await engineFixture();
    await overfullTopic(world.broker, topic);
    const { held, handler } = parking();
    const subscription = await world.broker.subscribe({ topic, group: 'g', from: 'earliest', maxInFlight: 1 }, handler);
    await world.settle(() => held.length === 1);
    subscription.abort(); // its delivery goes back unacked: the group keeps no member
    const lost: bigint[] = [];
    world.broker.on('retentionDropped', (e) => void (e.group === 'g' && lost.push(e.lostRecords)));
    await world.broker.enforceRetention();
    const { startOffset, endOffset } = world.broker.describeTopic(topic).partitions[0]!;
    expect(lost).toEqual([startOffset]);
    expect(world.broker.describeGroup(topic, 'g')).toMatchObject({
      members: [], partitions: [{ ackFloor: startOffset, lag: endOffset - startOffset, lostToRetention: startOffset, lostToRetentionUntold: 0n }],
    });
  });
});
