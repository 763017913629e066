/**
 * What each fsync policy promises (docs/wal.md, "fsync semantics"), told by what a power cut
 * that keeps nothing unsynced leaves: when a put resolves, what the interval timer fsyncs and
 * when, what close() and a roll fsync.
 */
import { describe, expect, it } from 'vitest';
import { tearLastWrite } from '@brook/protocol';
import { SimulatedHost, drainAll, value } from './fixtures/wal-harness.js';

const KEEP_OPEN = { maxRecords: 100, maxAgeMs: 60_000 } as const;

describe('FileBuffer fsync policies', () => {
  it('{ intervalMs }: a put resolves after its write; the timer fsyncs every intervalMs while anything is unsynced, and only then', async () => {
    const host = new SimulatedHost();
    const buffer = await host.open({ ...KEEP_OPEN, fsync: { intervalMs: 10 } });
    const syncs = (): number => host.fs.stats().syncs;
    const atOpen = syncs();
    await buffer.put({ value: value(1) });
    expect(syncs()).toBe(atOpen);
    await host.clock.advanceAsync(9);
    expect(syncs()).toBe(atOpen);
    await host.clock.advanceAsync(1);
    expect(syncs()).toBe(atOpen + 1);
    await host.clock.advanceAsync(30); // nothing unsynced: no fsync
    expect(syncs()).toBe(atOpen + 1);
    await buffer.put({ value: value(2) });
    await host.clock.advanceAsync(10); // the timer goes on after idle ticks
    expect(syncs()).toBe(atOpen + 2);
    expect(buffer.stats.fsyncs).toBe(2);
    await buffer.put({ value: value(3) }); // resolved, not yet fsynced
    host.crash(buffer, {});
    const reopened = await host.open({ ...KEEP_OPEN, fsync: 'never' });
    await reopened.flush();
    expect(await drainAll(reopened)).toEqual([1, 2]);
  });

  it("'never': a put is not fsynced, and close() fsyncs what is pending", async () => {
    const host = new SimulatedHost();
    const buffer = await host.open({ ...KEEP_OPEN, fsync: 'never' });
    await buffer.put({ value: value(1) });
    host.crash(buffer, {});
    const second = await host.open({ ...KEEP_OPEN, fsync: 'never' });
    expect(second.stats.records).toBe(0);
    await second.put({ value: value(2) });
    await second.close();
    host.fs.powerCut();
    const third = await host.open({ ...KEEP_OPEN, fsync: 'never' });
    await third.flush();
    expect(await drainAll(third)).toEqual([2]);
  });

  it("'always': each put resolves fsynced, so close() has nothing left to fsync and makes no fsync", async () => {
    const host = new SimulatedHost();
    const buffer = await host.open(KEEP_OPEN);
    await buffer.put({ value: value(1) });
    await buffer.put({ value: value(2) });
    const syncs = host.fs.stats().syncs;
    expect(buffer.stats.fsyncs).toBe(2);
    await buffer.close();
    expect(host.fs.stats().syncs).toBe(syncs);
  });

  it("'never': a roll fsyncs the segment it leaves, so a power cut cannot tear a segment that is not the last", async () => {
    const host = new SimulatedHost();
    const buffer = await host.open({ maxRecords: 1, fsync: 'never' });
    await buffer.put({ value: value(1) });
    await buffer.flush();
    await buffer.commit(buffer.emit()!.sequence); // its COMMIT frame is not fsynced
    // clear() rolls to a new segment, then deletes the old one: the power goes just before that,
    // and of what was not fsynced the disk kept 3 bytes of the last write.
    host.fs.onOperation = (op) => {
      if (op.kind !== 'unlink') return;
      host.fs.onOperation = undefined;
      host.fs.powerCut({ keep: tearLastWrite(3) });
    };
    await expect(buffer.clear()).rejects.toMatchObject({ code: 'CLOSED' });
    host.crash(buffer);
    const reopened = await host.open({ maxRecords: 1, fsync: 'never' });
    expect(reopened.stats).toMatchObject({ records: 0, nextBatchSequence: 1 });
  });
});

