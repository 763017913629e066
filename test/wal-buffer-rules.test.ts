/**
 * FileBuffer rules at their edges (docs/wal.md): when a batch seals (maxBytes to the byte,
 * maxAgeMs from a batch's first record, 0 at once), what a reopen restores beside the batches
 * (used bytes, the age timer of reopened open records), what clear() and commit() write, and
 * what a closed buffer refuses.
 */
import { describe, expect, it } from 'vitest';
import { encodeBatch } from '@brook/protocol';
import { SimulatedHost, WAL_DIR, drainAll, numbersOf, value } from './fixtures/wal-harness.js';

async function segmentCount(host: SimulatedHost): Promise<number> {
  return (await host.fs.readdir(WAL_DIR)).filter((name) => name.endsWith('.seg')).length;
}

describe('FileBuffer rules', () => {
  it('maxBytes: two records whose batch is exactly maxBytes share a batch; a third starts the next', async () => {
    const host = new SimulatedHost();
    const records = [1, 2, 3].map((n) => ({ key: null, value: new Uint8Array(200).fill(n), timestamp: 1000 }));
    const maxBytes = encodeBatch(records.slice(0, 2)).length;
    const buffer = await host.open({ maxRecords: 100, maxBytes });
    for (const record of records) await buffer.put(record);
    await buffer.flush();
    expect(buffer.emit()).toMatchObject({ records: records.slice(0, 2), encodedBytes: maxBytes });
    await buffer.commit();
    expect(buffer.emit()!.records).toEqual(records.slice(2));
  });

  it('maxAgeMs counts from a batch\'s first record: a later record does not start a second clock', async () => {
    const host = new SimulatedHost();
    const buffer = await host.open({ maxRecords: 100, maxAgeMs: 100 });
    await buffer.put({ value: value(1) });
    await host.clock.advanceAsync(60);
    await buffer.put({ value: value(2) });
    await host.clock.advanceAsync(40);
    expect(numbersOf(buffer.emit())).toEqual([1, 2]);
    await buffer.commit();
    await host.clock.advanceAsync(10);
    await buffer.put({ value: value(3) }); // at 110: sealed at 210, not when a clock from 60 runs out
    await host.clock.advanceAsync(99);
    expect(buffer.shouldEmit()).toBe(false);
    await host.clock.advanceAsync(1);
    expect(numbersOf(buffer.emit())).toEqual([3]);
  });

  it('maxAgeMs 0 seals each record as it is put', async () => {
    const host = new SimulatedHost();
    const buffer = await host.open({ maxRecords: 100, maxAgeMs: 0 });
    await buffer.put({ value: value(1) });
    expect(buffer.stats).toMatchObject({ openRecords: 0, sealedBatches: 1 });
  });

  it('a reopen restores the used WAL bytes and starts the age clock of records reopened open', async () => {
    const host = new SimulatedHost();
    const buffer = await host.open({ maxRecords: 2, maxAgeMs: 100 });
    for (let n = 1; n <= 3; n++) await buffer.put({ value: value(n) });
    const { walBytes } = buffer.stats;
    expect(walBytes).toBeGreaterThan(0);
    await buffer.close();
    const reopened = await host.open({ maxRecords: 2, maxAgeMs: 100 });
    expect(reopened.stats).toMatchObject({ walBytes, openRecords: 1, sealedBatches: 1 });
    await reopened.commit((reopened.emit()!).sequence);
    expect(reopened.shouldEmit()).toBe(false);
    await host.clock.advanceAsync(100);
    expect(numbersOf(reopened.emit())).toEqual([3]);
  });

  it('commit follows the put policy: under fsync never it makes no fsync', async () => {
    const host = new SimulatedHost();
    const buffer = await host.open({ maxRecords: 1, fsync: 'never' });
    await buffer.put({ value: value(1) });
    await buffer.flush();
    const syncs = host.fs.stats().syncs;
    await buffer.commit(buffer.emit()!.sequence);
    expect(host.fs.stats().syncs).toBe(syncs);
  });

  it('clear() leaves one segment, also on a buffer that never sealed and when called again', async () => {
    const host = new SimulatedHost();
    const buffer = await host.open({ maxRecords: 2 });
    await buffer.clear();
    expect(await segmentCount(host)).toBe(1);
    await buffer.put({ value: value(1) });
    await buffer.clear();
    await buffer.clear();
    expect(await segmentCount(host)).toBe(1);
    expect(buffer.stats).toMatchObject({ segments: 1, records: 0, nextBatchSequence: 1, committedThrough: 0 });
    await buffer.close();
    const reopened = await host.open({ maxRecords: 2 });
    expect(reopened.stats).toMatchObject({ segments: 1, records: 0, nextBatchSequence: 1, committedThrough: 0 });
    await reopened.commit(0); // a retried commit of a batch cleared before the reopen is a no-op
    await reopened.put({ value: value(2) });
    await reopened.flush();
    expect(await drainAll(reopened)).toEqual([2]);
  });

  it('newestRecord() is the newest uncommitted record, open or sealed, and none once all are committed', async () => {
    const host = new SimulatedHost();
    const buffer = await host.open({ maxRecords: 2 });
    expect(buffer.newestRecord()).toBeUndefined();
    await buffer.put({ value: value(1) });
    expect(buffer.newestRecord()?.value).toEqual(value(1));
    await buffer.put({ value: value(2) });
    expect(buffer.stats.openRecords).toBe(0);
    expect(buffer.newestRecord()?.value).toEqual(value(2));
    await drainAll(buffer);
    expect(buffer.newestRecord()).toBeUndefined();
  });

  it('a closed buffer emits nothing and refuses every call with CLOSED', async () => {
    const host = new SimulatedHost();
    const buffer = await host.open({ maxRecords: 1 });
    await buffer.put({ value: value(1) });
    await buffer.flush();
    await buffer.close();
    expect(buffer.shouldEmit()).toBe(false);
    expect(() => buffer.emit()).toThrow(expect.objectContaining({ code: 'CLOSED' }));
    await expect(buffer.put({ value: value(2) })).rejects.toMatchObject({ code: 'CLOSED' });
    await expect(buffer.commit()).rejects.toMatchObject({ code: 'CLOSED' });
    await expect(buffer.flush()).rejects.toMatchObject({ code: 'CLOSED' });
  });

  it('a sealed batch is emitted only once its SEAL is fsynced, and never if that fsync fails', async () => {
    const host = new SimulatedHost();
    const buffer = await host.open({ maxRecords: 1, fsync: 'never' });
    host.fs.failNext('sync', { errno: 'EIO' });
    const put = buffer.put({ value: value(1) });
    expect(buffer.stats.sealedBatches).toBe(1);
    expect(buffer.emit()).toBeUndefined();
    await expect(put).rejects.toMatchObject({ code: 'IO_ERROR' });
    expect(() => buffer.emit()).toThrow(expect.objectContaining({ code: 'IO_ERROR' }));
  });
});
