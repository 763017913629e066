/**
 * Damage inside the last WAL segment, and a WAL whose numbering went back behind the WAL
 * producer's state file: both must stop the open with a coded error. Cutting there instead would
 * drop committed batches' COMMIT frames and restart the batch numbering below sequences already
 * handed out, and the producer would then commit new batches without sending them.
 */
import { describe, expect, it } from 'vitest';
import { BrookError } from '@brook/protocol';
import { PRODUCER_WAL_DIR, WalProducerHost, numbered } from '@brook/examples';
import { SimulatedHost, WAL_DIR, drainAll, flipByte, value } from './fixtures/wal-harness.js';

const COMMIT_FRAME_BYTES = 9 + 8;

async function segmentsOf(fs: { readdir(dir: string): Promise<string[]> }, dir: string): Promise<string[]> {
  return (await fs.readdir(dir)).filter((name) => name.endsWith('.seg')).map((name) => `${dir}/${name}`);
}

/** One segment: three committed batches, ending with the COMMIT of the last. */
async function committedSegment(host: SimulatedHost): Promise<string> {
  const buffer = await host.open({ maxRecords: 2 });
  for (let n = 1; n <= 6; n++) await buffer.put({ value: value(n) });
  expect(await drainAll(buffer)).toEqual([1, 2, 3, 4, 5, 6]);
  await buffer.close();
  const [segment, ...others] = await segmentsOf(host.fs, WAL_DIR);
  expect(others).toEqual([]);
  return segment!;
}

describe('a damaged last segment', () => {
  it('is CORRUPT_SEGMENT wherever a byte flips, unless in its last frame: only a tail with nothing valid after it is a tear', async () => {
    const host = new SimulatedHost();
    const segment = await committedSegment(host);
    const size = (await host.fs.readFile(segment)).length;
    for (let position = 0; position < size - COMMIT_FRAME_BYTES; position++) {
      await flipByte(host.fs, segment, position);
      const error = await host.open().then(() => undefined, (e: unknown) => e);
      expect(error, `byte ${position}`).toBeInstanceOf(BrookError);
      expect(error).toMatchObject({ code: 'CORRUPT_SEGMENT', details: { file: segment } });
      expect((error as BrookError).details['position']).toBeLessThanOrEqual(position);
      await flipByte(host.fs, segment, position); // undo
    }
    await flipByte(host.fs, segment, size - 1); // in the final COMMIT: a tear, cut off
    const reopened = await host.open();
    expect(reopened.recovery.truncatedBytes).toBe(COMMIT_FRAME_BYTES);
    expect(reopened.stats.nextBatchSequence).toBe(3); // the numbering goes on
  });

  it('cuts a tail of zeros (a file extended whose data never reached the disk) and goes on', async () => {
    const host = new SimulatedHost();
    const segment = await committedSegment(host);
    const handle = await host.fs.open(segment, 'rw');
    await handle.write(new Uint8Array(4096), await handle.size());
    await handle.sync();
    await handle.close();
    const reopened = await host.open({ maxRecords: 2 });
    expect(reopened.recovery.truncatedBytes).toBe(4096);
    expect(reopened.stats).toMatchObject({ committedThrough: 2, nextBatchSequence: 3, records: 0 });
  });
});

describe('segments that do not fit together', () => {
  /** Four segments, nothing committed. */
  async function fourSegments(host: SimulatedHost): Promise<string[]> {
    const buffer = await host.open({ maxRecords: 2, segmentBytesMax: 4096 });
    for (let n = 1; n <= 120; n++) await buffer.put({ value: new Uint8Array(100).fill(n) });
    await buffer.close();
    const segments = await segmentsOf(host.fs, WAL_DIR);
    expect(segments.length).toBeGreaterThanOrEqual(4);
    return segments;
  }

  it('a segment missing in the middle, or one whose name is not its header\'s, is CORRUPT_SEGMENT naming the file, never skipped', async () => {
    const host = new SimulatedHost();
    const segments = await fourSegments(host);
    const moved = `${WAL_DIR}/wal-00000000000000000099.seg`;
    await host.fs.rename(segments.at(-1)!, moved);
    await expect(host.open()).rejects.toMatchObject({ code: 'CORRUPT_SEGMENT', details: { file: moved, position: 0, reason: expect.stringMatching(/header names segment/) } });
    await host.fs.rename(moved, segments.at(-1)!);
    await host.fs.unlink(segments[1]!);
    await expect(host.open()).rejects.toMatchObject({ code: 'CORRUPT_SEGMENT', details: { file: segments[2], position: 0, reason: expect.stringMatching(/continues from/) } });
  });
});

describe('the WAL producer on a damaged WAL', () => {
  async function deliveredTwoBatches(): Promise<WalProducerHost> {
    const host = await WalProducerHost.create({ orders: 1 });
    const { producer } = await host.start({ maxRecords: 3 });
    await producer.send('orders', numbered(1, 6));
    await producer.flush();
    await producer.close();
    return host;
  }

  it('refuses to open on a bad frame inside the last segment instead of reusing committed batch numbers', async () => {
    const host = await deliveredTwoBatches();
    const [segment] = await segmentsOf(host.fs, PRODUCER_WAL_DIR);
    await flipByte(host.fs, segment!, 200);
    const { producer } = await host.start({ maxRecords: 3 });
    await expect(producer.ready()).rejects.toMatchObject({ code: 'CORRUPT_SEGMENT', details: { file: segment } });
    await expect(producer.send('orders', numbered(7, 1))).rejects.toMatchObject({ code: 'CORRUPT_SEGMENT' });
    await producer.close();
  });

  it('refuses to open when the WAL numbering is behind producer.json (segments lost), rather than commit new batches unsent', async () => {
    const host = await deliveredTwoBatches();
    for (const segment of await segmentsOf(host.fs, PRODUCER_WAL_DIR)) await host.fs.unlink(segment);
    const { producer } = await host.start({ maxRecords: 3 });
    await expect(producer.ready()).rejects.toMatchObject({
      code: 'CORRUPT_METADATA', details: { file: `${PRODUCER_WAL_DIR}/producer.json`, committedWalBatch: 1, nextBatchSequence: 0 },
    });
    await producer.close();
    // The documented way out: without the state file, the WAL goes out under a new producer id.
    await host.fs.unlink(`${PRODUCER_WAL_DIR}/producer.json`);
    const fresh = await host.start({ maxRecords: 3 });
    await fresh.producer.send('orders', numbered(7, 3));
    await fresh.producer.flush();
    expect(await host.contents('orders')).toEqual([[1, 2, 3, 4, 5, 6, 7, 8, 9]]);
    await fresh.producer.close();
  });

  it('refuses so too when an open batch is sealed at open (maxAgeMs 0): its new sequence does not hide the numbering behind', async () => {
    const host = await deliveredTwoBatches();
    const second = await host.start({ maxRecords: 3 });
    await second.producer.send('orders', numbered(7, 1)); // stays in the open batch, which the close keeps
    await second.producer.close();
    const path = `${PRODUCER_WAL_DIR}/producer.json`;
    const state = JSON.parse(Buffer.from(await host.fs.readFile(path)).toString('utf8')) as object;
    await host.fs.writeFile(path, new TextEncoder().encode(JSON.stringify({ ...state, committedWalBatch: 2 })));
    const { producer } = await host.start({ maxRecords: 3, maxAgeMs: 0 });
    await expect(producer.ready()).rejects.toMatchObject({ code: 'CORRUPT_METADATA', details: { committedWalBatch: 2, nextBatchSequence: 2 } });
    await producer.close();
  });

  it.each([
    ['a negative next sequence', { partitions: [['orders', 0, '0', 0, -1]] }, 'bad partition entry'],
    ['a next sequence past 2^31-1', { partitions: [['orders', 0, '0', 0, 2 ** 31]] }, 'bad partition entry'],
    ['a partition epoch past 2^15-1', { partitions: [['orders', 0, '0', 2 ** 15, 6]] }, 'bad partition entry'],
    ['a shared epoch past 2^15-1', { producerEpoch: 2 ** 15 }, 'bad producerEpoch 32768'],
    ['an incarnation that is not a string', { incarnation: 7 }, 'bad incarnation 7'],
    ['an empty incarnation', { incarnation: '' }, 'bad incarnation ""'],
    ['an incarnation a produce frame has no room for', { incarnation: 'x'.repeat(65) }, 'bad incarnation'],
    ['an unknown version', { version: 2 }, 'unknown version 2'],
    ['a committedWalBatch below -1', { committedWalBatch: -2 }, 'bad committedWalBatch'],
    ['a committedWalBatch that is no integer', { committedWalBatch: 1.5 }, 'bad committedWalBatch'],
    ['partitions that are no list', { partitions: {} }, 'partitions is not an array'],
    ['a partition entry without a topic name', { partitions: [[7, 0, '0', 0, 6]] }, 'bad partition entry [7,0,"0",0,6]'],
    ['a negative partition', { partitions: [['orders', -1, '0', 0, 6]] }, 'bad partition entry'],
    ['a partition producer id that is not decimal digits', { partitions: [['orders', 0, '-1', 0, 6]] }, 'bad producer id'],
    ['a shared producer id that is a number, not a string', { producerId: 7 }, 'bad producer id'],
    ['a negative shared epoch', { producerEpoch: -1 }, 'bad producerEpoch -1'],
    ['a shared producer id with more than digits', { producerId: '7x' }, 'bad producer id'],
  ])('refuses to open a producer.json with %s, rather than send batches the broker must refuse (set aside as poison)', async (_, damage, problem) => {
    const host = await deliveredTwoBatches();
    const path = `${PRODUCER_WAL_DIR}/producer.json`;
    const state = JSON.parse(Buffer.from(await host.fs.readFile(path)).toString('utf8')) as object;
    await host.fs.writeFile(path, new TextEncoder().encode(JSON.stringify({ ...state, ...damage })));
    const { producer } = await host.start({ maxRecords: 3 });
    await expect(producer.ready()).rejects.toMatchObject({
      code: 'CORRUPT_METADATA', details: { file: path }, description: expect.stringContaining(`${path} is not a WAL producer state: Error: ${problem}`),
      cause: expect.any(Error),
    });
    await producer.close();
  });

  it('opens a producer.json whose partition, producer id, epoch and next sequence are at their largest', async () => {
    const host = await deliveredTwoBatches();
    const path = `${PRODUCER_WAL_DIR}/producer.json`;
    const state = JSON.parse(Buffer.from(await host.fs.readFile(path)).toString('utf8')) as { partitions: unknown[] };
    const edge = { partitions: [...state.partitions, ['other', 2 ** 53 - 1, '9223372036854775807', 2 ** 15 - 1, 2 ** 31 - 1]] };
    await host.fs.writeFile(path, new TextEncoder().encode(JSON.stringify({ ...state, ...edge })));
    const { producer } = await host.start({ maxRecords: 3 });
    await expect(producer.ready()).resolves.toBeUndefined();
    await producer.close();
  });
});
