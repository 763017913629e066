import { describe, expect, it, vi } from 'vitest';
import { decodeBatch, isBrookError } from '@brook/protocol';
import { LOG_DIR, batchOf, holdingSyncsOf, logFixture, readAll, settle, text } from './log-fixture.js';
import { engineFixture } from '../groups/group-fixture.js';
import { Segment } from './segment.js';
import { segmentPath } from './segment-files.js';


describe('PartitionLog append and read', () => {
  it('assigns contiguous offsets from 0 across batches', async () => {
    const log = await logFixture().open();
    expect(await log.append(batchOf('a', 3))).toEqual({ baseOffset: 0n, lastOffset: 2n });
    expect(await log.append(batchOf('b', 2))).toEqual({ baseOffset: 3n, lastOffset: 4n });
    expect(log.endOffset).toBe(5n);
    const records = await readAll(log);
    expect(records.map((r) => r.offset)).toEqual([0n, 1n, 2n, 3n, 4n]);
    expect(records.map((r) => text(r.value))).toEqual(['a-0', 'a-1', 'a-2', 'b-0', 'b-1']);
  });

  it('reads from an offset in the middle of a batch and of the log', async () => {
    const log = await logFixture({ indexIntervalBytes: 64 }).open();
    for (let i = 0; i < 50; i++) await log.append(batchOf(`b${i}`, 10));
    const records = await readAll(log, 237n);
    expect(records[0]!.offset).toBe(237n);
    expect(text(records[0]!.value)).toBe('b23-7');
    expect(records.length).toBe(500 - 237);
  });

  // An index entry goes at the first batch and then at the first batch starting once at least
  // indexIntervalBytes were written since the last entry.
  it.each([[2, [0, 2, 4]], [3, [0, 3]]])('with indexIntervalBytes at %d batches\' bytes, indexes the batches %j of 6', async (batches, indexed) => {
    const batchBytes = batchOf('b0', 10).length;
    const fixture = logFixture({ indexIntervalBytes: batches * batchBytes });
    const log = await fixture.open();
    for (let i = 0; i < 6; i++) await log.append(batchOf(`b${i}`, 10));
    await log.close(); // writes the index files
    const index = await fixture.fs.readFile(segmentPath(fixture.options.dir, 0n, '.index'));
    const positions = Array.from({ length: index.length / 8 }, (_, i) => new DataView(index.buffer, index.byteOffset).getUint32(8 * i + 4));
    expect(positions).toEqual(indexed.map((batch) => batch * batchBytes));
  });

  it('reads and recovers a long range through growing scanner reads (64 KiB first, doubling to readChunkBytes)', async () => {
    // Batches of uneven sizes, so reads end inside batches at every growth step.
    const fixture = logFixture({ readChunkBytes: 1024 * 1024, fsync: 'never' });
    const log = await fixture.open();
    for (let i = 0; i < 120; i++) await log.append(batchOf(`b${i}`, 1 + (i % 5), undefined, 900 + ((i * 377) % 4000)));
    const expected = await readAll(log);
    const whole = await log.read(0n, { maxBytes: 4 * 1024 * 1024 });
    expect(whole.length).toBe(120);
    expect(whole.flatMap((b) => decodeBatch(b.bytes).records.map((r) => text(r.value)))).toEqual(expected.map((r) => text(r.value)));
    // Reopen without a clean shutdown: recovery scans the whole segment the same way.
    const reopened = await fixture.open();
    expect(reopened.endOffset).toBe(log.endOffset);
    expect((await readAll(reopened)).map((r) => text(r.value))).toEqual(expected.map((r) => text(r.value)));
  });

  it('returns at least one batch even when it is larger than maxBytes, then stops at maxBytes', async () => {
    const log = await logFixture().open();
    for (let i = 0; i < 5; i++) await log.append(batchOf(`b${i}`, 10, undefined, 100));
    const first = await log.read(0n, { maxBytes: 1 });
    expect(first.length).toBe(1);
    const some = await log.read(0n, { maxBytes: first[0]!.bytes.length * 2 });
    expect(some.length).toBe(2);
  });

  it('stops once the batches hold maxRecords records at or after the offset, counting only those', async () => {
    const log = await logFixture().open();
    for (let i = 0; i < 5; i++) await log.append(batchOf(`b${i}`, 10));
    const offsetsOf = (batches: { header: { baseOffset: bigint } }[]) => batches.map((b) => b.header.baseOffset);
    expect(offsetsOf(await log.read(0n, { maxBytes: 1 << 20, maxRecords: 10 }))).toEqual([0n]);
    expect(offsetsOf(await log.read(0n, { maxBytes: 1 << 20, maxRecords: 11 }))).toEqual([0n, 10n]);
    // From 15, the first batch holds 5 wanted records: 15 need one more batch, 16 two.
    expect(offsetsOf(await log.read(15n, { maxBytes: 1 << 20, maxRecords: 15 }))).toEqual([10n, 20n]);
    expect(offsetsOf(await log.read(15n, { maxBytes: 1 << 20, maxRecords: 16 }))).toEqual([10n, 20n, 30n]);
    expect(offsetsOf(await log.read(0n, { maxBytes: 1 << 20 }))).toEqual([0n, 10n, 20n, 30n, 40n]);
  });

  it('rejects reads outside [startOffset, endOffset] with OFFSET_OUT_OF_RANGE and returns nothing at endOffset', async () => {
    const log = await logFixture().open();
    await log.append(batchOf('a', 2));
    expect(await log.read(2n, { maxBytes: 1024 })).toEqual([]);
    await expect(log.read(3n, { maxBytes: 1024 })).rejects.toMatchObject({ code: 'OFFSET_OUT_OF_RANGE' });
    await expect(log.read(-1n, { maxBytes: 1024 })).rejects.toMatchObject({ code: 'OFFSET_OUT_OF_RANGE' });
  });

  it('a read running when retention deletes its segments returns what it read, in order; the next is OFFSET_OUT_OF_RANGE', async () => {
    const log = await logFixture({ segmentBytesMax: 4096, tailCacheBytes: 0 }).open();
    for (let i = 0; i < 40; i++) await log.append(batchOf(`b${i}`, 1, 1_700_000_000_000, 200));
    const reading = log.read(0n, { maxBytes: 1024 * 1024 });
    const { startOffset } = await log.applyRetention({ maxBytes: 4096 });
    const offsets = (await reading).map((batch) => batch.header.baseOffset);
    expect(offsets.length).toBeGreaterThan(0);
    expect(offsets).toEqual(offsets.map((_, i) => BigInt(i)));
    await expect(log.read(startOffset - 1n, { maxBytes: 1024 })).rejects.toMatchObject({ code: 'OFFSET_OUT_OF_RANGE' });
  });

  it('rejects a batch whose header does not match its bytes with CORRUPT_BATCH, writing nothing', async () => {
    const log = await logFixture().open();
    const batch = batchOf('a', 2);
    await expect(log.append(batch.subarray(0, batch.length - 1))).rejects.toMatchObject({ code: 'CORRUPT_BATCH' });
    expect(log.endOffset).toBe(0n);
  });
});

describe('PartitionLog timestamp lookup', () => {
  it('finds the first offset whose timestamp is >= the target, across segments', async () => {
    const log = await logFixture({ segmentBytesMax: 4096, indexIntervalBytes: 128 }).open();
    // Batch i holds 5 records stamped 1000*i + 0..4.
    for (let i = 0; i < 40; i++) await log.append(batchOf(`b${i}`, 5, 1000 * i, 50));
    expect(log.segmentCount).toBeGreaterThan(2);
    expect(await log.offsetForTimestamp(0)).toBe(0n);
    expect(await log.offsetForTimestamp(17_003)).toBe(17n * 5n + 3n);
    expect(await log.offsetForTimestamp(17_005)).toBe(18n * 5n);
    expect(await log.offsetForTimestamp(39_004)).toBe(199n);
    expect(await log.offsetForTimestamp(39_005)).toBe(200n);
  });

  it('honours records whose timestamps go backwards (the first offset at or after, not a binary search on time)', async () => {
    const log = await logFixture({ indexIntervalBytes: 64 }).open();
    await log.append(batchOf('late', 1, 5000));
    await log.append(batchOf('early', 1, 1000));
    await log.append(batchOf('mid', 1, 3000));
    expect(await log.offsetForTimestamp(2000)).toBe(0n);
    expect(await log.offsetForTimestamp(5001)).toBe(3n);
  });
});

describe('PartitionLog fsync policies', () => {
  it("'always' group-commits: concurrent appends share fsyncs, and resolve only after one", async () => {
    const fixture = logFixture({ fsync: 'always' });
    const log = await fixture.open();
    const before = fixture.fs.stats().syncs;
    const results = await Promise.all(Array.from({ length: 100 }, (_, i) => log.append(batchOf(`p${i}`, 1))));
    const syncs = fixture.fs.stats().syncs - before;
    expect(results.map((r) => r.baseOffset)).toEqual(Array.from({ length: 100 }, (_, i) => BigInt(i)));
    expect(syncs).toBe(1);
    fixture.fs.powerCut();
    const reopened = await fixture.open();
    expect(reopened.endOffset).toBe(100n);
  });

  it("'always': appends arriving during an fsync wait for it, then share the next one", async () => {
    const fixture = logFixture({ fsync: 'always' });
    const log = await fixture.open();
    const late: Promise<unknown>[] = [];
    fixture.fs.onOperation = (op) => {
      if (op.kind === 'sync' && late.length === 0) {
        for (let i = 0; i < 10; i++) late.push(log.append(batchOf(`late${i}`, 1)));
      }
    };
    const before = fixture.fs.stats().syncs;
    await log.append(batchOf('first', 1));
    await Promise.all(late);
    expect(fixture.fs.stats().syncs - before).toBe(2);
    expect(log.endOffset).toBe(11n);
  });

  it("'always': a record is not readable before its fsync completed", async () => {
    const fixture = logFixture({ fsync: 'always' });
    const log = await fixture.open();
    let visibleDuringSync: bigint | undefined;
    fixture.fs.onOperation = (op) => {
      if (op.kind === 'sync') visibleDuringSync = log.endOffset;
    };
    await log.append(batchOf('a', 3));
    expect(visibleDuringSync).toBe(0n);
    expect(log.endOffset).toBe(3n);
  });

  it("'never' does not fsync appends, so a power cut loses them", async () => {
    const fixture = logFixture({ fsync: 'never' });
    const log = await fixture.open();
    const before = fixture.fs.stats().syncs;
    await log.append(batchOf('a', 3));
    expect(fixture.fs.stats().syncs - before).toBe(0);
    fixture.fs.powerCut();
    expect((await fixture.open()).endOffset).toBe(0n);
  });

  it("under 'never' and { intervalMs } a flush fsyncs beside the rounds: appends behind it resolve during its fsync", async () => {
    for (const fsync of ['never', { intervalMs: 1000 }] as const) {
      const fixture = logFixture({ fsync });
      const active = segmentPath(fixture.options.dir, 0n, '.log');
      const syncs = holdingSyncsOf(fixture.fs, (path) => path === active);
      const log = await fixture.open({ fs: syncs.fs });
      await log.append(batchOf('a', 1));
      syncs.hold();
      const flushed: string[] = [];
      const first = log.flush().then(() => flushed.push('first'));
      await settle();
      expect(syncs.state.held, 'the flush is in its fsync').toBe(1);
      expect(await log.append(batchOf('b', 1)), `under ${JSON.stringify(fsync)}`).toEqual({ baseOffset: 1n, lastOffset: 1n });
      expect(log.endOffset).toBe(2n);
      // Asked for while the first fsync runs: waits for it, then shares one more (no pile-up).
      const second = log.flush().then(() => flushed.push('second'));
      const third = log.flush().then(() => flushed.push('third'));
      await settle();
      expect(syncs.state.held, 'one fsync at a time').toBe(1);
      expect(flushed).toEqual([]);
      const before = fixture.fs.stats().syncs;
      syncs.release();
      await Promise.all([first, second, third]);
      expect(flushed).toEqual(['first', 'second', 'third']);
      expect(fixture.fs.stats().syncs - before, 'the held fsync and one shared by the two waiting').toBe(2);
      fixture.fs.powerCut();
      expect((await fixture.open()).endOffset, "the second flush covered 'b'").toBe(2n);
    }
  });

  it('{ intervalMs } fsyncs on the clock, only when there is something to sync', async () => {
    const fixture = logFixture({ fsync: { intervalMs: 1000 } });
    const log = await fixture.open();
    const before = fixture.fs.stats().syncs;
    await log.append(batchOf('a', 3));
    expect(fixture.fs.stats().syncs - before).toBe(0);
    await fixture.clock.advanceAsync(1000);
    expect(fixture.fs.stats().syncs - before).toBe(1);
    await fixture.clock.advanceAsync(5000);
    expect(fixture.fs.stats().syncs - before).toBe(1);
    fixture.fs.powerCut();
    expect((await fixture.open()).endOffset).toBe(3n);
  });

  it('{ intervalMs } arms its timer only when a write leaves the log dirty: an idle log has none, a write is on disk within intervalMs', async () => {
    const fixture = logFixture({ fsync: { intervalMs: 1000 } });
    const log = await fixture.open();
    expect(fixture.clock.pendingTimers(), 'an idle log wakes nobody').toBe(0);
    await fixture.clock.advanceAsync(2500);
    const before = fixture.fs.stats().syncs;
    await log.append(batchOf('a', 3));
    expect(fixture.clock.pendingTimers(), 'the write armed it').toBe(1);
    await log.append(batchOf('b', 1));
    expect(fixture.clock.pendingTimers(), 'one timer however many writes').toBe(1);
    await fixture.clock.advanceAsync(999);
    expect(fixture.fs.stats().syncs - before).toBe(0);
    await fixture.clock.advanceAsync(1);
    expect(fixture.fs.stats().syncs - before, 'intervalMs after the write that armed it').toBe(1);
    expect(fixture.clock.pendingTimers(), 'clean again: nothing armed').toBe(0);
    fixture.fs.powerCut();
    expect((await fixture.open()).endOffset).toBe(4n);
  });
});

describe('PartitionLog I/O failures', () => {
  it('a failed write (ENOSPC) rejects its appends with IO_ERROR, exposes nothing, and the log keeps working', async () => {
    const fixture = logFixture();
    const log = await fixture.open();
    await log.append(batchOf('a', 2));
    fixture.fs.failNext('write', { errno: 'ENOSPC' });
    const failed = await log.append(batchOf('b', 2)).catch((error: unknown) => error);
    expect(isBrookError(failed, 'IO_ERROR')).toBe(true);
    expect((failed as { retriable: boolean }).retriable).toBe(true);
    expect(log.endOffset).toBe(2n);
    expect(await log.append(batchOf('c', 2))).toEqual({ baseOffset: 2n, lastOffset: 3n });
    expect((await readAll(log)).map((r) => text(r.value))).toEqual(['a-0', 'a-1', 'c-0', 'c-1']);
  });

  it('a failed write whose file cannot be cut back fails the log, and says so: bytes the log does not know of may follow its end', async () => {
    const { broker, fs } = await engineFixture({ fsync: 'always' });
    await broker.createTopic('uncut', {});
    const told: unknown[] = [];
    broker.on('logFailed', (event) => told.push(event));
    await broker.produce('uncut', [{ value: 'a' }]);
    fs.failNext('write', { errno: 'ENOSPC', path: /\/topics\/uncut\/0\/.*\.log$/ });
    fs.failNext('truncate', { errno: 'EIO', path: /\/topics\/uncut\/0\/.*\.log$/ });
    await expect(broker.produce('uncut', [{ value: 'b' }])).rejects.toMatchObject({ code: 'IO_ERROR' });
    expect(broker.describeTopic('uncut').partitions[0]!.failure).toMatchObject({ code: 'IO_ERROR', message: expect.stringMatching(/truncate.*EIO/) });
    expect(told).toEqual([expect.objectContaining({ topic: 'uncut', partition: 0, code: 'IO_ERROR' })]);
    await expect(broker.produce('uncut', [{ value: 'c' }])).rejects.toMatchObject({ code: 'IO_ERROR' });
  });

  it('a seal whose index files cannot be written (ENOSPC) fails nothing: appends go on, and the next open rebuilds the files from the log', async () => {
    const fixture = logFixture({ segmentBytesMax: 4096 });
    const log = await fixture.open();
    for (let i = 0; i < 3; i++) await log.append(batchOf(`a${i}`, 1, undefined, 1000));
    fixture.fs.failNext('write', { path: /00000000000000000000\.(time)?index\.tmp$/, errno: 'ENOSPC' });
    await log.append(batchOf('rolls', 1, undefined, 1000));
    await log.append(batchOf('after', 1));
    expect(log.failed, 'the segment\'s log was fsynced: only a shortcut is missing').toBeUndefined();
    expect(await fixture.fs.exists(segmentPath(LOG_DIR, 0n, '.index'))).toBe(false);
    const values = (await readAll(log)).map((r) => text(r.value)!.replace(/\.+$/, ''));
    expect(values).toEqual(['a0-0', 'a1-0', 'a2-0', 'rolls-0', 'after-0']);
    await log.close();
    const reopened = await fixture.open({ cleanShutdown: true });
    expect(reopened.recovery.rebuiltIndexes).toBe(1);
    expect(await fixture.fs.exists(segmentPath(LOG_DIR, 0n, '.index'))).toBe(true);
    expect((await readAll(reopened)).map((r) => text(r.value)!.replace(/\.+$/, ''))).toEqual(values);
  });

  it('a failed fsync (EIO) fails the log until reopen, which recovers every synced record', async () => {
    const fixture = logFixture();
    const log = await fixture.open();
    await log.append(batchOf('a', 2));
    fixture.fs.failNext('sync', { errno: 'EIO' });
    await expect(log.append(batchOf('b', 2))).rejects.toMatchObject({ code: 'IO_ERROR' });
    await expect(log.append(batchOf('c', 2))).rejects.toMatchObject({ code: 'IO_ERROR' });
    expect(log.endOffset).toBe(2n);
    fixture.fs.powerCut();
    const reopened = await fixture.open();
    expect((await readAll(reopened)).map((r) => text(r.value))).toEqual(['a-0', 'a-1']);
  });

  it('rejects appends and reads after close with CLOSED', async () => {
    const log = await logFixture().open();
    await log.close();
    await expect(log.append(batchOf('a', 1))).rejects.toMatchObject({ code: 'CLOSED' });
    await expect(log.read(0n, { maxBytes: 10 })).rejects.toMatchObject({ code: 'CLOSED' });
  });
});

describe('PartitionLog tail cache', () => {
  it('serves reads of the latest batches from memory, as many whole batches as fit in tailCacheBytes', async () => {
    const size = batchOf('b0', 3).length;
    const cases: [number, number][] = [[0, 0], [size - 1, 0], [size, 1], [2 * size - 1, 1], [2 * size, 2], [3 * size, 3]];
    for (const [tailCacheBytes, cached] of cases) {
      const log = await logFixture({ tailCacheBytes }).open();
      for (let i = 0; i < 3; i++) await log.append(batchOf(`b${i}`, 3));
      const scans = vi.spyOn(Segment.prototype, 'scanner');
      const fromMemory: boolean[] = [];
      for (let i = 0; i < 3; i++) {
        scans.mockClear();
        const batches = await log.read(BigInt(3 * i + 1), { maxBytes: 1 << 20 });
        expect(batches.map((b) => b.header.baseOffset)).toEqual([0n, 3n, 6n].slice(i));
        fromMemory.push(scans.mock.calls.length === 0);
      }
      scans.mockRestore();
      expect(fromMemory, `tailCacheBytes ${tailCacheBytes}`).toEqual([false, false, false].map((_, i) => i >= 3 - cached));
      await log.close();
    }
  });

  it('hands each reader its own copy of a cached batch', async () => {
    const log = await logFixture({ tailCacheBytes: 1 << 20 }).open();
    await log.append(batchOf('a', 2));
    const [first] = await log.read(0n, { maxBytes: 1 << 20 });
    first!.bytes.fill(0);
    first!.header.baseOffset = 99n;
    expect((await readAll(log)).map((r) => text(r.value))).toEqual(['a-0', 'a-1']);
  });
});
