import { describe, expect, it } from 'vitest';
import { segmentPath } from '../log/segment-files.js';
import { NO_PRODUCER_ID, RECENT_BATCHES_PER_PRODUCER } from './producer-entry.js';
import { LOG_DIR, producerBatch, producersFixture, type ProducersFixture } from './producer-fixture.js';
import { encodeSnapshot, snapshotPath } from './producer-snapshot.js';

const P = 1n;
const Q = 2n;

/** Sends `count` one-record batches of `producerId` from sequence `from`; returns their offsets. */
async function sendMany(fixture: ProducersFixture, producerId: bigint, from: number, count: number): Promise<bigint[]> {
  const offsets = [];
  for (let seq = from; seq < from + count; seq++) offsets.push((await fixture.send({ producerId, firstSeq: seq })).baseOffset);
  return offsets;
}

async function snapshotOffset(fixture: ProducersFixture): Promise<bigint> {
  return BigInt((JSON.parse(new TextDecoder().decode(await fixture.fs.readFile(snapshotPath(LOG_DIR)))) as { offset: string }).offset);
}

describe('producer state across restarts', () => {
  it('a clean restart loads the snapshot and replays nothing; retries still get their original offsets', async () => {
    const fixture = await producersFixture();
    const offsets = await sendMany(fixture, P, 0, 3);
    await sendMany(fixture, Q, 0, 2);
    await fixture.restart();
    expect(fixture.producers.recovery).toEqual({ snapshot: 'used', replayedFromOffset: 5n, replayedBatches: 0 });
    await expect(fixture.send({ producerId: P, firstSeq: 2 })).resolves.toEqual({ baseOffset: offsets[2], lastOffset: offsets[2], duplicate: true });
    await expect(fixture.send({ producerId: Q, firstSeq: 2 })).resolves.toMatchObject({ baseOffset: 5n, duplicate: false });
  });

  it('after a power cut without any snapshot: the table is rebuilt from the whole log', async () => {
    const fixture = await producersFixture();
    const offsets = await sendMany(fixture, P, 0, 4);
    await fixture.powerCut(async () => {
      await fixture.fs.unlink(snapshotPath(LOG_DIR));
      await fixture.fs.syncDir(LOG_DIR);
    });
    expect(fixture.producers.recovery).toEqual({ snapshot: 'missing', replayedFromOffset: 0n, replayedBatches: 4 });
    await expect(fixture.send({ producerId: P, firstSeq: 3 })).resolves.toEqual({ baseOffset: offsets[3], lastOffset: offsets[3], duplicate: true });
    await expect(fixture.send({ producerId: P, firstSeq: 5 })).rejects.toMatchObject({ code: 'OUT_OF_ORDER_SEQUENCE', details: { expected: 4 } });
    // The rebuilt state was written at once: the next open starts from it.
    expect(await snapshotOffset(fixture)).toBe(4n);
  });

  it('after a power cut with a snapshot: replays only the batches after it', async () => {
    const fixture = await producersFixture();
    await sendMany(fixture, P, 0, 3);
    await fixture.producers.snapshot();
    const offsets = await sendMany(fixture, P, 3, 2);
    await fixture.powerCut();
    expect(fixture.producers.recovery).toEqual({ snapshot: 'used', replayedFromOffset: 3n, replayedBatches: 2 });
    await expect(fixture.send({ producerId: P, firstSeq: 4 })).resolves.toMatchObject({ baseOffset: offsets[1], duplicate: true });
    await expect(fixture.send({ producerId: P, firstSeq: 5 })).resolves.toMatchObject({ baseOffset: 5n, duplicate: false });
  });

  it('a snapshot holding batches past its offset (committed while another producer\'s group was in the log): replay skips them, each batch is remembered once', async () => {
    const fixture = await producersFixture();
    const offsets = [(await fixture.send({ producerId: P, firstSeq: 0 })).baseOffset];
    await fixture.send({ producerId: Q, firstSeq: 0 }); // offset 1
    offsets.push(...(await sendMany(fixture, P, 1, 2)));
    // A snapshot taken while Q's group, handed over at 1, was in the log, and P's next two were committed.
    const batches = offsets.map((offset, seq) => ({ firstSeq: seq, lastSeq: seq, baseOffset: offset, lastOffset: offset }));
    await fixture.fs.writeFile(snapshotPath(LOG_DIR), encodeSnapshot(1n, [[P, { epoch: 0, batches }]]));
    await fixture.crash();
    expect(fixture.producers.recovery).toEqual({ snapshot: 'used', replayedFromOffset: 1n, replayedBatches: 3 });
    for (const [seq, offset] of offsets.entries()) {
      await expect(fixture.send({ producerId: P, firstSeq: seq })).resolves.toEqual({ baseOffset: offset, lastOffset: offset, duplicate: true });
    }
    await expect(fixture.send({ producerId: Q, firstSeq: 0 })).resolves.toEqual({ baseOffset: 1n, lastOffset: 1n, duplicate: true });
    await expect(fixture.send({ producerId: P, firstSeq: 3 })).resolves.toEqual({ baseOffset: 4n, lastOffset: 4n, duplicate: false });
  });

  it('under fsync never, a snapshot flushes the log first, so a power cut cannot leave it ahead of the log', async () => {
    const fixture = await producersFixture({ fsync: 'never' });
    await sendMany(fixture, P, 0, 3);
    await fixture.producers.snapshot();
    await fixture.powerCut();
    expect(fixture.producers.recovery).toEqual({ snapshot: 'used', replayedFromOffset: 3n, replayedBatches: 0 });
    expect(fixture.log.endOffset).toBe(3n);
  });

  it('a snapshot ahead of a log whose tail was lost is not used; the lost batch is appended again when resent', async () => {
    const fixture = await producersFixture();
    const offsets = await sendMany(fixture, P, 0, 3);
    await fixture.restart(); // snapshot at 3
    await fixture.powerCut(async () => {
      // The disk loses the end of the last batch, say to bit rot: recovery cuts the torn batch.
      const file = await fixture.fs.open(segmentPath(LOG_DIR, 0n, '.log'), 'rw');
      await file.truncate((await file.size()) - 5);
      await file.sync();
      await file.close();
    });
    expect(fixture.log.endOffset).toBe(2n);
    expect(fixture.producers.recovery).toEqual({ snapshot: 'ahead-of-log', replayedFromOffset: 0n, replayedBatches: 2 });
    // Replaced at once, or it would look valid again once the log grew past offset 3.
    expect(await snapshotOffset(fixture)).toBe(2n);
    await expect(fixture.send({ producerId: P, firstSeq: 1 })).resolves.toMatchObject({ baseOffset: offsets[1], duplicate: true });
    await expect(fixture.send({ producerId: P, firstSeq: 2 })).resolves.toEqual({ baseOffset: 2n, lastOffset: 2n, duplicate: false });
  });

  it('a snapshot at or below endOffset holding a batch the log lost (past its offset, at endOffset now) is not used: the lost batch is appended again when resent', async () => {
    const fixture = await producersFixture();
    const offsets = [(await fixture.send({ producerId: P, firstSeq: 0 })).baseOffset];
    await fixture.send({ producerId: Q, firstSeq: 0 }); // offset 1
    offsets.push(...(await sendMany(fixture, P, 1, 2))); // offsets 2 and 3
    // A snapshot at 1 holding batches past its offset (as one taken while a group handed over at 1 was in the log):
    // Q's, still in the log, and P's last two, one of which the log is about to lose.
    const batches = offsets.map((offset, seq) => ({ firstSeq: seq, lastSeq: seq, baseOffset: offset, lastOffset: offset }));
    const qBatches = [{ firstSeq: 0, lastSeq: 0, baseOffset: 1n, lastOffset: 1n }];
    await fixture.fs.writeFile(snapshotPath(LOG_DIR), encodeSnapshot(1n, [[Q, { epoch: 0, batches: qBatches }], [P, { epoch: 0, batches }]]));
    // The disk loses the end of P's last batch, say to bit rot: recovery cuts it, and endOffset is its offset.
    const file = await fixture.fs.open(segmentPath(LOG_DIR, 0n, '.log'), 'rw');
    await file.truncate((await file.size()) - 5);
    await file.close();
    await fixture.crash();
    expect(fixture.log.endOffset).toBe(3n);
    expect(fixture.producers.recovery).toEqual({ snapshot: 'ahead-of-log', replayedFromOffset: 0n, replayedBatches: 3 });
    await expect(fixture.send({ producerId: Q, firstSeq: 0 })).resolves.toEqual({ baseOffset: 1n, lastOffset: 1n, duplicate: true });
    await expect(fixture.send({ producerId: P, firstSeq: 1 })).resolves.toEqual({ baseOffset: 2n, lastOffset: 2n, duplicate: true });
    await expect(fixture.send({ producerId: P, firstSeq: 2 })).resolves.toEqual({ baseOffset: 3n, lastOffset: 3n, duplicate: false });
  });

  it('a snapshot past endOffset whose batches are all below it (the log lost a plain batch) is not used: kept, it would claim to cover the next idempotent batch, appended at an offset it never saw', async () => {
    const fixture = await producersFixture();
    await sendMany(fixture, P, 0, 2);
    await fixture.log.append(producerBatch({ producerId: NO_PRODUCER_ID, firstSeq: 0 })); // offset 2
    await fixture.producers.snapshot(); // at 3, P's batches at 0 and 1
    // The disk loses the end of the plain batch, say to bit rot: recovery cuts it.
    const file = await fixture.fs.open(segmentPath(LOG_DIR, 0n, '.log'), 'rw');
    await file.truncate((await file.size()) - 5);
    await file.close();
    await fixture.crash();
    expect(fixture.log.endOffset).toBe(2n);
    expect(fixture.producers.recovery).toEqual({ snapshot: 'ahead-of-log', replayedFromOffset: 0n, replayedBatches: 2 });
    await expect(fixture.send({ producerId: Q, firstSeq: 0 })).resolves.toEqual({ baseOffset: 2n, lastOffset: 2n, duplicate: false });
    await fixture.producers.snapshot();
    await fixture.powerCut();
    await expect(fixture.send({ producerId: Q, firstSeq: 0 })).resolves.toEqual({ baseOffset: 2n, lastOffset: 2n, duplicate: true });
    await expect(fixture.send({ producerId: P, firstSeq: 1 })).resolves.toEqual({ baseOffset: 1n, lastOffset: 1n, duplicate: true });
  });

  it('a snapshot at exactly startOffset is used: retention deleted only batches it saw, so their producer is still known', async () => {
    const fixture = await producersFixture({ log: { segmentBytesMax: 1024 } });
    const segments = async () => (await fixture.fs.readdir(LOG_DIR)).filter((name) => name.endsWith('.log')).length;
    const offsets: bigint[] = [];
    // A snapshot before each batch: the last one is at the offset of the batch that opens the second segment.
    do {
      await fixture.producers.snapshot();
      offsets.push(...(await sendMany(fixture, P, offsets.length, 1)));
    } while ((await segments()) < 2);
    const { startOffset } = await fixture.log.applyRetention({ maxBytes: 512 });
    expect(startOffset).toBe(offsets.at(-1));
    expect(await snapshotOffset(fixture)).toBe(startOffset);
    await fixture.powerCut();
    expect(fixture.producers.recovery).toEqual({ snapshot: 'used', replayedFromOffset: startOffset, replayedBatches: 1 });
    // The batch before the snapshot's offset is gone from the log but not from the table, as before the power cut.
    const seq = offsets.length - 2;
    await expect(fixture.send({ producerId: P, firstSeq: seq })).resolves.toEqual({ baseOffset: offsets[seq], lastOffset: offsets[seq], duplicate: true });
  });

  it('a snapshot older than startOffset is not used: producers whose batches retention removed are forgotten', async () => {
    const fixture = await producersFixture({ log: { segmentBytesMax: 4096 } });
    await sendMany(fixture, P, 0, 2);
    await fixture.producers.snapshot(); // at offset 2
    const offsets = await sendMany(fixture, Q, 0, 150);
    const { startOffset } = await fixture.log.applyRetention({ maxBytes: 8192 });
    expect(startOffset).toBeGreaterThan(2n);
    await fixture.powerCut();
    expect(fixture.producers.recovery).toMatchObject({ snapshot: 'behind-log-start', replayedFromOffset: startOffset });
    await expect(fixture.send({ producerId: P, firstSeq: 2 })).rejects.toMatchObject({ code: 'UNKNOWN_PRODUCER_ID' });
    await expect(fixture.send({ producerId: Q, firstSeq: 149 })).resolves.toMatchObject({ baseOffset: offsets[149], duplicate: true });
    await expect(fixture.send({ producerId: Q, firstSeq: 150 })).resolves.toMatchObject({ duplicate: false });
  });

  it(`after retention cut into a producer's batches, rebuilt from startOffset: its last ${RECENT_BATCHES_PER_PRODUCER} batches, across a segment boundary, are remembered`, async () => {
    const fixture = await producersFixture({ log: { segmentBytesMax: 1024 } });
    const segments = async () => (await fixture.fs.readdir(LOG_DIR)).filter((name) => name.endsWith('.log')).length;
    const offsets: bigint[] = [];
    while ((await segments()) < 3) offsets.push(...(await sendMany(fixture, P, offsets.length, 1)));
    offsets.push(...(await sendMany(fixture, P, offsets.length, 2))); // the third segment holds the last three
    const { startOffset } = await fixture.log.applyRetention({ maxBytes: 2048 });
    const next = offsets.length;
    expect(startOffset).toBeGreaterThan(0n); // the first segment is gone, the second kept
    expect(startOffset).toBeLessThan(offsets[next - RECENT_BATCHES_PER_PRODUCER]!);
    await fixture.powerCut(); // the snapshot written at open, at 0, is behind startOffset now
    expect(fixture.producers.recovery).toMatchObject({ snapshot: 'behind-log-start', replayedFromOffset: startOffset });
    for (let seq = next - RECENT_BATCHES_PER_PRODUCER; seq < next; seq++) {
      await expect(fixture.send({ producerId: P, firstSeq: seq })).resolves.toEqual({ baseOffset: offsets[seq], lastOffset: offsets[seq], duplicate: true });
    }
    await expect(fixture.send({ producerId: P, firstSeq: next - RECENT_BATCHES_PER_PRODUCER - 1 })).rejects.toMatchObject({ code: 'OUT_OF_ORDER_SEQUENCE', details: { expected: next } });
    await expect(fixture.send({ producerId: P, firstSeq: next })).resolves.toEqual({ baseOffset: BigInt(next), lastOffset: BigInt(next), duplicate: false });
  });

  it('a snapshot that fails validation is ignored and rebuilt from the log', async () => {
    const fixture = await producersFixture();
    await sendMany(fixture, P, 0, 2);
    await fixture.restart();
    await fixture.powerCut(async () => {
      await fixture.fs.writeFile(snapshotPath(LOG_DIR), new TextEncoder().encode('{"version":1,"offset":"2","producers":[{"id":"1","epoch":0,"batches":[[0,5,"0","0"]]}]}'));
    });
    expect(fixture.producers.recovery).toEqual({ snapshot: 'invalid', replayedFromOffset: 0n, replayedBatches: 2 });
    await expect(fixture.send({ producerId: P, firstSeq: 1 })).resolves.toMatchObject({ baseOffset: 1n, duplicate: true });
  });
});

describe('producer state: a snapshot that cannot be read', () => {
  it('an I/O error reading the snapshot fails the rebuild: it is not taken for a damaged snapshot and replaced', async () => {
    const fixture = await producersFixture();
    await sendMany(fixture, P, 0, 2);
    fixture.fs.failNext('readFile', { path: snapshotPath(LOG_DIR), errno: 'EIO' });
    await expect(fixture.restart()).rejects.toMatchObject({ code: 'IO_ERROR', details: { errno: 'EIO' } });
    await fixture.crash();
    expect(fixture.producers.recovery).toEqual({ snapshot: 'used', replayedFromOffset: 2n, replayedBatches: 0 });
  });
});

describe('producersPerPartitionMax', () => {
  it('remembers exactly the bound, then forgets the least recently used, also across a restart', async () => {
    const fixture = await producersFixture({ producersMax: 2 });
    await fixture.send({ producerId: 1n, firstSeq: 0 });
    await fixture.send({ producerId: 2n, firstSeq: 0 });
    // At the bound both are remembered; the retry makes producer 1 the most recently used.
    await expect(fixture.send({ producerId: 1n, firstSeq: 0 })).resolves.toMatchObject({ duplicate: true });
    expect(fixture.producers.producerCount).toBe(2);
    await fixture.send({ producerId: 3n, firstSeq: 0 }); // one past the bound: producer 2 goes
    expect(fixture.producers.producerCount).toBe(2);
    await expect(fixture.send({ producerId: 2n, firstSeq: 1 })).rejects.toMatchObject({ code: 'UNKNOWN_PRODUCER_ID' });
    await fixture.restart();
    await fixture.send({ producerId: 4n, firstSeq: 0 }); // the snapshot kept the order: producer 1 goes now
    await expect(fixture.send({ producerId: 1n, firstSeq: 1 })).rejects.toMatchObject({ code: 'UNKNOWN_PRODUCER_ID' });
    await expect(fixture.send({ producerId: 3n, firstSeq: 1 })).resolves.toMatchObject({ duplicate: false });
  });
});
