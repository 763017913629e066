/**
 * A storage call that fails (EMFILE, ENOSPC, EIO) must not leave files open behind it: a broker
 * that ran out of file descriptors once would otherwise hold more of them after every failed
 * attempt, and never get out of it. Each test fails every file-system call of an operation in
 * turn (the k-th call of the file system or of a file handle, reads included) and checks that
 * nothing stays open, and that the broker still works once the calls succeed again.
 */
import { describe, expect, it } from 'vitest';
import { MemoryFileSystem, VirtualClock } from '@brook/protocol';
import { Broker } from './broker.js';
import { failingCalls, trackOpenHandles } from './open-handles.test-support.js';

function world() {
  const memory = new MemoryFileSystem();
  const clock = new VirtualClock();
  const { fs: tracked, openPaths } = trackOpenHandles(memory);
  const failing = failingCalls(tracked);
  return {
    memory, failing, openPaths,
    open: () => Broker.open({ storage: 'memory', fs: failing.fs, clock, fsync: 'always' }),
  };
}

/** Runs `step` once with no failure to count its calls, then once per call with that call failing. */
async function everyCallFailing(
  failing: ReturnType<typeof failingCalls>, setUp: () => Promise<void>, step: () => Promise<unknown>, check: (failAt: number, error: unknown) => Promise<void>,
): Promise<number> {
  await setUp();
  failing.arm(0);
  await step();
  const total = failing.calls;
  for (let failAt = 1; failAt <= total; failAt++) {
    await setUp();
    failing.arm(failAt);
    const error = await step().then(() => undefined, (caught: unknown) => caught);
    failing.arm(0);
    await check(failAt, error);
  }
  return total;
}

describe('a failed storage call leaves no file open', () => {
  it('createTopic, each of its calls failing in turn: IO_ERROR, no file of the topic open, the same create succeeds next', async () => {
    const { failing, open, openPaths } = world();
    const broker = await open();
    let attempt = 0;
    const name = () => `fh-create-${attempt}`;
    const calls = await everyCallFailing(failing, async () => {
      attempt += 1;
    }, () => broker.createTopic(name(), { partitions: 3 }), async (failAt, error) => {
      expect(error, `call ${failAt}`).toMatchObject({ code: 'IO_ERROR' });
      expect(openPaths(new RegExp(`/topics/${name()}/`)), `call ${failAt}`).toEqual([]);
      await broker.createTopic(name(), { partitions: 3 });
      await broker.produce(name(), [{ key: 'k', value: 'v' }]);
    });
    expect(calls).toBeGreaterThan(20);
    await broker.close();
    expect(openPaths(/./)).toEqual([]);
  });

  it('a new group\'s first subscribe, each of its calls failing in turn: no file of the group open unless the group exists', async () => {
    const { failing, open, openPaths } = world();
    const broker = await open();
    await broker.createTopic('fh-group');
    await broker.produce('fh-group', [{ value: 'a' }]);
    let group = 0;
    const subscribe = async () => (await broker.subscribe({ topic: 'fh-group', group: `g${group}` }, () => undefined)).close();
    const exists = () => broker.listGroups('fh-group').some((entry) => entry.group === `g${group}`);
    // Each attempt on a group of its own; the one before is deleted first, so that nothing of it
    // (a journal write after its member's close) runs into the next attempt's failing call.
    const groupCalls = await everyCallFailing(failing, async () => {
      if (group > 0 && exists()) await broker.deleteGroup('fh-group', `g${group}`);
      group += 1;
    }, subscribe, async (failAt, error) => {
      if (error !== undefined) expect(error, `call ${failAt}`).toMatchObject({ code: 'IO_ERROR' });
      // A group that exists keeps its journal open, also when it has no member; one that does not holds nothing.
      if (!exists()) expect(openPaths(new RegExp(`/groups/fh-group/g${group}/`)), `call ${failAt}`).toEqual([]);
    });
    expect(groupCalls).toBeGreaterThan(5);

    await broker.close();
    expect(openPaths(/./)).toEqual([]);
  });

  it('a segment roll, each of its calls failing in turn: no file of the new segment left open', async () => {
    const { failing, open, openPaths } = world();
    const setUp = await open();
    await setUp.createTopic('fh-roll', { segmentBytesMax: 4096 });
    await setUp.close();
    let broker: Broker | undefined;
    // A failed roll fails the log until it is reopened: each attempt gets a broker of its own.
    // Each record fills most of a segment, so the step's produce always rolls.
    const calls = await everyCallFailing(failing, async () => {
      await broker?.close().catch(() => undefined);
      broker = await open();
      await broker.produce('fh-roll', [{ value: 'x'.repeat(3500) }]);
    }, () => broker!.produce('fh-roll', [{ value: 'y'.repeat(3500) }]), async (failAt, error) => {
      if (error !== undefined) expect(error, `call ${failAt}`).toMatchObject({ code: 'IO_ERROR' });
      await broker!.close().catch(() => undefined); // a failed roll fails the log: its close may report it
      broker = undefined;
      expect(openPaths(/./), `call ${failAt}`).toEqual([]);
    });
    expect(calls).toBeGreaterThan(3);
  });

  it('deleteTopic and deleteGroup, each of their calls failing in turn: what is gone holds no file, what stays still works', async () => {
    const { failing, open, openPaths } = world();
    const broker = await open();
    let n = 0;
    const topicExists = () => broker.listTopics().includes(`fh-del-${n}`);
    const deleteCalls = await everyCallFailing(failing, async () => {
      n += 1;
      await broker.createTopic(`fh-del-${n}`, { partitions: 2 });
      await broker.produce(`fh-del-${n}`, [{ key: 'a', value: '1' }, { key: 'b', value: '2' }]);
      await (await broker.subscribe({ topic: `fh-del-${n}`, group: 'g' }, () => undefined)).close();
    }, () => broker.deleteTopic(`fh-del-${n}`), async (failAt, error) => {
      if (error !== undefined) expect(error, `call ${failAt}`).toMatchObject({ code: 'IO_ERROR' });
      if (!topicExists()) expect(openPaths(new RegExp(`/fh-del-${n}/`)), `call ${failAt}`).toEqual([]);
      else await broker.produce(`fh-del-${n}`, [{ value: 'still here' }]);
    });
    expect(deleteCalls).toBeGreaterThan(5);

    const groupExists = () => broker.listGroups('fh-del-g').some((entry) => entry.group === `g${n}`);
    await broker.createTopic('fh-del-g');
    await broker.produce('fh-del-g', [{ value: 'a' }]);
    const groupCalls = await everyCallFailing(failing, async () => {
      n += 1;
      await (await broker.subscribe({ topic: 'fh-del-g', group: `g${n}` }, () => undefined)).close();
    }, () => broker.deleteGroup('fh-del-g', `g${n}`), async (failAt, error) => {
      if (error !== undefined) expect(error, `call ${failAt}`).toMatchObject({ code: 'IO_ERROR' });
      if (!groupExists()) expect(openPaths(new RegExp(`/groups/fh-del-g/g${n}/`)), `call ${failAt}`).toEqual([]);
    });
    expect(groupCalls).toBeGreaterThan(3);
    await broker.close().catch(() => undefined); // a journal that failed reports it at close
    expect(openPaths(/./)).toEqual([]);
  });

  it('a retention pass, each of its calls failing in turn: the segments it deleted hold no file, and close closes the rest', async () => {
    const { failing, open, openPaths } = world();
    const broker = await open();
    let n = 0;
    const calls = await everyCallFailing(failing, async () => {
      n += 1;
      await broker.createTopic(`fh-ret-${n}`, { segmentBytesMax: 4096, retention: { maxBytes: 8192 } });
      for (let i = 0; i < 12; i++) await broker.produce(`fh-ret-${n}`, [{ value: 'x'.repeat(1500) }]);
    }, () => broker.enforceRetention(), async (failAt, error) => {
      if (error !== undefined) expect(error, `call ${failAt}`).toMatchObject({ code: 'IO_ERROR' });
      // One open file per segment still in the log: none of the ones the pass took out.
      const { segments } = broker.describeTopic(`fh-ret-${n}`).partitions[0]!;
      expect(openPaths(new RegExp(`/fh-ret-${n}/`)), `call ${failAt}`).toHaveLength(segments);
    });
    expect(calls).toBeGreaterThan(5);
    await broker.close().catch(() => undefined);
    expect(openPaths(/./)).toEqual([]);
  });

  for (const stop of ['clean', 'power cut'] as const) {
    it(`Broker.open after a ${stop} (topics of several segments, a group), each of its calls failing in turn: no file open, then it opens whole`, async () => {
      const { memory, failing, open, openPaths } = world();
      const plain = () => Broker.open({ storage: 'memory', fs: memory, clock: new VirtualClock(), fsync: 'always' });
      const first = await plain();
      await first.createTopic('fh-open', { partitions: 2, segmentBytesMax: 4096 });
      for (let i = 0; i < 12; i++) await first.produce('fh-open', [{ key: `k${i}`, value: 'x'.repeat(1500) }]);
      const sub = await first.subscribe({ topic: 'fh-open', group: 'g' }, () => undefined);
      await sub.close();
      await first.close();

      // Each attempt starts from the same state: closed cleanly, or cut off by a power cut while open.
      const setUp = async () => {
        const broker = await plain();
        if (stop === 'clean') await broker.close();
        else memory.powerCut();
      };
      const calls = await everyCallFailing(failing, setUp, async () => {
        const broker = await open();
        await broker.close();
      }, async (failAt, error) => {
        // A call of close() may fail too (its clean-shutdown marker): close rejects, having closed everything.
        if (error !== undefined) expect(error, `call ${failAt}`).toMatchObject({ code: 'IO_ERROR' });
        expect(openPaths(/./), `call ${failAt}`).toEqual([]);
      });
      expect(calls).toBeGreaterThan(30);
      const reopened = await open();
      const records = [0, 1].map((partition) => reopened.fetch({ topic: 'fh-open', partition, offset: 0n, maxRecords: 100 }));
      expect((await Promise.all(records)).flat()).toHaveLength(12);
      await reopened.close();
    });
  }
});
