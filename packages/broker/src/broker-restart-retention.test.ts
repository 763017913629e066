/** Broker across restarts (clean and after a power cut), retention on the clock, and the timers it keeps. */
import { describe, expect, it } from 'vitest';
import { MemoryFileSystem, VirtualClock } from '@brook/protocol';
import { memoryBroker } from './memory-broker.test-support.js';

describe('Broker restart and retention', () => {
  it('reopens cleanly after close (marker found, no scan) and keeps every topic and record', async () => {
    const fs = new MemoryFileSystem();
    const broker = await memoryBroker({ fs });
    await broker.createTopic('orders', { partitions: 2, retention: { maxBytes: 1 << 20 } });
    await broker.produce('orders', [{ key: 'a', value: '1' }, { key: 'b', value: '2' }]);
    await broker.close();
    await expect(broker.produce('orders', [{ value: 'x' }])).rejects.toMatchObject({ code: 'CLOSED' });
    const reopened = await memoryBroker({ fs });
    expect(reopened.openedClean).toBe(true);
    expect(reopened.listTopics()).toEqual(['orders']);
    const total = reopened.describeTopic('orders').partitions.reduce((n, p) => n + p.endOffset, 0n);
    expect(total).toBe(2n);
  });

  it('after a power cut with fsync always: unclean open, every acknowledged record is there', async () => {
    const fs = new MemoryFileSystem();
    const broker = await memoryBroker({ fs, fsync: 'always' });
    await broker.createTopic('orders', { partitions: 3 });
    const acked = await Promise.all(Array.from({ length: 30 }, (_, i) => broker.produce('orders', [{ key: `k${i}`, value: `v${i}` }])));
    fs.powerCut();
    const reopened = await memoryBroker({ fs });
    expect(reopened.openedClean).toBe(false);
    for (const [result] of acked) {
      const [record] = await reopened.fetch({ topic: 'orders', partition: result!.partition, offset: result!.offset, maxRecords: 1 });
      expect(record).toBeDefined();
    }
  });

  it('removes a topic directory whose create was interrupted before topic.json', async () => {
    const fs = new MemoryFileSystem();
    const broker = await memoryBroker({ fs });
    let cut = false;
    fs.onOperation = (op) => {
      if (!cut && op.path.endsWith('topic.json.tmp') && op.kind === 'sync') {
        cut = true;
        fs.powerCut({ keep: () => ({ ops: Number.MAX_SAFE_INTEGER }) });
      }
    };
    await expect(broker.createTopic('half')).rejects.toBeDefined();
    fs.onOperation = undefined;
    const reopened = await memoryBroker({ fs });
    expect(reopened.listTopics()).toEqual([]);
    expect(await fs.readdir('/brook/topics')).toEqual([]);
    await reopened.createTopic('half');
    expect(reopened.listTopics()).toEqual(['half']);
  });

  it('applies retention on the clock: whole segments go, startOffset moves, the active segment stays', async () => {
    const clock = new VirtualClock();
    const broker = await memoryBroker({ clock, retentionCheckIntervalMs: 1000 });
    await broker.createTopic('t', { segmentBytesMax: 4096, retention: { maxBytes: 8192 } });
    for (let i = 0; i < 100; i++) await broker.produce('t', [{ value: 'x'.repeat(200) }]);
    const before = broker.describeTopic('t').partitions[0]!;
    expect(before.sizeBytes).toBeGreaterThan(8192);
    await clock.advanceAsync(1000);
    const after = broker.describeTopic('t').partitions[0]!;
    expect(after.sizeBytes).toBeLessThanOrEqual(8192);
    expect(after.startOffset).toBeGreaterThan(0n);
    expect(after.endOffset).toBe(100n);
    await expect(broker.fetch({ topic: 't', partition: 0, offset: 0n })).rejects.toMatchObject({ code: 'OFFSET_OUT_OF_RANGE' });
    expect((await broker.fetch({ topic: 't', partition: 0, offset: after.startOffset }))[0]!.offset).toBe(after.startOffset);
    // And again at every interval, not once.
    for (let i = 0; i < 100; i++) await broker.produce('t', [{ value: 'x'.repeat(200) }]);
    expect(broker.describeTopic('t').partitions[0]!.sizeBytes).toBeGreaterThan(8192);
    await clock.advanceAsync(1000);
    const again = broker.describeTopic('t').partitions[0]!;
    expect(again.sizeBytes).toBeLessThanOrEqual(8192);
    expect(again.startOffset).toBeGreaterThan(after.startOffset);
  });

  it('maxBytes deletes only while the partition is larger: one of exactly maxBytes keeps every segment it has left', async () => {
    const broker = await memoryBroker({ retentionCheckIntervalMs: 3_600_000 });
    const record = { value: 'x'.repeat(2000), timestamp: 0 };
    await broker.createTopic('exact-probe');
    await broker.produce('exact-probe', [record]);
    const batchBytes = broker.describeTopic('exact-probe').partitions[0]!.sizeBytes;
    // Two batches a segment, three segments; the partition holds one segment more than maxBytes.
    await broker.createTopic('exact', { segmentBytesMax: 2 * batchBytes, retention: { maxBytes: 4 * batchBytes } });
    for (let i = 0; i < 6; i++) await broker.produce('exact', [record]);
    expect(broker.describeTopic('exact').partitions[0]!.segments).toBe(3);
    expect(await broker.enforceRetention()).toMatchObject([{ topic: 'exact', droppedRecords: 2n, startOffset: 2n }]);
    expect(broker.describeTopic('exact').partitions[0]).toMatchObject({ startOffset: 2n, sizeBytes: 4 * batchBytes, segments: 2 });
    expect(await broker.enforceRetention()).toEqual([]);
  });

  it('a topic with maxAgeMs and no segmentMsMax of its own rolls segments at a quarter of it, so its records go about maxAgeMs after they came', async () => {
    const clock = new VirtualClock();
    const broker = await memoryBroker({ clock });
    await broker.createTopic('aging', { retention: { maxAgeMs: 60_000 } });
    await broker.produce('aging', [{ value: 'old' }]);
    await clock.advanceAsync(15_000);
    await broker.produce('aging', [{ value: 'new' }]); // rolls: the first segment is a quarter of maxAgeMs old
    await clock.advanceAsync(45_001);
    expect(await broker.enforceRetention()).toMatchObject([{ topic: 'aging', partition: 0, droppedRecords: 1n }]);
    expect(broker.describeTopic('aging').partitions[0]).toMatchObject({ startOffset: 1n, endOffset: 2n });
  });

  it('applies maxAgeMs retention by the newest record of each segment', async () => {
    const clock = new VirtualClock();
    const broker = await memoryBroker({ clock });
    await broker.createTopic('t', { segmentBytesMax: 4096, retention: { maxAgeMs: 60_000 } });
    for (let i = 0; i < 60; i++) await broker.produce('t', [{ value: 'x'.repeat(200) }]);
    const segments = broker.describeTopic('t').partitions[0]!.segments;
    expect(segments).toBeGreaterThan(2);
    clock.advance(30_000);
    await broker.produce('t', [{ value: 'younger' }]); // keeps the active segment inside maxAgeMs
    clock.advance(30_000);
    expect(await broker.enforceRetention()).toEqual([]);
    clock.advance(1);
    const dropped = await broker.enforceRetention();
    expect(dropped).toHaveLength(1);
    const after = broker.describeTopic('t').partitions[0]!;
    expect(after.segments).toBe(1);
    expect([after.startOffset, after.endOffset]).toEqual([60n, 61n]); // the active segment (rolled at maxAgeMs / 4) stays
    expect(dropped[0]!.droppedRecords).toBe(after.startOffset);
  });

  it('a partition whose every record is older than maxAgeMs loses them all, its active segment sealed and deleted (as Kafka does)', async () => {
    const clock = new VirtualClock();
    // Retention runs only when asked here (the periodic run would race the calls below).
    const broker = await memoryBroker({ clock, retentionCheckIntervalMs: 3_600_000 });
    // Segments that do not roll by age, so that each partition is one active segment.
    await broker.createTopic('quiet', { partitions: 2, segmentMsMax: 3_600_000, retention: { maxAgeMs: 60_000 } });
    await broker.produce('quiet', [{ value: 'a', partition: 0 }, { value: 'b', partition: 0 }, { value: 'c', partition: 1 }]);
    clock.advance(30_000);
    await broker.produce('quiet', [{ value: 'd', partition: 1 }]);
    clock.advance(30_001);
    // Partition 0 went quiet 60 s ago: all of it goes. Partition 1 has a record 30 s old: its
    // active segment (with the older record) stays whole.
    expect(await broker.enforceRetention()).toEqual([{ topic: 'quiet', partition: 0, droppedRecords: 2n, startOffset: 2n }]);
    expect(broker.describeTopic('quiet').partitions.map(({ startOffset, endOffset }) => [startOffset, endOffset])).toEqual([[2n, 2n], [0n, 2n]]);
    // Then partition 1 in turn; then there is nothing left to expire: later runs seal no empty
    // segment and drop nothing.
    clock.advance(30_000);
    expect(await broker.enforceRetention()).toEqual([{ topic: 'quiet', partition: 1, droppedRecords: 2n, startOffset: 2n }]);
    const segments = broker.describeTopic('quiet').partitions.map((p) => p.segments);
    expect(await broker.enforceRetention()).toEqual([]);
    expect(broker.describeTopic('quiet').partitions.map((p) => p.segments)).toEqual(segments);
    // The partition goes on from its endOffset.
    const [produced] = await broker.produce('quiet', [{ value: 'e', partition: 0 }]);
    expect(produced!.offset).toBe(2n);
    expect((await broker.fetch({ topic: 'quiet', partition: 0, offset: 2n })).map((r) => r.offset)).toEqual([2n]);
  });

  it('a partition expires whole only once every record is older than maxAgeMs: its active segment stays while one is younger, and at exactly maxAgeMs', async () => {
    const clock = new VirtualClock();
    const broker = await memoryBroker({ clock, retentionCheckIntervalMs: 3_600_000 });
    await broker.createTopic('mixed', { segmentBytesMax: 4096, segmentMsMax: 3_600_000, retention: { maxAgeMs: 60_000 } });
    const start = clock.now();
    // One record a segment; the sealed one is the younger (a producer's own timestamps).
    await broker.produce('mixed', [{ value: 'y'.repeat(3000), timestamp: start + 30_000 }]);
    await broker.produce('mixed', [{ value: 'o'.repeat(3000), timestamp: start }]);
    const segments = () => broker.describeTopic('mixed').partitions[0]!.segments;
    expect(segments()).toBe(2);
    clock.advance(60_001);
    // The active segment's record is past maxAgeMs, the sealed one's is not: nothing goes, nothing rolls.
    expect(await broker.enforceRetention()).toEqual([]);
    expect(segments()).toBe(2);
    clock.advance(29_999);
    expect(await broker.enforceRetention(), 'the younger record is exactly maxAgeMs old').toEqual([]);
    expect(segments()).toBe(2);
    clock.advance(1);
    expect(await broker.enforceRetention()).toEqual([{ topic: 'mixed', partition: 0, droppedRecords: 2n, startOffset: 2n }]);
  });
});

describe('Broker timers', () => {
  it('has no timer while no topic has a retention policy, so a VirtualClock can run it until idle', async () => {
    const clock = new VirtualClock();
    const broker = await memoryBroker({ clock });
    await broker.createTopic('t');
    await broker.produce('t', [{ value: 'a' }, { value: 'b' }]);
    const seen: string[] = [];
    await broker.subscribe({ topic: 't', group: 'g' }, (d) => void seen.push(d.text()!));
    await clock.runUntilIdle();
    expect(seen).toEqual(['a', 'b']);
    expect(clock.pendingTimers()).toBe(0);
    await broker.createTopic('kept', { retention: { maxAgeMs: 1000 } });
    expect(clock.pendingTimers()).toBe(1);
  });

  it('under fsync { intervalMs } an idle partition has no timer: a write arms its own, the fsync disarms it', async () => {
    const clock = new VirtualClock();
    const broker = await memoryBroker({ clock, fsync: { intervalMs: 100 } });
    await broker.createTopic('idle-many', { partitions: 64 });
    expect(clock.pendingTimers(), '64 idle partitions wake nobody').toBe(0);
    await broker.produce('idle-many', [{ value: 'a', partition: 7 }]);
    expect(clock.pendingTimers(), 'the written one').toBe(1);
    await clock.advanceAsync(100);
    expect(clock.pendingTimers()).toBe(0);
    await broker.close();
  });
});
