/**
 * The log's flushes under fsync 'never' and { intervalMs }, whose fsyncs run beside the append
 * rounds (flush-behind.ts): what they may claim once the log failed, and what waits for them.
 */
import { describe, expect, it } from 'vitest';
import { batchOf, holdingSyncsOf, logFixture, settle, steppingSyncsOf } from './log-fixture.js';
import { segmentPath } from './segment-files.js';


/** Where `promise` stands now, without waiting for it. */
function stateOf(promise: Promise<unknown>): { status: 'pending' | 'fulfilled' | 'rejected'; reason?: unknown } {
  const state: { status: 'pending' | 'fulfilled' | 'rejected'; reason?: unknown } = { status: 'pending' };
  promise.then(() => (state.status = 'fulfilled'), (reason: unknown) => Object.assign(state, { status: 'rejected', reason }));
  return state;
}

describe('PartitionLog flushes beside the rounds', () => {
  it('a flush whose round was still writing when a flush fsync failed rejects: it does not fsync the failed log again', async () => {
    const fixture = logFixture({ fsync: 'never', segmentBytesMax: 1 });
    const segment1 = segmentPath(fixture.options.dir, 1n, '.log');
    const syncs = holdingSyncsOf(fixture.fs, (path) => path.endsWith('.log'));
    const log = await fixture.open({ fs: syncs.fs });
    await log.append(batchOf('a', 1));
    syncs.hold();
    // 'b' rolls: the seal of segment 0 is held, 'b' goes into segment 1.
    const b = log.append(batchOf('b', 1));
    // The flush fsyncs segment 1 beside the rounds (held), and waits for the seal.
    const first = stateOf(log.flush());
    await settle();
    // 'c' rolls too: its round waits for the seal of segment 0 before it can start segment 2.
    const c = log.append(batchOf('c', 1));
    const second = stateOf(log.flush());
    await settle();
    expect(syncs.state.held, 'the seal and the first flush').toBe(2);
    // The first flush's fsync fails (EIO): the kernel may have dropped segment 1's pages.
    fixture.fs.failNext('sync', { path: segment1, errno: 'EIO' });
    syncs.release();
    await Promise.allSettled([b, c]);
    await settle();
    expect(first).toMatchObject({ status: 'rejected', reason: { code: 'IO_ERROR' } });
    await expect(log.flush(), 'the log is failed').rejects.toMatchObject({ code: 'IO_ERROR' });
    // The second flush was asked for before the failure, by a round that ended after it: an
    // fsync now may succeed on a file whose lost pages it no longer knows of ("fsyncgate").
    expect(second, 'a flush on a failed log').toMatchObject({ status: 'rejected', reason: { code: 'IO_ERROR' } });
  });

  it('retention waits for the flush fsync running when it deletes, not for every one after it (a disk slower than intervalMs)', async () => {
    const fixture = logFixture({ fsync: { intervalMs: 1000 } });
    const segment1 = segmentPath(fixture.options.dir, 1n, '.log');
    const syncs = steppingSyncsOf(fixture.fs, (path) => path === segment1);
    const log = await fixture.open({ fs: syncs.fs });
    await log.append(batchOf('a', 1));
    await log.sealActive(); // segment 0 holds 'a', sealed; segment 1 is active
    syncs.hold();
    await log.append(batchOf('b', 1));
    await fixture.clock.advanceAsync(1000); // the interval's flush: its fsync of segment 1 is slow
    await settle();
    expect(syncs.waiting).toBe(1);
    // Every group consumed 'a': segment 0 may go.
    const retention = log.applyRetention({ discard: 'new', maxBytes: 1 }, 1n);
    const retained = stateOf(retention);
    // Produces go on; each tick finds something unsynced, and its fsync starts when the one
    // before it ends: the fsyncs follow one another without a gap.
    for (let tick = 0; tick < 3; tick++) {
      await log.append(batchOf(`c${tick}`, 1));
      await fixture.clock.advanceAsync(1000);
      syncs.releaseOne();
      await settle();
      expect(syncs.waiting, 'the next fsync runs').toBe(1);
      // Segment 0 is no file any of them syncs; the one running when retention began has ended.
      expect(retained.status, `tick ${tick}`).toBe('fulfilled');
    }
    syncs.releaseAll();
    expect(await retention).toMatchObject({ deletedSegments: 1, startOffset: 1n });
    await log.close();
  });
});
