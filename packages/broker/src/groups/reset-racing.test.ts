/**
 * resetGroup racing the admin calls that replace its group, and other resets (docs/semantics.md
 * "Where a group starts, replay, and retention"): a reset applies to the group it was called on,
 * or fails with UNKNOWN_GROUP, never to a group made under the same name after it began; resets
 * of one group apply in call order.
 */
import { describe, expect, it } from 'vitest';
import type { Delivery } from './delivery.js';
import { consumedAndLeft } from './group-fixture.js';
import { heldReads } from '../held-reads.test-support.js';

describe('resetGroup racing the group being replaced', () => {
  it('a group deleted and made again under its name while the reset looks up its offsets: the reset fails with UNKNOWN_GROUP and the new group keeps its position', async () => {
    const { world, holdNextRead } = await heldReads();
    const { broker } = world;
    await consumedAndLeft(world, 'rr-regroup', 'g', ['a', 'b']);
    const held = holdNextRead(/\/topics\/rr-regroup\//);
    const resetting = broker.resetGroup('rr-regroup', 'g', { timestamp: 0 }).then(() => 'reset', (e: { code: string }) => e.code);
    await held.reached;
    await broker.deleteGroup('rr-regroup', 'g');
    const seen: Delivery[] = [];
    await broker.subscribe({ topic: 'rr-regroup', group: 'g', from: 'latest' }, (d) => void seen.push(d));
    held.release();

    expect(await resetting).toBe('UNKNOWN_GROUP');
    await broker.produce('rr-regroup', [{ value: 'c' }]);
    await world.settle(() => seen.length === 1);
    await world.settle();
    expect(seen.map((d) => d.text())).toEqual(['c']);
  });

  it('a topic deleted and created again with more partitions, and the group made again, while the reset looks up its offsets: UNKNOWN_GROUP, the new group untouched', async () => {
    const { world, holdNextRead } = await heldReads();
    const { broker } = world;
    await consumedAndLeft(world, 'rr-retopic', 'g', ['a', 'b']);
    const held = holdNextRead(/\/topics\/rr-retopic\//);
    const resetting = broker.resetGroup('rr-retopic', 'g', { timestamp: 0 }).then(() => 'reset', (e: { code?: string; message: string }) => e.code ?? e.message);
    await held.reached;
    await broker.deleteTopic('rr-retopic');
    await broker.createTopic('rr-retopic', { partitions: 3 });
    await broker.produce('rr-retopic', [{ value: 'old news', partition: 2 }]);
    await broker.subscribe({ topic: 'rr-retopic', group: 'g', from: 'latest' }, () => undefined);
    held.release();

    expect(await resetting).toBe('UNKNOWN_GROUP');
    expect(broker.describeGroup('rr-retopic', 'g').partitions.map((p) => p.ackFloor)).toEqual([0n, 0n, 1n]);
  });
});

describe('resetGroup racing another reset', () => {
  it('two resets of a group apply in call order: the later one wins even when the earlier takes longer to find its offsets', async () => {
    const { world, holdNextRead } = await heldReads();
    const { broker } = world;
    await consumedAndLeft(world, 'rr-twice', 'g', ['a', 'b', 'c']);
    const events: bigint[][] = [];
    broker.on('groupReset', (event) => void events.push(event.offsets));
    const held = holdNextRead(/\/topics\/rr-twice\//);
    const replaying = broker.resetGroup('rr-twice', 'g', { timestamp: 0 });
    await held.reached;
    const skipping = broker.resetGroup('rr-twice', 'g', 'latest');
    held.release();

    expect(await Promise.all([replaying, skipping])).toEqual([[0n], [3n]]);
    expect(events).toEqual([[0n], [3n]]);
    expect(broker.describeGroup('rr-twice', 'g').partitions[0]!.ackFloor).toBe(3n);
  });
});

