/**
 * What each fsync policy promises (docs/wal.md, "fsync semantics"), told by what a power cut
 * that keeps nothing unsynced leaves: when a put resolves, what the interval timer fsyncs and
 * when, group commit, and close().
 */
import { describe, expect, it } from 'vitest';
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
});
