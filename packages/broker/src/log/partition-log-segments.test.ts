/**
 * How a partition log cuts its segments: by size (segmentBytesMax), by record time
 * (segmentMsMax), by a seal the caller asks for; and how a full segment is sealed behind the next.
 */
import { describe, expect, it } from 'vitest';
import { batchOf, holdingSyncsOf, logFixture, readAll, recordingReadsOf, settle, text } from './log-fixture.js';
import { segmentPath } from './segment-files.js';


describe('PartitionLog segments', () => {
  it('rolls a new segment before a batch would pass segmentBytesMax, named by base offset', async () => {
    const fixture = logFixture({ segmentBytesMax: 4096 });
    const log = await fixture.open();
    const batchBytes = batchOf('x', 10, undefined, 100).length;
    const perSegment = Math.floor(4096 / batchBytes);
    for (let i = 0; i < perSegment * 3; i++) await log.append(batchOf(`b${i}`, 10, undefined, 100));
    expect(log.segmentCount).toBe(3);
    const names = (await fixture.fs.readdir(fixture.options.dir)).filter((n) => n.endsWith('.log'));
    expect(names).toEqual([0, perSegment * 10, perSegment * 20].map((o) => `${String(o).padStart(20, '0')}.log`));
    expect((await readAll(log)).length).toBe(perSegment * 30);
  });

  it.each([[0, 1], [1, 2]])('batches %d byte(s) past filling segmentBytesMax exactly take %d segment(s)', async (past, segments) => {
    const segmentBytesMax = 4096;
    const log = await logFixture({ segmentBytesMax }).open();
    const first = batchOf('first', 1, undefined, 100);
    // The value length that makes the second batch fill the segment exactly, plus `past`.
    let valueBytes = 0;
    while (batchOf('second', 1, undefined, valueBytes + 1).length <= segmentBytesMax - first.length) valueBytes += 1;
    const second = batchOf('second', 1, undefined, valueBytes + past);
    expect(first.length + second.length).toBe(segmentBytesMax + past);
    await log.append(first);
    await log.append(second);
    expect(log.segmentCount).toBe(segments);
  });

  it('a clean reopen closes each index file it opens to read its last entry', async () => {
    const fixture = logFixture({ segmentBytesMax: 4096 });
    const log = await fixture.open();
    for (let i = 0; i < 40; i++) await log.append(batchOf(`b${i}`, 2, undefined, 100));
    expect(log.segmentCount).toBeGreaterThan(2);
    await log.close();
    const indexFiles = recordingReadsOf(fixture.fs, (path) => /\.(index|timeindex)$/.test(path));
    const reopened = await fixture.open({ fs: indexFiles.fs, cleanShutdown: true });
    expect(indexFiles.handles.opened, 'two a sealed segment').toBeGreaterThanOrEqual(4);
    expect(indexFiles.handles.closed).toBe(indexFiles.handles.opened);
    expect((await readAll(reopened)).length).toBe(80);
  });

  it('puts a lone batch larger than segmentBytesMax in a segment of its own', async () => {
    const log = await logFixture({ segmentBytesMax: 4096 }).open();
    await log.append(batchOf('small', 1));
    await log.append(batchOf('big', 100, undefined, 100));
    await log.append(batchOf('small', 1));
    expect(log.segmentCount).toBe(3);
    expect((await readAll(log)).length).toBe(102);
  });

  it("seals a full segment behind the next one: under 'never' appends go on during its fsync, under 'always' they wait for it", async () => {
    for (const fsync of ['never', 'always'] as const) {
      const fixture = logFixture({ fsync, segmentBytesMax: 1 });
      const first = segmentPath(fixture.options.dir, 0n, '.log');
      const syncs = holdingSyncsOf(fixture.fs, (path) => path === first);
      const log = await fixture.open({ fs: syncs.fs });
      await log.append(batchOf('a', 1));
      syncs.hold();
      let resolved = false;
      const rolled = log.append(batchOf('b', 1)).then((result) => {
        resolved = true;
        return result;
      });
      await settle();
      expect(syncs.state.held, 'the seal of segment 0 is waiting for its fsync').toBe(1);
      expect(log.segmentCount).toBe(2);
      expect(resolved, `under '${fsync}'`).toBe(fsync === 'never');
      expect(await fixture.fs.exists(segmentPath(fixture.options.dir, 0n, '.index')), 'index files come after the fsync').toBe(false);
      syncs.release();
      expect(await rolled).toEqual({ baseOffset: 1n, lastOffset: 1n });
      await log.flush(); // waits for the seal too
      expect(await fixture.fs.exists(segmentPath(fixture.options.dir, 0n, '.timeindex'))).toBe(true);
      await log.close();
    }
  });

  it('sealActive starts a new segment if the active one holds anything, and resolves once the old one is sealed', async () => {
    const fixture = logFixture();
    const log = await fixture.open();
    await log.sealActive();
    expect(log.segmentCount, 'an empty active segment stays').toBe(1);
    await log.append(batchOf('a', 2));
    await log.sealActive();
    expect(log.segmentCount).toBe(2);
    expect(await fixture.fs.exists(segmentPath(fixture.options.dir, 0n, '.timeindex')), 'sealed when it resolves').toBe(true);
    expect(await log.append(batchOf('b', 1))).toEqual({ baseOffset: 2n, lastOffset: 2n });
    const values = async (of: typeof log) => (await readAll(of)).map((record) => text(record.value));
    expect(await values(log)).toEqual(['a-0', 'a-1', 'b-0']);
    await log.close();
    const reopened = await fixture.open();
    expect(reopened.segmentCount).toBe(2);
    expect(await values(reopened)).toEqual(['a-0', 'a-1', 'b-0']);
    await reopened.close();
  });

  it("rolls once the segment's first record is segmentMsMax old (virtual clock)", async () => {
    const fixture = logFixture({ segmentMsMax: 60_000 });
    const log = await fixture.open();
    await log.append(batchOf('a', 1, fixture.clock.now()));
    fixture.clock.advance(59_999);
    await log.append(batchOf('b', 1, fixture.clock.now()));
    expect(log.segmentCount).toBe(1);
    fixture.clock.advance(1);
    await log.append(batchOf('c', 1, fixture.clock.now()));
    expect(log.segmentCount).toBe(2);
  });

  it('measures segmentMsMax in record time: records stamped long ago, appended now, share a segment', async () => {
    const fixture = logFixture({ segmentMsMax: 60_000 });
    const log = await fixture.open();
    const past = fixture.clock.now() - 3 * 365 * 24 * 3600 * 1000;
    for (let i = 0; i < 10; i++) await log.append(batchOf(`old-${i}`, 1, past + i * 1000));
    expect(log.segmentCount).toBe(1);
    await log.append(batchOf('a-minute-later', 1, past + 60_000));
    expect(log.segmentCount).toBe(2);
  });
  it('segmentMsMax counts from the first record of the round when the segment is empty: appends queued together roll too', async () => {
    const fixture = logFixture({ segmentMsMax: 1000, fsync: 'never' });
    const log = await fixture.open();
    // One round, an empty segment: b is stamped 5 s after a, so it starts a segment of its own.
    await Promise.all([log.append(batchOf('a', 1, 10_000)), log.append(batchOf('b', 1, 15_000))]);
    expect(log.segmentCount).toBe(2);
    // One round again: c rolls (2 s after b), and d, 5 s after c, rolls the segment c began.
    await Promise.all([log.append(batchOf('c', 1, 17_000)), log.append(batchOf('d', 1, 22_000))]);
    expect(log.segmentCount).toBe(4);
    expect((await readAll(log)).map((r) => text(r.value))).toEqual(['a-0', 'b-0', 'c-0', 'd-0']);
  });
});
