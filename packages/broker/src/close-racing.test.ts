/**
 * close() racing calls still under way (docs/semantics.md "Closing the broker"): each such call
 * either completes before the close or fails with CLOSED, every promise settles, and the close
 * leaves no file of the broker open. The calls are made in the same turn as close(), so they
 * are still waiting for files when it begins.
 */
import { describe, expect, it } from 'vitest';
import { MemoryFileSystem } from '@brook/protocol';
import { engineFixture } from './groups/group-fixture.js';
import { trackOpenHandles } from './open-handles.test-support.js';

/** A memory broker on the virtual clock whose file handles are counted (openPaths). */
async function trackedWorld(options: { logTailCacheBytes?: number } = {}) {
  const { fs, openPaths } = trackOpenHandles(new MemoryFileSystem());
  return { ...(await engineFixture({ fs, ...options })), openPaths };
}

/** `promise`'s code once it settles ('resolved' if it resolves), without awaiting it here. */
function outcomeOf(promise: Promise<unknown>): { readonly code: string | undefined } {
  const outcome: { code: string | undefined } = { code: undefined };
  promise.then(() => (outcome.code = 'resolved'), (error: { code: string }) => (outcome.code = error.code));
  return outcome;
}

describe('close() racing a join', () => {
  it('a subscribe of a new group still joining fails with CLOSED, and the close leaves none of the group\'s files open', async () => {
    const world = await trackedWorld();
    const { broker } = world;
    await broker.createTopic('cr-subscribe');
    const joining = outcomeOf(broker.subscribe({ topic: 'cr-subscribe', group: 'g' }, () => undefined));
    await broker.close();
    await world.settle(() => joining.code !== undefined);
    expect(joining.code).toBe('CLOSED');
    expect(world.openPaths(/./)).toEqual([]);
  });

  it('a consume() loop of a new group still joining throws CLOSED, and the close leaves none of the group\'s files open', async () => {
    const world = await trackedWorld();
    const { broker } = world;
    await broker.createTopic('cr-consume');
    const next = outcomeOf(broker.consume({ topic: 'cr-consume', group: 'g' })[Symbol.asyncIterator]().next());
    await broker.close();
    await world.settle(() => next.code !== undefined);
    expect(next.code).toBe('CLOSED');
    expect(world.openPaths(/./)).toEqual([]);
  });
});

describe('close() racing admin calls', () => {
  it('a redrive opening its progress group settles (here: nothing to move), and the close leaves the group\'s files closed', async () => {
    const world = await trackedWorld();
    const { broker } = world;
    await broker.createTopic('cr-redrive.dlq');
    const redriving = outcomeOf(broker.redrive('cr-redrive.dlq'));
    await broker.close();
    await world.settle(() => redriving.code !== undefined);
    expect(redriving.code).toBe('resolved');
    expect(world.openPaths(/./)).toEqual([]);
  });

  it('a resetGroup still finding its offsets fails with CLOSED and emits no groupReset: the reset never applied', async () => {
    // Without the tail cache, finding an offset by time reads the segment: close() begins meanwhile.
    const world = await trackedWorld({ logTailCacheBytes: 0 });
    const { broker } = world;
    await broker.createTopic('cr-reset');
    await broker.produce('cr-reset', [{ value: 'a' }]);
    const subscription = await broker.subscribe({ topic: 'cr-reset', group: 'g' }, () => undefined);
    await world.settle(() => broker.describeGroup('cr-reset', 'g').lag === 0n);
    await subscription.close();
    const events: string[] = [];
    broker.on('groupReset', () => void events.push('groupReset'));
    const resetting = outcomeOf(broker.resetGroup('cr-reset', 'g', { timestamp: 0 }));
    await broker.close();
    await world.settle(() => resetting.code !== undefined);
    expect([resetting.code, events]).toEqual(['CLOSED', []]);
  });
});

describe('close() racing close()', () => {
  it('a second close() while the first is under way settles with it, once every file is closed: it resolved at once, before the marker and the lock', async () => {
    const world = await trackedWorld();
    const { broker } = world;
    await broker.createTopic('cr-twice');
    await broker.produce('cr-twice', [{ value: 'a' }]);
    const first = outcomeOf(broker.close());
    await broker.close();
    expect(first.code).toBe('resolved');
    expect(world.openPaths(/./)).toEqual([]);
  });
});
