/**
 * What a FileBuffer open finds and does, one shape of directory at a time (docs/wal.md
 * "Recovery"): what it cuts and why, what it deletes, and which shapes it refuses. The report
 * (`buffer.recovery`) is checked exactly, as operators read it to know what a crash cost.
 */
import { describe, expect, it } from 'vitest';
import { type FileHandle, type FileSystem } from '@brook/protocol';
import { encodeFrame, headerFrame, sealFrame } from '../packages/client/src/wal/frame-codec.js';
import { encodeRecord, frameRecord } from '../packages/client/src/wal/record-codec.js';
import { SimulatedHost, WAL_DIR, drainAll, value } from './fixtures/wal-harness.js';

const SEAL_FRAME_BYTES = 21;
const segment = (seq: number): string => `${WAL_DIR}/wal-${String(seq).padStart(20, '0')}.seg`;

async function segmentNames(fs: FileSystem): Promise<string[]> {
  return (await fs.readdir(WAL_DIR)).filter((name) => name.endsWith('.seg'));
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, part) => n + part.length, 0));
  parts.reduce((at, part) => (out.set(part, at), at + part.length), 0);
  return out;
}

/** Appends `bytes` to `path` durably, as a write the disk kept. */
async function append(fs: FileSystem, path: string, bytes: Uint8Array): Promise<void> {
  const handle = await fs.open(path, 'rw');
  await handle.write(bytes, await handle.size());
  await handle.sync();
  await handle.close();
}

async function truncate(fs: FileSystem, path: string, length: number): Promise<void> {
  const handle = await fs.open(path, 'rw');
  await handle.truncate(length);
  await handle.sync();
  await handle.close();
}

/** `fs`, counting the file handles open on it. */
function countingHandles(fs: FileSystem): { fs: FileSystem; open: () => number } {
  let open = 0;
  const bound = <T extends object>(target: T, key: string | symbol): unknown => {
    const member: unknown = Reflect.get(target, key);
    return typeof member === 'function' ? member.bind(target) : member;
  };
  const countHandle = (handle: FileHandle): FileHandle => new Proxy(handle, {
    get: (target, key) => (key === 'close' ? () => { open -= 1; return target.close(); } : bound(target, key)),
  });
  const counted = new Proxy(fs, {
    get: (target, key) => (key === 'open'
      ? async (...args: Parameters<FileSystem['open']>) => { const handle = await target.open(...args); open += 1; return countHandle(handle); }
      : bound(target, key)),
  });
  return { fs: counted, open: () => open };
}

/** One segment: batches 0 and 1 (records 1-4) sealed, none committed, closed cleanly. */
async function twoSealedBatches(host: SimulatedHost): Promise<number> {
  const buffer = await host.open({ maxRecords: 2 });
  for (let n = 1; n <= 4; n++) await buffer.put({ value: value(n) });
  await buffer.close();
  return (await host.fs.readFile(segment(0))).length;
}

/**
 * Segments 0 and 1, one record per batch, nothing committed: segment 0 holds batches 0 .. n-1,
 * segment 1 batch n. Returns n.
 */
async function twoSegments(host: SimulatedHost): Promise<number> {
  const buffer = await host.open({ maxRecords: 1, segmentBytesMax: 4096 });
  let n = 0;
  while ((await segmentNames(host.fs)).length < 2) await buffer.put({ value: new Uint8Array(200).fill(++n) });
  await buffer.put({ value: value(0) });
  await buffer.close();
  return n;
}

describe('WAL recovery report', () => {
  it('is all zeros after a clean close, with the next batch sequence', async () => {
    const host = new SimulatedHost();
    await twoSealedBatches(host);
    const reopened = await host.open({ maxRecords: 2 });
    expect(reopened.recovery).toEqual({ truncatedBytes: 0, truncatedReason: undefined, deletedSegments: 0, nextBatchSequence: 2 });
    expect(await drainAll(reopened)).toEqual([1, 2, 3, 4]);
  });

  it.each([
    ['a torn frame', Uint8Array.of(0, 0, 0, 40, 1, 2), 'torn frame'],
    ['a frame whose CRC does not match', ((f) => (f[f.length - 1]! ^= 1, f))(sealFrame(2, 1)), 'bad-crc'],
    ['a zero length', new Uint8Array(20), 'bad-length'],
    ['a CRC-valid frame of an unknown kind', encodeFrame(9 as never, new Uint8Array(4)), 'bad-kind'],
    // Behind the bad frame: only a frame of a known kind, whole and CRC-valid, makes it damage.
    ['a tear followed by a CRC-valid frame of kind 0', concat(Uint8Array.of(0, 0, 0, 3, 9, 9, 9), encodeFrame(0 as never, new Uint8Array(4))), 'bad-crc'],
    ['a tear followed by a CRC-valid frame of kind 5', concat(Uint8Array.of(0, 0, 0, 3, 9, 9, 9), encodeFrame(5 as never, new Uint8Array(4))), 'bad-crc'],
    ['a tear followed by bytes shaped like a frame, CRC aside', Uint8Array.of(0, 0, 0, 0, 2, 9, 9, 9, 9, 2, 7), 'bad-length'],
    ['a tear followed by the start of a SEAL', concat(Uint8Array.of(0, 0, 0, 3, 9, 9, 9), sealFrame(2, 1).subarray(0, 20)), 'bad-crc'],
  ])('cuts %s off the tail of the last segment, saying where and why', async (_, tail, reason) => {
    const host = new SimulatedHost();
    const size = await twoSealedBatches(host);
    await append(host.fs, segment(0), tail);
    const reopened = await host.open({ maxRecords: 2 });
    expect(reopened.recovery).toEqual({ truncatedBytes: tail.length, truncatedReason: `${segment(0)} at byte ${size}: ${reason}`, deletedSegments: 0, nextBatchSequence: 2 });
    expect((await host.fs.readFile(segment(0))).length).toBe(size);
    expect(await drainAll(reopened)).toEqual([1, 2, 3, 4]);
  });

  it('refuses a bad frame followed by a valid one, naming where the valid one starts', async () => {
    const host = new SimulatedHost();
    const size = await twoSealedBatches(host);
    const torn = Uint8Array.of(0, 0, 0, 3, 9, 9, 9);
    await append(host.fs, segment(0), torn);
    await append(host.fs, segment(0), sealFrame(2, 1));
    await expect(host.open()).rejects.toMatchObject({
      code: 'CORRUPT_SEGMENT',
      details: { file: segment(0), position: size, reason: `bad-crc, followed by a valid frame at byte ${size + torn.length}` },
    });
  });

  it('deletes a last segment left without a header by a crashed roll, and appends go on in the one before', async () => {
    for (const headerBytes of [0, 20]) {
      const host = new SimulatedHost();
      const sealedInFirst = await twoSegments(host);
      await truncate(host.fs, segment(1), headerBytes);
      const reopened = await host.open({ maxRecords: 1, segmentBytesMax: 4096 });
      expect(reopened.recovery).toMatchObject({ deletedSegments: 1, nextBatchSequence: sealedInFirst });
      expect(await segmentNames(host.fs)).toEqual(['wal-00000000000000000000.seg']);
      expect(reopened.stats).toMatchObject({ segments: 1, sealedBatches: sealedInFirst });
      const sizeBefore = (await host.fs.readFile(segment(0))).length;
      await reopened.put({ value: value(7) });
      expect((await host.fs.readFile(segment(0))).length).toBeGreaterThan(sizeBefore);
      expect(reopened.stats.sealedBatches).toBe(sealedInFirst + 1);
    }
  });

  it('refuses a segment without a header that is not the last, naming it', async () => {
    const host = new SimulatedHost();
    await twoSegments(host);
    await truncate(host.fs, segment(0), 0);
    await expect(host.open()).rejects.toMatchObject({ code: 'CORRUPT_SEGMENT', details: { file: segment(0), position: 0, reason: 'no segment header' } });
  });

  it('refuses records after the last SEAL of a segment that is not the last', async () => {
    const host = new SimulatedHost();
    const sealedInFirst = await twoSegments(host);
    const first = await host.fs.readFile(segment(0));
    const extra = frameRecord(encodeRecord({ key: null, value: null, timestamp: 1 }), sealedInFirst).frame;
    await append(host.fs, segment(0), extra);
    await expect(host.open()).rejects.toMatchObject({
      code: 'CORRUPT_SEGMENT', details: { file: segment(0), position: first.length + extra.length, reason: '1 records after the last seal of a sealed segment' },
    });
  });

  it('deletes segments a crash left behind after committing all their batches, and keeps the rest', async () => {
    const host = new SimulatedHost();
    const sealedInFirst = await twoSegments(host);
    const first = await host.fs.readFile(segment(0));
    const buffer = await host.open({ maxRecords: 1, segmentBytesMax: 4096 });
    for (let sequence = 0; sequence < sealedInFirst; sequence++) {
      expect(buffer.emit()!.sequence).toBe(sequence);
      await buffer.commit(sequence);
    }
    expect(await segmentNames(host.fs)).toEqual(['wal-00000000000000000001.seg']);
    host.crash(buffer);
    await host.fs.writeFile(segment(0), first); // as if the crash came between the last COMMIT and the deletion
    const reopened = await host.open({ maxRecords: 1, segmentBytesMax: 4096 });
    expect(reopened.recovery).toEqual({ truncatedBytes: 0, truncatedReason: undefined, deletedSegments: 1, nextBatchSequence: sealedInFirst + 1 });
    expect(await segmentNames(host.fs)).toEqual(['wal-00000000000000000001.seg']);
    expect(reopened.stats).toMatchObject({ segments: 1, sealedBatches: 1, committedThrough: sealedInFirst - 1 });
    expect(reopened.emit()).toMatchObject({ sequence: sealedInFirst, firstRecordSequence: sealedInFirst, records: [{ value: value(0) }] });
  });

  it('refuses a torn tail in a segment that is not the last: it was fsynced before the next one existed', async () => {
    const host = new SimulatedHost();
    await twoSegments(host);
    const size = (await host.fs.readFile(segment(0))).length;
    await truncate(host.fs, segment(0), size - 3);
    await expect(host.open()).rejects.toMatchObject({
      code: 'CORRUPT_SEGMENT', message: expect.stringContaining(`${segment(0)} at byte ${size - SEAL_FRAME_BYTES}: torn frame`),
      details: { file: segment(0), position: size - SEAL_FRAME_BYTES, reason: 'torn frame' },
    });
  });

  it('refuses a whole, CRC-valid last frame that does not fit, though nothing follows it: that is not a tear', async () => {
    const host = new SimulatedHost();
    const size = await twoSealedBatches(host);
    await append(host.fs, segment(0), sealFrame(5, 1));
    await expect(host.open()).rejects.toMatchObject({ code: 'CORRUPT_SEGMENT', details: { file: segment(0), position: size, reason: 'seal of batch 5, expected 2' } });
  });

  it('after a reopen, deletes a segment as soon as the last batch in it is committed', async () => {
    const host = new SimulatedHost();
    const sealedInFirst = await twoSegments(host);
    const reopened = await host.open({ maxRecords: 1, segmentBytesMax: 4096 });
    for (let sequence = 0; sequence < sealedInFirst; sequence++) {
      expect(await segmentNames(host.fs), `before committing ${sequence}`).toHaveLength(2);
      reopened.emit();
      await reopened.commit(sequence);
    }
    expect(await segmentNames(host.fs)).toEqual(['wal-00000000000000000001.seg']);
    expect(reopened.stats.segments).toBe(1);
  });

  it('reads back a segment larger than one read, with records straddling the reads', async () => {
    const host = new SimulatedHost();
    const options = { maxRecords: 3, maxBytes: 2 * 1024 * 1024, walBytesMax: 16 * 1024 * 1024 };
    const buffer = await host.open(options);
    for (let n = 1; n <= 7; n++) await buffer.put({ value: new Uint8Array(300_000 + n).fill(n) });
    await buffer.close();
    expect((await host.fs.readFile(segment(0))).length).toBeGreaterThan(2 * 1024 * 1024);
    const reopened = await host.open(options);
    expect(reopened.recovery).toEqual({ truncatedBytes: 0, truncatedReason: undefined, deletedSegments: 0, nextBatchSequence: 2 });
    await reopened.flush();
    const lengths: number[] = [];
    for (let batch = reopened.emit(); batch; batch = reopened.emit()) {
      lengths.push(...batch.records.map((r) => r.value!.length));
      await reopened.commit(batch.sequence);
    }
    expect(lengths).toEqual([1, 2, 3, 4, 5, 6, 7].map((n) => 300_000 + n));
  });

  it('leaves no file open once closed, whatever recovery read, cut or refused', async () => {
    const host = new SimulatedHost();
    await twoSealedBatches(host);
    await append(host.fs, segment(0), Uint8Array.of(0, 0, 0, 3, 9, 9, 9));
    const counting = countingHandles(host.fs);
    const reopened = await host.open({ fs: counting.fs });
    expect(reopened.recovery.truncatedBytes).toBe(7);
    await reopened.close();
    expect(counting.open()).toBe(0);
    await append(host.fs, segment(0), Uint8Array.of(0, 0, 0, 3, 9, 9, 9));
    await append(host.fs, segment(0), sealFrame(2, 1));
    await expect(host.open({ fs: counting.fs })).rejects.toMatchObject({ code: 'CORRUPT_SEGMENT' });
    expect(counting.open()).toBe(0);
  });

  it('refuses a first segment whose header numbers batches or records past 2^53 - 1, rather than number on from NaN', async () => {
    for (const header of [{ firstBatchSeq: 2 ** 53 }, { firstRecordSeq: 2 ** 53 }]) {
      const host = new SimulatedHost();
      await host.fs.mkdir('/data');
      await host.fs.mkdir(WAL_DIR);
      await host.fs.writeFile(segment(0), headerFrame({ segmentSeq: 0, firstBatchSeq: 0, firstRecordSeq: 0, ...header }));
      await expect(host.open(), JSON.stringify(header)).rejects.toMatchObject({
        code: 'CORRUPT_SEGMENT', details: { file: segment(0), position: 0, reason: 'the first frame is not a valid segment header' },
      });
    }
    const host = new SimulatedHost(); // the largest safe sequences are read as they are
    await host.fs.mkdir('/data');
    await host.fs.mkdir(WAL_DIR);
    await host.fs.writeFile(segment(0), headerFrame({ segmentSeq: 0, firstBatchSeq: 2 ** 53 - 1, firstRecordSeq: 7 }));
    expect((await host.open()).recovery.nextBatchSequence).toBe(2 ** 53 - 1);
  });

  it('gives back a record as it was put, before and after a reopen: key, headers (null values too), a null value, timestamp', async () => {
    const host = new SimulatedHost();
    const records = [
      { key: value(1), value: null, headers: [{ key: 'a', value: null }, { key: 'b', value: value(2) }], timestamp: 5 },
      { key: null, value: value(3), timestamp: 6 },
    ];
    const buffer = await host.open({ maxRecords: 2 });
    for (const record of records) await buffer.put(record);
    expect(buffer.emit()!.records).toStrictEqual(records);
    await buffer.close();
    const reopened = await host.open();
    expect(reopened.emit()!.records).toStrictEqual(records);
  });
});
