/**
 * A retention pass on a topic that is deleted, and created again under its name, while the pass
 * deletes its segment files: the pass goes by paths and by the topic's name, the new topic has
 * the same directory and first segment name, and its groups the same names. Nothing of the old
 * topic's pass may reach the new one (docs/semantics.md, "Deleting a topic").
 */
import { describe, expect, it } from 'vitest';
import { parking } from '../groups/group-fixture.js';
import { heldReads } from '../held-reads.test-support.js';

const text = (bytes: Uint8Array | null) => (bytes === null ? null : new TextDecoder().decode(bytes));

describe('deleteTopic and createTopic while a retention pass deletes the topic\'s segments', () => {
  it("a retention pass deleting a topic's segments when the topic is deleted and created again tells the new topic's groups and readers nothing", async () => {
    const { world, holdNextDirSync } = await heldReads();
    const { broker } = world;
    await broker.createTopic('lc-again', { segmentBytesMax: 4096, retention: { maxBytes: 8192 } });
    for (let i = 0; i < 50; i++) await broker.produce('lc-again', [{ value: 'x'.repeat(1000) }]);
    // The pass waits in its directory fsync, after deleting the old topic's segment files.
    const hold = holdNextDirSync(/\/topics\/lc-again\/0$/);
    const retaining = broker.enforceRetention();
    await hold.reached;
    const told: { group?: string; reader?: string }[] = [];
    broker.on('retentionDropped', (event) => void told.push(event));
    const { held: delivered, handler } = parking();
    const recreated = (async () => {
      await broker.deleteTopic('lc-again');
      await broker.createTopic('lc-again');
      await broker.produce('lc-again', [{ value: 'a' }, { value: 'b' }, { value: 'c' }]);
      await broker.subscribe({ topic: 'lc-again', group: 'g', from: 'earliest' }, handler);
      return broker.subscribe({ topic: 'lc-again', from: 'earliest' }, () => new Promise<void>(() => undefined));
    })();
    await world.settle();
    hold.release();
    const [reader] = await Promise.all([recreated, retaining]);
    await world.settle(() => delivered.length === 3);
    expect(told.filter((event) => event.group !== undefined || event.reader !== undefined)).toEqual([]);
    expect(reader.lostToRetention).toBe(0n);
    expect(broker.describeGroup('lc-again', 'g').partitions[0]).toMatchObject({ ackFloor: 0n, lostToRetention: 0n });
    await delivered[0]!.ack();
    expect(broker.describeGroup('lc-again', 'g').partitions[0]!.ackFloor).toBe(1n);
  });

  it("a retention pass still deleting a topic's segment files when the topic is deleted and created again deletes none of the new topic's files", async () => {
    const { world, holdNextUnlink } = await heldReads();
    const { broker } = world;
    await broker.createTopic('lc-unlinked', { segmentBytesMax: 4096, retention: { maxBytes: 8192 } });
    for (let i = 0; i < 50; i++) await broker.produce('lc-unlinked', [{ value: 'x'.repeat(1000) }]);
    // The pass waits before deleting the first segment's log file; the new topic's first segment has its name.
    const hold = holdNextUnlink(/\/topics\/lc-unlinked\/0\/0{20}\.log$/);
    const retaining = broker.enforceRetention().catch((error: unknown) => error);
    await hold.reached;
    const recreated = (async () => {
      await broker.deleteTopic('lc-unlinked');
      await broker.createTopic('lc-unlinked');
      await broker.produce('lc-unlinked', [{ value: 'a' }, { value: 'b' }, { value: 'c' }]);
    })();
    await world.settle();
    hold.release();
    await Promise.all([recreated, retaining]);
    await broker.close();
    const reopened = await world.restart({ powerCut: false });
    expect((await reopened.fetch({ topic: 'lc-unlinked', partition: 0, offset: 0n })).map((record) => text(record.value))).toEqual(['a', 'b', 'c']);
  });

  it('a pass that goes on to the next partition after the delete deletes nothing there: its log is closed, and the new topic may have the same files', async () => {
    const { world, holdNextDirSync, holdNextUnlink } = await heldReads();
    const { broker } = world;
    await broker.createTopic('lc-next', { partitions: 2, segmentBytesMax: 4096, retention: { maxBytes: 8192 } });
    for (let i = 0; i < 50; i++) await broker.produce('lc-next', [0, 1].map((partition) => ({ partition, value: 'x'.repeat(1000) })));
    const partition0 = holdNextDirSync(/\/topics\/lc-next\/0$/);
    const partition1 = holdNextUnlink(/\/topics\/lc-next\/1\/0{20}\.log$/); // reached only if the pass deletes there
    const retaining = broker.enforceRetention();
    await partition0.reached;
    const recreated = (async () => {
      await broker.deleteTopic('lc-next');
      await broker.createTopic('lc-next', { partitions: 2 });
      await broker.produce('lc-next', [{ partition: 1, value: 'kept' }]);
    })();
    await world.settle();
    partition0.release();
    await recreated;
    partition1.release();
    // What it deleted before the delete is reported; the topic's other partitions are skipped, as a deleted topic is.
    expect((await retaining).map((drop) => drop.partition)).toEqual([0]);
    await broker.close();
    const reopened = await world.restart({ powerCut: false });
    expect((await reopened.fetch({ topic: 'lc-next', partition: 1, offset: 0n })).map((record) => text(record.value))).toEqual(['kept']);
  });
});
