/**
 * A close after storage failed is not a clean shutdown: a failed fsync (or a failed write that
 * tore a round) leaves what is durable unknown, so the next open must recover as after a crash
 * instead of trusting index files and skipping the tail scan (data-dir.ts).
 */
import { describe, expect, it } from 'vitest';
import { MemoryFileSystem, VirtualClock, encodeBatch } from '@brook/protocol';
import { Broker } from './broker.js';
import { logFixture } from './log/log-fixture.js';
import { trackOpenHandles } from './open-handles.test-support.js';

function world() {
  const fs = new MemoryFileSystem();
  const clock = new VirtualClock();
  const { fs: tracked, openPaths } = trackOpenHandles(fs);
  return { fs, openPaths, open: () => Broker.open({ storage: 'memory', fs: tracked, clock, fsync: 'always' }) };
}

describe('close after a storage failure', () => {
  it('a topic log whose fsync failed: close() writes no clean-shutdown marker, the next open recovers; a healthy close is clean again', async () => {
    const { fs, open } = world();
    const broker = await open();
    await broker.createTopic('cf-log');
    await broker.produce('cf-log', [{ value: 'a' }]);
    fs.failNext('sync', { errno: 'EIO', path: /\/topics\/cf-log\// });
    await expect(broker.produce('cf-log', [{ value: 'b' }])).rejects.toMatchObject({ code: 'IO_ERROR' });
    await broker.close();

    const reopened = await open();
    expect(reopened.openedClean).toBe(false);
    expect((await reopened.fetch({ topic: 'cf-log', partition: 0, offset: 0n })).map((r) => Buffer.from(r.value!).toString())[0]).toBe('a');
    await reopened.close();
    const again = await open();
    expect(again.openedClean).toBe(true);
    await again.close();
  });

  it('a group journal whose write failed: close() rejects with it, yet closes every log first, and writes no clean-shutdown marker', async () => {
    const { fs, open, openPaths } = world();
    const broker = await open();
    await broker.createTopic('cf-journal');
    await broker.produce('cf-journal', [{ value: 'a' }]);
    const held: { ack(): Promise<void> }[] = [];
    await broker.subscribe({ topic: 'cf-journal', group: 'g' }, (delivery) => {
      held.push(delivery);
      return new Promise<void>(() => undefined);
    });
    while (held.length === 0) await new Promise((resolve) => setImmediate(resolve));
    fs.failNext('write', { errno: 'EIO', path: /\/groups\/cf-journal\/g\/journal-0\// });
    await expect(held[0]!.ack()).rejects.toMatchObject({ code: 'IO_ERROR' });
    // Its last flush fails again at close: the topic's log and the producer state close all the same.
    await expect(broker.close()).rejects.toMatchObject({ code: 'IO_ERROR' });
    expect(openPaths(/./)).toEqual([]);

    const reopened = await open();
    expect(reopened.openedClean).toBe(false);
    await reopened.close();
  });
});

describe('an open that fails', () => {
  it('after its topics opened (a corrupt group state): every log it opened is closed again, and no fsync { intervalMs } timer stays armed', async () => {
    const fs = new MemoryFileSystem();
    const clock = new VirtualClock();
    const { fs: tracked, openPaths } = trackOpenHandles(fs);
    const open = () => Broker.open({ storage: 'memory', fs: tracked, clock, fsync: { intervalMs: 100 } });
    const broker = await open();
    await broker.createTopic('of-topic', { partitions: 2 });
    await broker.produce('of-topic', [{ value: 'a' }]);
    await (await broker.subscribe({ topic: 'of-topic', group: 'of-group' }, () => undefined)).close();
    await broker.close();
    await fs.writeFile(`${broker.dataDir}/groups/of-topic/of-group/state.json`, new TextEncoder().encode('{not json'));
    await expect(open()).rejects.toMatchObject({ code: 'CORRUPT_METADATA' });
    expect(openPaths(/./)).toEqual([]);
    expect(clock.pendingTimers()).toBe(0);
  });

  it('at a journal record that does not replay: the journal log it opened is closed again, no timer stays armed', async () => {
    const fs = new MemoryFileSystem();
    const clock = new VirtualClock();
    const { fs: tracked, openPaths } = trackOpenHandles(fs);
    const open = () => Broker.open({ storage: 'memory', fs: tracked, clock, fsync: { intervalMs: 100 } });
    const broker = await open();
    await broker.createTopic('of-journal');
    await (await broker.subscribe({ topic: 'of-journal', group: 'of-group' }, () => undefined)).close();
    await broker.close();
    // A batch whose CRC holds but whose record is no journal record (an unknown format byte).
    const journal = await logFixture().open({ fs, clock, dir: `${broker.dataDir}/groups/of-journal/of-group/journal-0` });
    await journal.append(encodeBatch([{ key: null, value: new Uint8Array([0x7f]), timestamp: 0 }]));
    await journal.close();
    await expect(open()).rejects.toMatchObject({ code: 'CORRUPT_METADATA' });
    expect(openPaths(/./)).toEqual([]);
    expect(clock.pendingTimers()).toBe(0);
  });
});

describe('a createTopic that fails', () => {
  it('writing its topic.json: the partition logs it opened are closed again, no fsync { intervalMs } timer stays armed, and the name is free', async () => {
    const fs = new MemoryFileSystem();
    const clock = new VirtualClock();
    const { fs: tracked, openPaths } = trackOpenHandles(fs);
    const broker = await Broker.open({ storage: 'memory', fs: tracked, clock, fsync: { intervalMs: 100 } });
    const timersBefore = clock.pendingTimers();
    fs.failNext('rename', { errno: 'EIO', path: /\/topics\/ct-fail\/topic\.json/ });
    await expect(broker.createTopic('ct-fail', { partitions: 3 })).rejects.toMatchObject({ code: 'IO_ERROR' });
    expect(openPaths(/ct-fail/)).toEqual([]);
    expect(clock.pendingTimers()).toBe(timersBefore);
    await broker.createTopic('ct-fail', { partitions: 3 });
    expect(broker.describeTopic('ct-fail').partitions).toHaveLength(3);
    await broker.close();
    expect(openPaths(/./)).toEqual([]);
  });

  it('opening its last partition: the partition logs opened before it are closed again, and the name is free', async () => {
    const fs = new MemoryFileSystem();
    const clock = new VirtualClock();
    const { fs: tracked, openPaths } = trackOpenHandles(fs);
    const broker = await Broker.open({ storage: 'memory', fs: tracked, clock, fsync: { intervalMs: 100 } });
    const timersBefore = clock.pendingTimers();
    fs.failNext('mkdir', { errno: 'EIO', path: /\/topics\/ct-part\/2$/ });
    await expect(broker.createTopic('ct-part', { partitions: 3 })).rejects.toMatchObject({ code: 'IO_ERROR' });
    expect(openPaths(/ct-part/)).toEqual([]);
    expect(clock.pendingTimers()).toBe(timersBefore);
    await broker.createTopic('ct-part', { partitions: 3 });
    await broker.close();
    expect(openPaths(/./)).toEqual([]);
  });
});
