/**
 * The read path's edges that the model test does not reach: batches written but not yet visible
 * (a round in its fsync), who owns the bytes a read returns (a copy, or for a `shared` read the
 * tail cache's own), and a read that fills maxBytes exactly.
 */
import { describe, expect, it } from 'vitest';
import { decodeBatch } from '@brook/protocol';
import { batchOf, holdingSyncsOf, logFixture, recordingReadsOf, settle, text } from './log-fixture.js';
import { segmentPath } from './segment-files.js';
import type { ReadBatch } from './log-reader.js';

const valuesOf = (batches: readonly ReadBatch[]) => batches.flatMap((b) => decodeBatch(b.bytes).records.map((r) => text(r.value)));

describe('reads of batches written but not yet visible', () => {
  it("a read from the file and a time lookup stop at endOffset while the next round waits for its fsync under 'always'", async () => {
    const fixture = logFixture({ tailCacheBytes: 0 });
    const syncs = holdingSyncsOf(fixture.fs, (path) => path === segmentPath(fixture.options.dir, 0n, '.log'));
    const log = await fixture.open({ fs: syncs.fs });
    await log.append(batchOf('seen', 2, 1000));
    syncs.hold();
    const held = log.append(batchOf('held', 2, 4999)); // stamped 4999 and 5000
    await settle();
    expect(syncs.state.held, 'the round is written and in its fsync').toBe(1);
    expect(log.endOffset).toBe(2n);
    // The held batch is in the file right after the visible one (its baseOffset is endOffset).
    expect(valuesOf(await log.read(0n, { maxBytes: 1 << 20 }))).toEqual(['seen-0', 'seen-1']);
    expect(await log.offsetForTimestamp(5000), 'endOffset: no visible record is stamped 5000').toBe(2n);
    syncs.release();
    expect(await held).toEqual({ baseOffset: 2n, lastOffset: 3n });
    expect(valuesOf(await log.read(0n, { maxBytes: 1 << 20 }))).toEqual(['seen-0', 'seen-1', 'held-0', 'held-1']);
    expect(await log.offsetForTimestamp(5000)).toBe(3n);
  });
});

describe('who owns the bytes a read returns', () => {
  it('a shared read from the files returns batches that stay as read, though the scanner refills its buffer under them', async () => {
    // Chunks of 1 KiB: the scanner's first buffer is already a whole chunk, so it reads the rest
    // of the range into that same buffer, over the batches it has handed out.
    const log = await logFixture({ readChunkBytes: 1024, tailCacheBytes: 0 }).open();
    for (let i = 0; i < 12; i++) await log.append(batchOf(`b${i}`, 2, undefined, 100));
    const expected = valuesOf(await log.read(0n, { maxBytes: 1 << 20 }));
    expect(expected.length).toBe(24);
    expect(valuesOf(await log.read(0n, { maxBytes: 1 << 20, shared: true }))).toEqual(expected);
  });

  it("a read from the tail cache is the caller's copy; a shared one is the cache's own batch, not a copy per read", async () => {
    const log = await logFixture({ tailCacheBytes: 1 << 20 }).open();
    await log.append(batchOf('a', 2));
    const [copy] = await log.read(0n, { maxBytes: 1 << 20 });
    copy!.bytes.fill(0);
    const [first] = await log.read(0n, { maxBytes: 1 << 20, shared: true });
    expect(valuesOf([first!]), 'writing into a fetched batch changes no later read').toEqual(['a-0', 'a-1']);
    const [second] = await log.read(1n, { maxBytes: 1 << 20, shared: true });
    expect(second!.bytes).toBe(first!.bytes);
    expect(second!.header).toBe(first!.header);
  });
});

describe('a batch exactly batchBytesMax long', () => {
  it('reads back from the file, though it is larger than the scan reads at first', async () => {
    const batch = batchOf('big', 1, undefined, 100_000);
    const batchLength = batch.length - 12; // what batchBytesMax bounds: the batch after its baseOffset and batchLength
    const log = await logFixture({ batchBytesMax: batchLength, tailCacheBytes: 0 }).open();
    await log.append(batch);
    const [read] = await log.read(0n, { maxBytes: 1 });
    expect(read!.bytes).toEqual(batch);
  });
});

describe('how a read reads the file', () => {
  it('a long read asks for 64 KiB first, then twice as much each time up to readChunkBytes, and never past the end of the log', async () => {
    const fixture = logFixture({ readChunkBytes: 256 * 1024, tailCacheBytes: 0 });
    const reads = recordingReadsOf(fixture.fs, (path) => path === segmentPath(fixture.options.dir, 0n, '.log'));
    const log = await fixture.open({ fs: reads.fs });
    for (let i = 0; i < 80; i++) await log.append(batchOf(`b${i}`, 1, undefined, 10_000)); // ~800 KiB
    reads.reads.length = 0;
    expect((await log.read(0n, { maxBytes: 1 << 30 })).length).toBe(80);
    const lengths = reads.reads.map((read) => read.length);
    expect(lengths.slice(0, -1)).toEqual([64, 128, 256, 256].map((kib) => kib * 1024));
    const last = reads.reads.at(-1)!;
    expect(last.length).toBeLessThan(256 * 1024);
    expect(last.position + last.length, 'the last read ends at the end of the log').toBe(log.sizeBytes);
  });

  it('a time lookup scans from the time index entry before the timestamp, not from the start of the segment', async () => {
    const fixture = logFixture({ indexIntervalBytes: 1, tailCacheBytes: 0 });
    const path = segmentPath(fixture.options.dir, 0n, '.log');
    const reads = recordingReadsOf(fixture.fs, (file) => file === path);
    const log = await fixture.open({ fs: reads.fs });
    const positions: number[] = [];
    for (let i = 0; i < 10; i++) {
      positions.push(log.sizeBytes);
      await log.append(batchOf(`b${i}`, 2, 1000 * (i + 1))); // offsets 2i and 2i+1, stamped 1000(i+1) and +1
    }
    reads.reads.length = 0;
    // The first time entry says no record before offset 2 is stamped after 1001: the scan for 2001
    // starts at offset 2's batch.
    expect(await log.offsetForTimestamp(2001)).toBe(3n);
    expect(reads.reads[0]!.position).toBe(positions[1]);
  });
});

describe('a read and the segments it reads', () => {
  it('lets go of each segment it read: one retention deletes afterwards has its file closed', async () => {
    const fixture = logFixture({ segmentBytesMax: 4096, tailCacheBytes: 0 });
    const first = segmentPath(fixture.options.dir, 0n, '.log');
    const files = recordingReadsOf(fixture.fs, (path) => path === first);
    const log = await fixture.open({ fs: files.fs });
    for (let i = 0; i < 40; i++) await log.append(batchOf(`b${i}`, 2, undefined, 100));
    expect(log.segmentCount).toBeGreaterThan(2);
    expect((await log.read(0n, { maxBytes: 1 << 20 })).length).toBeGreaterThan(0);
    expect(files.reads.length, 'the read went to the file').toBeGreaterThan(0);
    expect((await log.applyRetention({ maxBytes: 4096 })).deletedSegments).toBeGreaterThan(0);
    expect(files.handles.closed).toBe(1);
  });
});
