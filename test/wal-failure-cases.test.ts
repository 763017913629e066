/**
 * The sixteen failure cases of the seed's Python FileBuffer (issue 5), one test each: every one
 * shows the behaviour the original gets wrong and asserts the FileBuffer gets it right.
 */
import { describe, expect, it } from 'vitest';
import { encodeBatch, isBrookError, tearLastWrite, keepAllPending, type Clock } from '@brook/protocol';
import { SimulatedHost, WAL_DIR, drainAll, flipByte, numbersOf, value } from './fixtures/wal-harness.js';
import type { WalBatch } from '../packages/client/src/wal/index.js';

async function putAll(buffer: { put(r: { value: Uint8Array }): Promise<void> }, from: number, to: number): Promise<void> {
  for (let n = from; n <= to; n++) await buffer.put({ value: value(n) });
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(() => expect.fail('expected a rejection'), (error: unknown) => error);
}

describe('16 failure cases of the original', () => {
  it('1. flushing a partial batch returns its records oldest first', async () => {
    const host = new SimulatedHost();
    const buffer = await host.open({ maxRecords: 10 });
    await putAll(buffer, 1, 4);
    await buffer.flush();
    expect(numbersOf(buffer.emit())).toEqual([1, 2, 3, 4]);
  });

  it('2. a put between a partial emit and its commit survives, in memory and across a crash', async () => {
    const host = new SimulatedHost();
    const buffer = await host.open({ maxRecords: 10 });
    await putAll(buffer, 1, 2);
    await buffer.flush();
    const emitted = buffer.emit()!;
    await buffer.put({ value: value(3) });
    await buffer.commit(emitted.sequence);
    host.crash(buffer, { keep: keepAllPending });
    const reopened = await host.open({ maxRecords: 10 });
    await reopened.flush();
    expect(await drainAll(reopened)).toEqual([3]);
  });

  it('3. a batch sealed by the byte limit restarts fine', async () => {
    const host = new SimulatedHost();
    const options = { maxRecords: 1000, maxBytes: 400 };
    const buffer = await host.open(options);
    for (let n = 1; n <= 20; n++) await buffer.put({ value: new Uint8Array(50).fill(n) });
    await buffer.close();
    const reopened = await host.open(options);
    expect(reopened.recovery.truncatedBytes).toBe(0);
    await reopened.flush();
    const sizes: number[] = [];
    for (let batch = reopened.emit(); batch; batch = reopened.emit()) {
      sizes.push(batch.records.length);
      await reopened.commit();
    }
    expect(sizes.reduce((a, b) => a + b)).toBe(20);
    expect(sizes.length).toBeGreaterThan(2); // sealed by bytes, not by count
  });

  it('4. a crash after the last record but before its batch is sealed restarts fine', async () => {
    const host = new SimulatedHost();
    const buffer = await host.open({ maxRecords: 10, maxAgeMs: 60_000 });
    await putAll(buffer, 1, 5);
    host.crash(buffer, {}); // power cut: only what was fsynced survives
    const reopened = await host.open({ maxRecords: 10 });
    expect(reopened.stats.openRecords).toBe(5);
    await putAll(reopened, 6, 7);
    await reopened.flush();
    expect(await drainAll(reopened)).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });

  it('5. a torn last record is cut off and the WAL continues', async () => {
    const host = new SimulatedHost();
    const buffer = await host.open({ fsync: 'never', maxRecords: 100 });
    await putAll(buffer, 1, 3);
    host.crash(buffer, { keep: tearLastWrite(7) }); // record 3 reached the disk as 7 bytes
    const reopened = await host.open({ maxRecords: 100 });
    expect(reopened.recovery.truncatedBytes).toBe(7);
    await reopened.put({ value: value(4) });
    await reopened.flush();
    expect(await drainAll(reopened)).toEqual([1, 2, 4]);
  });

  it('6. two batches with the same timestamp stay two batches', async () => {
    const host = new SimulatedHost(); // the virtual clock stands still: every record has one timestamp
    const buffer = await host.open({ maxRecords: 2 });
    await putAll(buffer, 1, 6);
    await buffer.close();
    const reopened = await host.open({ maxRecords: 2 });
    const batches: WalBatch[] = [];
    for (let batch = reopened.emit(); batch; batch = reopened.emit()) {
      batches.push(batch);
      await reopened.commit();
    }
    expect(batches.map((b) => b.sequence)).toEqual([0, 1, 2]);
    expect(batches.map(numbersOf)).toEqual([[1, 2], [3, 4], [5, 6]]);
  });

  it('7. a clock that runs backwards changes no order: batches go by sequence', async () => {
    const host = new SimulatedHost();
    let now = 2_000_000_000_000;
    const backwards: Clock = { now: () => (now -= 1000), monotonicMs: () => host.clock.monotonicMs(), setTimer: (ms, cb) => host.clock.setTimer(ms, cb) };
    const buffer = await host.open({ maxRecords: 2, clock: backwards });
    await putAll(buffer, 1, 6);
    await buffer.put({ value: value(7), timestamp: 5 });
    await buffer.put({ value: value(8), timestamp: 2 ** 52 });
    host.crash(buffer, {});
    const reopened = await host.open({ maxRecords: 2, clock: backwards });
    expect(await drainAll(reopened)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it('8. after a crash between emit and commit, emit returns the same batch: sequence, records, record sequences', async () => {
    const host = new SimulatedHost();
    const buffer = await host.open({ maxRecords: 2 });
    await putAll(buffer, 1, 4);
    const before = buffer.emit()!;
    await buffer.put({ value: value(5) }); // a put between emit and the crash changes nothing for the batch
    host.crash(buffer, {});
    const reopened = await host.open({ maxRecords: 2 });
    const after = reopened.emit()!;
    expect(after).toEqual(before);
    expect(after.encodedBytes).toBe(encodeBatch(after.records).length);
    await reopened.commit(after.sequence);
    expect(reopened.emit()).toMatchObject({ sequence: 1, firstRecordSequence: 2 });
  });

  it('9. a resolved put survives a power cut under fsync always (file and directory); under never it may not', async () => {
    const host = new SimulatedHost();
    const buffer = await host.open({ maxRecords: 1000 });
    await Promise.all(Array.from({ length: 100 }, (_, i) => buffer.put({ value: value(i + 1) })));
    expect(buffer.stats.fsyncs).toBeLessThan(10); // group commit: one fsync per round, not per put
    host.crash(buffer, {});
    const reopened = await host.open({ maxRecords: 1000, fsync: 'never' });
    expect(reopened.stats.openRecords).toBe(100);
    await putAll(reopened, 101, 110);
    host.crash(reopened, {});
    const third = await host.open({ maxRecords: 1000 });
    expect(third.stats.openRecords).toBe(100); // 'never' is honoured too: those ten were not fsynced
  });

  it('10. the byte limit is the encoded batch size; a batch never exceeds it; a larger record is MESSAGE_TOO_LARGE', async () => {
    const host = new SimulatedHost();
    const maxBytes = 1000;
    const buffer = await host.open({ maxRecords: 1000, maxBytes });
    let n = 0;
    for (let i = 0; i < 200; i++) {
      const size = (i * 37) % 300;
      await buffer.put({ key: i % 3 === 0 ? null : value(i), value: new Uint8Array(size).fill(n++ % 256), timestamp: 1000 + i * 977 });
    }
    await buffer.flush();
    for (let batch = buffer.emit(); batch; batch = buffer.emit()) {
      expect(batch.encodedBytes).toBe(encodeBatch(batch.records).length);
      expect(batch.encodedBytes).toBeLessThanOrEqual(maxBytes);
      await buffer.commit();
    }
    const error = await rejection(buffer.put({ value: new Uint8Array(maxBytes) }));
    expect(isBrookError(error, 'MESSAGE_TOO_LARGE')).toBe(true);
  });

  it("11. the WAL is bounded by walBytesMax: onFull 'reject' gives BUFFER_FULL, 'wait' waits in put order", async () => {
    const host = new SimulatedHost();
    const bounded = { maxRecords: 5, maxBytes: 1024, walBytesMax: 4096 };
    const rejecting = await host.open({ ...bounded, onFull: 'reject' });
    let accepted = 0;
    for (; ; accepted++) {
      const error = await rejection(rejecting.put({ value: new Uint8Array(100) })).catch(() => undefined);
      if (error !== undefined) {
        expect(isBrookError(error, 'BUFFER_FULL')).toBe(true);
        break;
      }
    }
    expect(rejecting.stats.walBytes).toBeLessThanOrEqual(4096);
    await drainAll(rejecting); // the full buffer sealed its open batch, so everything drains
    await rejecting.put({ value: new Uint8Array(100) });
    await rejecting.close();

    const waiting = await host.open({ ...bounded, onFull: 'wait' });
    await drainAll(waiting);
    await waiting.flush();
    await drainAll(waiting);
    const settled: number[] = [];
    const hundredBytes = (i: number): Uint8Array => new TextEncoder().encode(String(i).padStart(100, '0'));
    const puts = Array.from({ length: accepted + 5 }, (_, i) => waiting.put({ value: hundredBytes(i) }).then(() => settled.push(i)));
    await host.clock.advanceAsync(0);
    expect(settled.length).toBeLessThan(puts.length);
    const drained = await drainAll(waiting);
    await Promise.all(puts);
    await waiting.flush();
    expect([...drained, ...(await drainAll(waiting))]).toEqual(Array.from({ length: accepted + 5 }, (_, i) => i));
    expect(settled).toEqual([...settled].sort((a, b) => a - b));
  });

  it('12. a background sender drains everything ready, with no put to push it', async () => {
    const host = new SimulatedHost();
    const buffer = await host.open({ maxRecords: 3 });
    await putAll(buffer, 1, 30); // the sink was down: ten sealed batches wait
    const received: number[] = [];
    const stop = new AbortController();
    const sender = buffer.drain((batch) => {
      received.push(...numbersOf(batch));
      if (received.length === 30) stop.abort();
    }, { signal: stop.signal });
    await sender;
    expect(received).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    expect(buffer.stats.records).toBe(0);
  });

  it('13. maxAgeMs seals a batch on the clock when traffic stops', async () => {
    const host = new SimulatedHost();
    const buffer = await host.open({ maxRecords: 100, maxAgeMs: 50 });
    await buffer.put({ value: value(1) });
    await host.clock.advanceAsync(49);
    expect(buffer.shouldEmit()).toBe(false);
    await host.clock.advanceAsync(1);
    expect(buffer.shouldEmit()).toBe(true);
    expect(numbersOf(buffer.emit())).toEqual([1]);
  });

  it('14. a second writer on one WAL gets LOCKED naming the holder; a dead holder\'s lock is taken over', async () => {
    const host = new SimulatedHost();
    const first = await host.open();
    const error = await rejection(host.open());
    expect(isBrookError(error, 'LOCKED')).toBe(true);
    expect((error as { details: { pid: number } }).details.pid).toBe(1000);
    host.crash(first); // kill -9: the lock stays behind, its pid is dead
    const second = await host.open();
    await second.put({ value: value(1) });
    await second.close();
    expect(await host.fs.exists(`${WAL_DIR}/wal.lock`)).toBe(false);
  });

  it('15. clear() deletes only the buffer\'s own segment files', async () => {
    const host = new SimulatedHost();
    await host.fs.mkdir(`${WAL_DIR}/notes`);
    const foreign = ['notes/keep.txt', 'wal-1.seg', '00000000000000000000.log', 'wal-00000000000000000000.seg.bak', 'README'];
    for (const name of foreign) await host.fs.writeFile(`${WAL_DIR}/${name}`, value(42));
    const buffer = await host.open({ maxRecords: 2, segmentBytesMax: 4096 });
    for (let n = 0; n < 200; n++) await buffer.put({ value: new Uint8Array(40) });
    expect(buffer.stats.segments).toBeGreaterThan(1);
    await buffer.clear();
    expect(buffer.stats).toMatchObject({ records: 0, segments: 1, walBytes: 0, committedThrough: 99, nextBatchSequence: 100 });
    await buffer.close();
    for (const name of foreign) expect(await host.fs.readFile(`${WAL_DIR}/${name}`)).toEqual(value(42));
    const reopened = await host.open({ maxRecords: 2 });
    expect(reopened.stats).toMatchObject({ records: 0, nextBatchSequence: 100 });
  });

  it('16. records are CRC-framed and segments sequence-numbered: damage is an error naming file and byte', async () => {
    const host = new SimulatedHost();
    const buffer = await host.open({ maxRecords: 2, segmentBytesMax: 4096 });
    for (let n = 0; n < 100; n++) await buffer.put({ value: new Uint8Array(40) });
    await buffer.close();
    const segments = (await host.fs.readdir(WAL_DIR)).filter((name) => name.endsWith('.seg'));
    expect(segments.length).toBeGreaterThan(1);
    const sealedSegment = `${WAL_DIR}/${segments[0]}`;
    await flipByte(host.fs, sealedSegment, 200);
    const error = await rejection(host.open());
    expect(error).toMatchObject({ code: 'CORRUPT_SEGMENT', details: { file: sealedSegment } });
    expect((error as { details: { position: number } }).details.position).toBeLessThanOrEqual(200);
  });
});

describe("walBytesMax with onFull 'wait'", () => {
  it('a put admitted from the wait is sealed at once if another still waits, so the sender frees room without waiting for maxAgeMs', async () => {
    const host = new SimulatedHost();
    const started = host.clock.now();
    // Batches seal when the WAL is full, at maxBytes, or after a minute the clock never moves.
    const buffer = await host.open({ maxRecords: 1000, maxBytes: 4096, walBytesMax: 4096 + 64, maxAgeMs: 60_000, onFull: 'wait' });
    let first: Promise<void> | undefined;
    while (!first) {
      let admitted = false;
      const put = buffer.put({ value: new Uint8Array(1000) });
      void put.then(() => (admitted = true), () => undefined);
      await host.clock.advanceAsync(0);
      if (!admitted) first = put; // the full WAL sealed the batch before it
    }
    // Fits an empty WAL, but not beside `first` once that is admitted into the open batch.
    const second = buffer.put({ value: new Uint8Array(3100) });
    const stop = new AbortController();
    const sender = buffer.drain(() => undefined, { signal: stop.signal });
    await Promise.all([first, second]);
    stop.abort();
    await sender;
    expect(host.clock.now()).toBe(started);
  });
});

describe('emit and commit', () => {
  it('commits exactly the emitted batch: a commit of any other is INVALID_REQUEST and changes nothing; a committed one again is a no-op', async () => {
    const buffer = await new SimulatedHost().open({ maxRecords: 2 });
    await putAll(buffer, 1, 4);
    await expect(buffer.commit()).rejects.toMatchObject({ code: 'INVALID_REQUEST', details: { emitted: undefined } });
    await expect(buffer.commit(0)).rejects.toMatchObject({ code: 'INVALID_REQUEST', details: { sequence: 0, emitted: undefined } });
    const first = buffer.emit()!;
    await expect(buffer.commit(1)).rejects.toMatchObject({ code: 'INVALID_REQUEST', details: { sequence: 1, emitted: 0 } });
    expect(buffer.stats).toMatchObject({ committedThrough: -1, sealedBatches: 2, records: 4 });
    expect(buffer.emit()).toBe(first);
    await buffer.commit(0);
    await buffer.commit(0);
    expect(numbersOf(buffer.emit())).toEqual([3, 4]);
  });
});
