/**
 * One test per row of the recovery table (recovery.ts and docs/storage.md).
 */
import { describe, expect, it } from 'vitest';
import { isBrookError, readBatchHeader, tearLastWrite, type MemoryFileSystem } from '@brook/protocol';
import { batchOf, LOG_DIR, logFixture, readAll, text } from './log-fixture.js';
import { segmentPath, segmentStem } from './segment-files.js';

/** Appends `count` synced batches of 2 records each ('b0'..), returning each batch's file position. */
async function seed(fixture: ReturnType<typeof logFixture>, count: number): Promise<number[]> {
  const log = await fixture.open();
  const positions: number[] = [];
  for (let i = 0; i < count; i++) {
    positions.push(log.sizeBytes);
    await log.append(batchOf(`b${i}`, 2));
  }
  await log.flush();
  return positions;
}

async function patchFile(fs: MemoryFileSystem, path: string, position: number, bytes: Uint8Array): Promise<void> {
  const file = await fs.open(path, 'rw');
  await file.write(bytes, position);
  await file.sync();
  await file.close();
}

async function fileSize(fs: MemoryFileSystem, path: string): Promise<number> {
  const file = await fs.open(path, 'r');
  const size = await file.size();
  await file.close();
  return size;
}

const firstLog = segmentPath(LOG_DIR, 0n, '.log');

describe('recovery', () => {
  it('clean-shutdown marker present: no segment is scanned, and the log continues where it was', async () => {
    const fixture = logFixture({ segmentBytesMax: 4096 });
    const log = await fixture.open();
    for (let i = 0; i < 40; i++) await log.append(batchOf(`b${i}`, 2, undefined, 100));
    await log.close();
    const reopened = await fixture.open({ cleanShutdown: true });
    expect(reopened.recovery.scannedSegments).toBe(0);
    expect(reopened.segmentCount).toBeGreaterThan(2);
    expect(reopened.endOffset).toBe(80n);
    expect(await reopened.append(batchOf('next', 1))).toEqual({ baseOffset: 80n, lastOffset: 80n });
    expect((await readAll(reopened)).length).toBe(81);
  });

  it('unclean stop: only the last segment is scanned, however many sealed segments there are', async () => {
    const fixture = logFixture({ segmentBytesMax: 4096 });
    const log = await fixture.open();
    for (let i = 0; i < 80; i++) await log.append(batchOf(`b${i}`, 2, undefined, 100));
    fixture.fs.powerCut();
    const reopened = await fixture.open();
    expect(reopened.segmentCount).toBeGreaterThan(4);
    expect(reopened.recovery.scannedSegments).toBe(1);
    expect(reopened.endOffset).toBe(160n);
  });

  it.each([
    ['a partial batch header (5 bytes of the length field)', 5],
    ['a partial batch header (30 of 61 bytes)', 30],
    ['a partial batch body (header whole, records cut)', 70],
  ])('torn tail, %s: truncated at the torn batch; appends continue at the right offset', async (_name, tornBytes) => {
    const fixture = logFixture({ fsync: 'never' });
    const positions = await seed(fixture, 3);
    const log = await fixture.open({ cleanShutdown: false });
    expect(log.endOffset).toBe(6n);
    await log.append(batchOf('torn', 4, undefined, 50));
    fixture.fs.powerCut({ keep: tearLastWrite(tornBytes) });
    expect(await fileSize(fixture.fs, firstLog)).toBe(positions[2]! + batchOf('b2', 2).length + tornBytes);
    const reopened = await fixture.open();
    expect(reopened.recovery.truncatedBytes).toBe(tornBytes);
    expect(reopened.endOffset).toBe(6n);
    expect(await reopened.append(batchOf('after', 1))).toEqual({ baseOffset: 6n, lastOffset: 6n });
    expect((await readAll(reopened)).map((r) => text(r.value))).toEqual(['b0-0', 'b0-1', 'b1-0', 'b1-1', 'b2-0', 'b2-1', 'after-0']);
  });

  it('torn tail, a batch length pointing past the end of the file: truncated there', async () => {
    const fixture = logFixture();
    const positions = await seed(fixture, 2);
    const end = await fileSize(fixture.fs, firstLog);
    const header = batchOf('ghost', 1).subarray(0, 61);
    new DataView(header.buffer, header.byteOffset).setInt32(8, 100_000);
    await patchFile(fixture.fs, firstLog, end, header);
    const reopened = await fixture.open();
    expect(reopened.recovery.truncatedAtPosition).toBe(end);
    expect(reopened.endOffset).toBe(4n);
    expect(await fileSize(fixture.fs, firstLog)).toBe(end);
    expect(positions.length).toBe(2);
  });

  it('CRC mismatch in the last segment: truncated at the bad batch, everything after it goes too', async () => {
    const fixture = logFixture();
    const positions = await seed(fixture, 4);
    // Flip a byte inside batch 1's records: its CRC no longer matches.
    await patchFile(fixture.fs, firstLog, positions[1]! + 70, new Uint8Array([0xee]));
    const reopened = await fixture.open();
    expect(reopened.recovery.truncatedAtPosition).toBe(positions[1]);
    expect(reopened.endOffset).toBe(2n);
    expect(await reopened.append(batchOf('after', 1))).toEqual({ baseOffset: 2n, lastOffset: 2n });
  });

  // The CRC does not cover baseOffset, and a crash only cuts writes short: a whole batch at the
  // wrong offset is a damaged or misnamed file, whose batches may all be acknowledged.
  it.each([
    ['the file renamed (its name no longer its first offset)', 0, async (fs: MemoryFileSystem) => {
      await fs.rename(firstLog, segmentPath(LOG_DIR, 7n, '.log'));
      await fs.syncDir(LOG_DIR);
      return segmentPath(LOG_DIR, 7n, '.log');
    }],
    ['a batch in the middle', 1, async (fs: MemoryFileSystem, positions: number[]) => {
      await patchFile(fs, firstLog, positions[1]!, new Uint8Array([0, 0, 0, 0, 0, 0, 0, 9]));
      return firstLog;
    }],
  ])('a whole batch at the wrong offset in the last segment (%s): refuses to open, naming file and position, rather than cut acknowledged batches', async (_name, batch, damage) => {
    const fixture = logFixture();
    const positions = await seed(fixture, 3);
    const file = await damage(fixture.fs, positions);
    const error = await fixture.open().catch((e: unknown) => e);
    expect(isBrookError(error, 'CORRUPT_SEGMENT')).toBe(true);
    expect((error as { details: unknown }).details).toEqual({ file, position: positions[batch] });
    expect(await fileSize(fixture.fs, file)).toBe(positions[2]! + batchOf('b2', 2).length);
  });

  it.each([
    ['missing', async (fs: MemoryFileSystem, path: string) => fs.unlink(path)],
    ['corrupt (length not a multiple of 8)', async (fs: MemoryFileSystem, path: string) => fs.writeFile(path, new Uint8Array(13))],
    ['corrupt (last entry points at the wrong batch)', async (fs: MemoryFileSystem, path: string) => fs.writeFile(path, new Uint8Array([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 64]))],
  ])('sealed segment with a %s index: rebuilt from the log, and reads work', async (_name, damage) => {
    const fixture = logFixture({ segmentBytesMax: 4096, indexIntervalBytes: 256 });
    const log = await fixture.open();
    for (let i = 0; i < 40; i++) await log.append(batchOf(`b${i}`, 2, 1000 * i, 100));
    await log.close();
    await damage(fixture.fs, segmentPath(LOG_DIR, 0n, '.index'));
    const reopened = await fixture.open({ cleanShutdown: true });
    expect(reopened.recovery.rebuiltIndexes).toBe(1);
    const records = await readAll(reopened, 7n);
    expect(records[0]!.offset).toBe(7n);
    expect(records.length).toBe(73);
    expect(await reopened.offsetForTimestamp(3000)).toBe(6n);
    expect((await fixture.fs.readFile(segmentPath(LOG_DIR, 0n, '.index'))).length % 8).toBe(0);
  });

  it('a sealed index damaged in the middle (its last entry intact) is rebuilt at the first read', async () => {
    const fixture = logFixture({ segmentBytesMax: 4096, indexIntervalBytes: 64 });
    const log = await fixture.open();
    for (let i = 0; i < 40; i++) await log.append(batchOf(`b${i}`, 2, undefined, 100));
    expect(log.segmentCount).toBeLessThan(10);
    await log.close();
    const indexPath = segmentPath(LOG_DIR, 0n, '.index');
    const original = await fixture.fs.readFile(indexPath);
    await patchFile(fixture.fs, indexPath, 8, new Uint8Array([0xff, 0xff, 0xff, 0xff]));
    const reopened = await fixture.open({ cleanShutdown: true });
    expect(reopened.recovery.rebuiltIndexes).toBe(0); // open only looked at the last entry
    const records = await readAll(reopened);
    expect(records.map((r) => r.offset)).toEqual(Array.from({ length: 80 }, (_, i) => BigInt(i)));
    expect([...(await fixture.fs.readFile(indexPath))]).toEqual([...original]);
  });

  it('corruption in a sealed segment whose index must be rebuilt: refuses to open, naming file and byte position', async () => {
    const fixture = logFixture({ segmentBytesMax: 4096 });
    const log = await fixture.open();
    for (let i = 0; i < 40; i++) await log.append(batchOf(`b${i}`, 2, undefined, 100));
    await log.close();
    const batchBytes = batchOf('b0', 2, undefined, 100).length;
    await patchFile(fixture.fs, firstLog, batchBytes + 80, new Uint8Array([0x5a]));
    await fixture.fs.unlink(segmentPath(LOG_DIR, 0n, '.index'));
    const error = await fixture.open().catch((e: unknown) => e);
    expect(isBrookError(error, 'CORRUPT_SEGMENT')).toBe(true);
    expect((error as { details: unknown }).details).toEqual({ file: firstLog, position: batchBytes });
  });

  // With a dense index, open reads only the sealed segment's last few batches, so the damage
  // further back is found by the read that reaches it.
  it('corruption in a sealed segment with a good index: opens, but a read of that range fails naming file and position, never returning the bad batch', async () => {
    const fixture = logFixture({ segmentBytesMax: 4096, indexIntervalBytes: 64 });
    const log = await fixture.open();
    for (let i = 0; i < 40; i++) await log.append(batchOf(`b${i}`, 2, undefined, 100));
    await log.close();
    const batchBytes = batchOf('b0', 2, undefined, 100).length;
    await patchFile(fixture.fs, firstLog, batchBytes + 80, new Uint8Array([0x5a]));
    const reopened = await fixture.open({ cleanShutdown: true });
    await expect(reopened.read(0n, { maxBytes: 1 })).resolves.toHaveLength(1);
    const error = await reopened.read(2n, { maxBytes: 1 }).catch((e: unknown) => e);
    expect(isBrookError(error, 'CORRUPT_SEGMENT')).toBe(true);
    expect((error as { details: unknown }).details).toEqual({ file: firstLog, position: batchBytes });
  });

  it('offsets not contiguous across segments (a segment file lost): refuses to open', async () => {
    const fixture = logFixture({ segmentBytesMax: 4096 });
    const log = await fixture.open();
    for (let i = 0; i < 60; i++) await log.append(batchOf(`b${i}`, 2, undefined, 100));
    await log.close();
    const names = (await fixture.fs.readdir(LOG_DIR)).filter((n) => n.endsWith('.log'));
    expect(names.length).toBeGreaterThan(2);
    await fixture.fs.unlink(`${LOG_DIR}/${names[1]}`);
    await expect(fixture.open({ cleanShutdown: true })).rejects.toMatchObject({ code: 'CORRUPT_SEGMENT' });
  });

  /** A log of three or more 4 KiB segments (120 records in batches of 2), closed; the base offsets of its segments. */
  async function segmentedLog(fixture: ReturnType<typeof logFixture>): Promise<bigint[]> {
    const log = await fixture.open();
    for (let i = 0; i < 60; i++) await log.append(batchOf(`b${i}`, 2, undefined, 100));
    await log.close();
    const bases = (await fixture.fs.readdir(LOG_DIR)).filter((n) => n.endsWith('.log')).map((n) => BigInt(n.slice(0, 20)));
    expect(bases.length).toBeGreaterThan(2);
    return bases;
  }

  it('the segment before the last, its seal cut short (an index file missing): scanned, sealed now, nothing lost', async () => {
    const fixture = logFixture({ segmentBytesMax: 4096 });
    const bases = await segmentedLog(fixture);
    const beforeLast = bases.at(-2)!;
    await fixture.fs.unlink(segmentPath(LOG_DIR, beforeLast, '.timeindex'));
    const reopened = await fixture.open();
    expect(reopened.endOffset).toBe(120n);
    expect(reopened.recovery).toMatchObject({ scannedSegments: 2, rebuiltIndexes: 1, truncatedBytes: 0 });
    expect(await fixture.fs.exists(segmentPath(LOG_DIR, beforeLast, '.timeindex'))).toBe(true);
    expect((await readAll(reopened)).map((r) => text(r.value))).toHaveLength(120);
  });

  it('the segment before the last, unsealed with a torn tail: cut there, and the last segment (records after the hole) deleted', async () => {
    const fixture = logFixture({ segmentBytesMax: 4096 });
    const bases = await segmentedLog(fixture);
    const [beforeLast, last] = [bases.at(-2)!, bases.at(-1)!];
    await fixture.fs.unlink(segmentPath(LOG_DIR, beforeLast, '.index'));
    const path = segmentPath(LOG_DIR, beforeLast, '.log');
    const size = await fileSize(fixture.fs, path);
    const batchBytes = batchOf('b0', 2, undefined, 100).length;
    const file = await fixture.fs.open(path, 'rw');
    await file.truncate(size - 10); // the last batch of the segment, torn
    await file.sync();
    await file.close();
    const lastBytes = await fileSize(fixture.fs, segmentPath(LOG_DIR, last, '.log'));

    const reopened = await fixture.open();
    expect(reopened.endOffset).toBe(last - 2n);
    expect(reopened.segmentCount).toBe(bases.length - 1);
    expect(reopened.recovery.truncatedAtPosition).toBe(size - batchBytes);
    expect(reopened.recovery.truncatedBytes).toBe(batchBytes - 10 + lastBytes);
    expect(reopened.recovery.removedFiles).toContain(`${segmentStem(last)}.log`);
    expect(await fixture.fs.exists(segmentPath(LOG_DIR, last, '.log'))).toBe(false);
    expect((await reopened.append(batchOf('after', 1))).baseOffset).toBe(last - 2n);
  });

  it('the segment before the last, unsealed and ending at a whole batch short of the last (a power cut took its unsynced batches): the last segment deleted', async () => {
    const fixture = logFixture({ segmentBytesMax: 4096 });
    const bases = await segmentedLog(fixture);
    const [beforeLast, last] = [bases.at(-2)!, bases.at(-1)!];
    await fixture.fs.unlink(segmentPath(LOG_DIR, beforeLast, '.index'));
    const path = segmentPath(LOG_DIR, beforeLast, '.log');
    const file = await fixture.fs.open(path, 'rw');
    await file.truncate((await file.size()) - batchOf('b0', 2, undefined, 100).length);
    await file.sync();
    await file.close();

    const reopened = await fixture.open();
    expect(reopened.endOffset).toBe(last - 2n);
    expect(reopened.segmentCount).toBe(bases.length - 1);
    expect(await fixture.fs.exists(segmentPath(LOG_DIR, last, '.log'))).toBe(false);
    expect((await readAll(reopened)).map((r) => r.offset)).toEqual(Array.from({ length: Number(last - 2n) }, (_, i) => BigInt(i)));
  });

  it('segment files listed in any order (a real directory is not sorted): opened in offset order', async () => {
    const fixture = logFixture({ segmentBytesMax: 4096 });
    const bases = await segmentedLog(fixture);
    const fs = fixture.fs;
    const unsorted = new Proxy(fs, {
      get(target, property) {
        if (property === 'readdir') return async (dir: string) => (await target.readdir(dir)).reverse();
        const value: unknown = Reflect.get(target, property, target);
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
    for (const cleanShutdown of [true, false]) {
      const reopened = await fixture.open({ fs: unsorted, cleanShutdown });
      expect(reopened.segmentCount).toBe(bases.length);
      expect(reopened.endOffset).toBe(120n);
      expect((await readAll(reopened)).map((r) => r.offset)).toEqual(Array.from({ length: 120 }, (_, i) => BigInt(i)));
      await reopened.close();
    }
  });

  it('leftover *.tmp files and index files without a log are deleted', async () => {
    const fixture = logFixture();
    await seed(fixture, 1);
    await fixture.fs.writeFile(`${LOG_DIR}/00000000000000000000.index.tmp`, new Uint8Array(3));
    await fixture.fs.writeFile(`${LOG_DIR}/producer-state.snapshot.tmp`, new Uint8Array(3));
    await fixture.fs.writeFile(`${LOG_DIR}/00000000000000000099.index`, new Uint8Array(8));
    await fixture.fs.writeFile(`${LOG_DIR}/00000000000000000099.timeindex`, new Uint8Array(12));
    const reopened = await fixture.open();
    expect([...reopened.recovery.removedFiles].sort()).toEqual([
      '00000000000000000000.index.tmp', '00000000000000000099.index', '00000000000000000099.timeindex', 'producer-state.snapshot.tmp',
    ]);
    expect((await fixture.fs.readdir(LOG_DIR)).filter((n) => n.includes('99') || n.endsWith('.tmp'))).toEqual([]);
  });

  it('a power cut during a roll loses no acknowledged batch', async () => {
    const fixture = logFixture({ segmentBytesMax: 4096 });
    const log = await fixture.open();
    let acknowledged = 0n;
    let cut = false;
    fixture.fs.onOperation = (op) => {
      // Cut the power at the moment the next segment file is being created.
      if (!cut && op.kind === 'open' && op.path.endsWith('.log') && !op.path.endsWith(firstLog)) {
        cut = true;
        fixture.fs.powerCut();
      }
    };
    for (let i = 0; i < 40 && !cut; i++) {
      const result = await log.append(batchOf(`b${i}`, 2, undefined, 100)).catch(() => undefined);
      if (result) acknowledged = result.lastOffset + 1n;
    }
    expect(cut).toBe(true);
    fixture.fs.onOperation = undefined;
    const reopened = await fixture.open();
    expect(reopened.endOffset).toBe(acknowledged);
    expect(readBatchHeader((await reopened.read(0n, { maxBytes: 1 }))[0]!.bytes).baseOffset).toBe(0n);
  });
});
