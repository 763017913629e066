/**
 * Damage inside segments that open does not look at: open checks a sealed segment (and, after a
 * clean stop, the active one) only from its index's last entry, so bytes before that are first
 * checked by a read. A read must then fail with CORRUPT_SEGMENT naming the file and the batch, or
 * return exactly the records asked for: never skip records, repeat them, or give them other
 * offsets (the CRC does not cover a batch's baseOffset). A damaged index over a good log is
 * rebuilt from the log.
 */
import { describe, expect, it } from 'vitest';
import { isBrookError, readBatchHeader, type MemoryFileSystem } from '@brook/protocol';
import type { PartitionLog } from './partition-log.js';
import type { ReadLimits } from './log-reader.js';
import { batchOf, LOG_DIR, logFixture, readAll, text, type LogFixture } from './log-fixture.js';
import { segmentPath } from './segment-files.js';

const FIRST_LOG = segmentPath(LOG_DIR, 0n, '.log');
const FIRST_INDEX = segmentPath(LOG_DIR, 0n, '.index');

/** 40 batches of 2 records (~280 B each) over segments of 4 KiB, index entries every 64 B: then reopened cleanly after `damage`. */
async function damagedLog(damage: (fixture: LogFixture) => Promise<void>): Promise<{ fixture: LogFixture; log: PartitionLog }> {
  const fixture = logFixture({ segmentBytesMax: 4096, indexIntervalBytes: 64 });
  const log = await fixture.open();
  for (let i = 0; i < 40; i++) await log.append(batchOf(`b${i}`, 2, 1_700_000_000_000 + i * 10, 100));
  expect(log.segmentCount).toBeGreaterThan(2);
  await log.close();
  await damage(fixture);
  return { fixture, log: await fixture.open({ cleanShutdown: true }) };
}

async function patchFile(fs: MemoryFileSystem, path: string, position: number, bytes: Uint8Array): Promise<void> {
  const file = await fs.open(path, 'rw');
  await file.write(bytes, position);
  await file.close();
}

/** Byte positions of a log file's batches, by walking their headers. */
async function batchPositions(fs: MemoryFileSystem, path: string): Promise<number[]> {
  const bytes = await fs.readFile(path);
  const positions: number[] = [];
  for (let at = 0; at < bytes.length; at += 12 + readBatchHeader(bytes.subarray(at)).batchLength) positions.push(at);
  return positions;
}

/** Base offsets of the batches a read returns, or the error it failed with. */
async function readBases(log: PartitionLog, from: bigint, limits: ReadLimits = { maxBytes: 1 << 20 }): Promise<bigint[] | unknown> {
  return log.read(from, limits).then((batches) => batches.map((b) => readBatchHeader(b.bytes).baseOffset), (error: unknown) => error);
}

function expectCorruptAt(result: unknown, position: number): void {
  expect(isBrookError(result, 'CORRUPT_SEGMENT'), `expected CORRUPT_SEGMENT, got ${String(result)}`).toBe(true);
  expect((result as { details: { file: string; position: number } }).details).toMatchObject({ file: FIRST_LOG, position });
}

describe('damage inside a segment, found by a read', () => {
  it("a sealed index entry naming a later batch: the indexes are rebuilt from the log and every record is read, at its offset", async () => {
    const { fixture, log } = await damagedLog(async ({ fs }) => {
      const index = await fs.readFile(FIRST_INDEX);
      const view = new DataView(index.buffer, index.byteOffset, index.byteLength);
      view.setUint32(12, view.getUint32(20)); // entry 1 takes entry 2's position: still increasing, so it decodes
      await fs.writeFile(FIRST_INDEX, index);
    });
    const records = await readAll(log);
    expect(records.map((r) => r.offset)).toEqual(Array.from({ length: 80 }, (_, i) => BigInt(i)));
    expect(records.slice(0, 4).map((r) => text(r.value)!.slice(0, 4))).toEqual(['b0-0', 'b0-1', 'b1-0', 'b1-1']);
    for (let from = 0n; from < 12n; from++) expect(((await readBases(log, from)) as bigint[])[0]).toBe(from - (from % 2n));
    // The rebuilt index was written: a clean reopen reads right at once.
    await log.close();
    const reopened = await fixture.open({ cleanShutdown: true });
    expect((await readBases(reopened, 2n)) as bigint[]).toContain(2n);
  });

  it.each([
    ['inside its batch, where the bytes read as a batch running past the end of the file', 20],
    ['inside its batch, where the bytes read as a batch of an impossible length', -20],
  ])('a sealed index entry whose position is %s: the indexes are rebuilt from the log and the read goes on', async (_name, shift) => {
    const { log } = await damagedLog(async ({ fs }) => {
      const index = await fs.readFile(FIRST_INDEX);
      const view = new DataView(index.buffer, index.byteOffset, index.byteLength);
      // Entry 1 points into the middle of batch 1 (each batch has an entry): positions still
      // increase, so the file decodes. A read from it found no batch there and failed CORRUPT_SEGMENT.
      view.setUint32(12, (shift > 0 ? view.getUint32(12) : view.getUint32(20)) + shift);
      await fs.writeFile(FIRST_INDEX, index);
    });
    for (let from = 0n; from < 12n; from++) expect(((await readBases(log, from)) as bigint[])[0]).toBe(from - (from % 2n));
    expect((await readAll(log)).map((r) => r.offset)).toEqual(Array.from({ length: 80 }, (_, i) => BigInt(i)));
  });

  it.each(['.index', '.timeindex'] as const)('a sealed segment whose %s file is empty: open rebuilds the indexes and every record is read, at its offset', async (suffix) => {
    const { log } = await damagedLog(({ fs }) => fs.writeFile(segmentPath(LOG_DIR, 0n, suffix), new Uint8Array(0)));
    expect((await readAll(log)).map((r) => r.offset)).toEqual(Array.from({ length: 80 }, (_, i) => BigInt(i)));
  });

  it('an unreadable sealed index over a bad batch: every read of the segment fails CORRUPT_SEGMENT at that batch, and the log keeps its size', async () => {
    let bad = 0;
    const { log } = await damagedLog(async ({ fs }) => {
      bad = (await batchPositions(fs, FIRST_LOG))[2]!;
      await patchFile(fs, FIRST_LOG, bad + 80, new Uint8Array([0x5a])); // bit rot inside batch 2 (offsets 4-5)
      await patchFile(fs, FIRST_INDEX, 8, new Uint8Array([0xff, 0xff, 0xff, 0xff])); // the index no longer decodes
    });
    const sizeBytes = log.sizeBytes;
    // Twice each, at the bad batch's start, before it and past it: the failed rebuild must leave
    // the segment as open found it (it used to shrink it to the good prefix; the next read then
    // returned one batch thousands of times, and a read past the bad batch never ended).
    for (const from of [0n, 10n, 0n, 4n, 10n]) expectCorruptAt(await readBases(log, from), bad);
    expect(log.sizeBytes).toBe(sizeBytes);
  });

  it.each([
    ['10, an offset inside the log', 10n],
    ['1000, past endOffset', 1000n],
  ])('a sealed batch whose baseOffset is damaged to %s: reads over it fail CORRUPT_SEGMENT at that batch', async (_name, claimed) => {
    let bad = 0;
    const { log } = await damagedLog(async ({ fs }) => {
      bad = (await batchPositions(fs, FIRST_LOG))[3]!; // offsets 6-7
      const baseOffset = new Uint8Array(8);
      new DataView(baseOffset.buffer).setBigInt64(0, claimed);
      await patchFile(fs, FIRST_LOG, bad, baseOffset);
    });
    for (const from of [0n, 6n, 7n]) expectCorruptAt(await readBases(log, from), bad);
    // What lies before the damage reads as it was.
    expect((await log.read(0n, { maxBytes: 1, maxRecords: 1 })).map((b) => readBatchHeader(b.bytes).baseOffset)).toEqual([0n]);
    // A read whose maxBytes the three batches before it fill exactly ends there, without reading the damaged one.
    expect(await readBases(log, 0n, { maxBytes: bad })).toEqual([0n, 2n, 4n]);
    expect(await readBases(log, 0n, { maxBytes: bad + 1 }), 'one byte more: the read goes on to the damaged batch').toSatisfy((error: unknown) => isBrookError(error, 'CORRUPT_SEGMENT'));
    // So does a time lookup that has to scan over it.
    await expect(log.offsetForTimestamp(1_700_000_000_030)).rejects.toSatisfy((error: unknown) => isBrookError(error, 'CORRUPT_SEGMENT'));
  });

  it("the active segment's index naming a later batch after a clean stop: the read fails CORRUPT_SEGMENT rather than skip records", async () => {
    const fixture = logFixture({ indexIntervalBytes: 64 });
    const log = await fixture.open();
    for (let i = 0; i < 10; i++) await log.append(batchOf(`b${i}`, 2, undefined, 100));
    await log.close();
    const index = await fixture.fs.readFile(FIRST_INDEX);
    const view = new DataView(index.buffer, index.byteOffset, index.byteLength);
    view.setUint32(12, view.getUint32(20));
    await fixture.fs.writeFile(FIRST_INDEX, index);
    const reopened = await fixture.open({ cleanShutdown: true });
    const entryOffset = BigInt(view.getUint32(8));
    const result = await readBases(reopened, entryOffset);
    expect(isBrookError(result, 'CORRUPT_SEGMENT'), String(result)).toBe(true);
    expect((result as Error).message, 'tells the operator the index may be what is wrong').toContain('bad-offset: batch at position');
    expect((result as Error).message).toContain('(where the offset index points)');
    // The records themselves are all there: a read from the segment's start is not misled.
    expect((await readAll(reopened, 0n)).length).toBe(20);
  });
});
