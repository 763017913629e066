/**
 * deleteGroup meeting I/O errors (from the memory file system's injected faults): what a failed
 * delete leaves must be what a restart finds (docs/semantics.md, "Deleting a group", Failure).
 */
import { describe, expect, it } from 'vitest';
import { MemoryFileSystem } from '@brook/protocol';
import { trackOpenHandles } from '../open-handles.test-support.js';
import type { Delivery } from './delivery.js';
import { consumedAndLeft, engineFixture, parking } from './group-fixture.js';

const texts = (deliveries: Delivery[]) => deliveries.map((d) => d.text());

describe('deleteGroup and I/O errors', () => {
  it('a delete that fails before its commit point (config.json stays) leaves the group there and usable, as a restart finds it; the delete can be retried', async () => {
    const world = await engineFixture();
    await consumedAndLeft(world, 'dg-failed-before', 'g-failed', ['a', 'b'], { partitions: 2 });
    world.fs.failNext('unlink', { errno: 'EIO', path: /\/groups\/dg-failed-before\/g-failed\/config\.json$/ });

    await expect(world.broker.deleteGroup('dg-failed-before', 'g-failed')).rejects.toMatchObject({ code: 'IO_ERROR', retriable: true });

    const shown = (b: typeof world.broker) => ({ groups: b.listGroups(), floors: b.describeGroup('dg-failed-before', 'g-failed').partitions.map((p) => p.ackFloor) });
    expect(shown(world.broker)).toEqual({ groups: [{ topic: 'dg-failed-before', group: 'g-failed' }], floors: [1n, 1n] });
    const broker = await world.restart({ powerCut: false });
    expect(shown(broker)).toEqual({ groups: [{ topic: 'dg-failed-before', group: 'g-failed' }], floors: [1n, 1n] });
    await broker.produce('dg-failed-before', [{ value: 'c', partition: 0 }]);
    const seen: Delivery[] = [];
    const subscription = await broker.subscribe({ topic: 'dg-failed-before', group: 'g-failed', from: 'earliest' }, (d) => void seen.push(d));
    await world.settle(() => broker.describeGroup('dg-failed-before', 'g-failed').lag === 0n);
    await subscription.close();
    expect(texts(seen)).toEqual(['c']);
    await broker.deleteGroup('dg-failed-before', 'g-failed');
    expect(broker.listGroups()).toEqual([]);
  });

  it('a delete that fails before its commit point puts the group back usable in the running broker too', async () => {
    const world = await engineFixture();
    const { broker } = world;
    await consumedAndLeft(world, 'dg-failed-usable', 'g-failed', ['a']);
    world.fs.failNext('unlink', { errno: 'EIO', path: /\/groups\/dg-failed-usable\/g-failed\/config\.json$/ });
    await expect(broker.deleteGroup('dg-failed-usable', 'g-failed')).rejects.toMatchObject({ code: 'IO_ERROR' });
    expect(broker.listGroups()).toEqual([{ topic: 'dg-failed-usable', group: 'g-failed' }]);
    await broker.produce('dg-failed-usable', [{ value: 'b' }]);
    expect(broker.describeGroup('dg-failed-usable', 'g-failed').lag).toBe(1n);
    const seen: Delivery[] = [];
    await broker.subscribe({ topic: 'dg-failed-usable', group: 'g-failed', from: 'earliest' }, (d) => void seen.push(d));
    await world.settle(() => seen.length === 1);
    expect(texts(seen)).toEqual(['b']);
  });

  it.each([
    ['removing the rest of its directory', 'rmdir', /\/groups\/dg-failed-after\/g-failed$/],
    ['syncing its directory once config.json is unlinked', 'syncDir', /\/groups\/dg-failed-after\/g-failed$/],
  ] as const)('a delete that fails after its commit point (%s) has deleted the group for good, as a restart finds it: it resolves, and the name makes a fresh group', async (_what, op, path) => {
    const world = await engineFixture();
    const { fs } = world;
    await consumedAndLeft(world, 'dg-failed-after', 'g-failed', ['a', 'b']);
    fs.failNext(op, { errno: 'EIO', path });

    await world.broker.deleteGroup('dg-failed-after', 'g-failed');

    expect(world.broker.listGroups()).toEqual([]);
    const broker = await world.restart({ powerCut: false });
    expect(broker.listGroups()).toEqual([]);
    expect(await fs.exists(`${broker.dataDir}/groups/dg-failed-after/g-failed`)).toBe(false);
    await broker.produce('dg-failed-after', [{ value: 'c' }]);
    const seen: Delivery[] = [];
    await broker.subscribe({ topic: 'dg-failed-after', group: 'g-failed', from: 'earliest' }, (d) => void seen.push(d));
    await world.settle(() => seen.length === 3);
    expect(texts(seen)).toEqual(['a', 'b', 'c']);
  });

  it('a group whose journal failed (a write error) can be deleted, and the delete leaves none of its files open', async () => {
    const fs = new MemoryFileSystem();
    const { fs: tracking, openPaths } = trackOpenHandles(fs);
    const world = await engineFixture({ fs: tracking });
    const { broker } = world;
    await broker.createTopic('dg-journal-failed');
    await broker.produce('dg-journal-failed', [{ value: 'a' }]);
    const { held, handler } = parking();
    const subscription = await broker.subscribe({ topic: 'dg-journal-failed', group: 'g-journal' }, handler);
    await world.settle(() => held.length === 1);
    fs.failNext('write', { errno: 'EIO', path: /\/groups\/dg-journal-failed\/g-journal\/journal-0\// });
    await expect(held[0]!.ack()).rejects.toMatchObject({ code: 'IO_ERROR' });
    await subscription.close();

    await broker.deleteGroup('dg-journal-failed', 'g-journal');

    expect(openPaths(/\/groups\//)).toEqual([]);
    expect(await fs.exists(`${broker.dataDir}/groups/dg-journal-failed/g-journal`)).toBe(false);
  });
});
