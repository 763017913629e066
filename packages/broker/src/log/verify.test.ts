import { crc32c, MemoryFileSystem } from '@brook/protocol';
import { describe, expect, it } from 'vitest';
import { Broker } from '../broker.js';
import { inspectIndex, inspectLog, type InspectedBatch } from './inspect.js';
import { batchOf, LOG_DIR, logFixture, recordingReadsOf } from './log-fixture.js';
import { writeLogStart } from './log-start.js';
import { segmentPath } from './segment-files.js';
import { verifyDataDir, verifyLogDir } from './verify.js';

const DATA = '/data';

/** A broker that writes a few sealed segments per partition (4 KiB segments) and closes cleanly. */
async function writtenDataDir(): Promise<MemoryFileSystem> {
  const fs = new MemoryFileSystem();
  const broker = await Broker.open({ dataDir: DATA, fs, segmentBytesMax: 4096, indexIntervalBytes: 256 });
  await broker.createTopic('orders', { partitions: 2 });
  await broker.createTopic('orders.dlq');
  for (let i = 0; i < 60; i++) await broker.produce('orders', [{ key: `k${i}`, value: 'v'.repeat(200) }]);
  await broker.produce('orders.dlq', [{ value: 'dead' }]);
  await broker.close();
  return fs;
}

async function segmentLogs(fs: MemoryFileSystem, partition: number): Promise<string[]> {
  const dir = `${DATA}/topics/orders/${partition}`;
  return (await fs.readdir(dir)).filter((name) => name.endsWith('.log')).map((name) => `${dir}/${name}`);
}

async function mutate(fs: MemoryFileSystem, path: string, change: (bytes: Uint8Array) => Uint8Array): Promise<void> {
  await fs.writeFile(path, change((await fs.readFile(path)).slice()));
}

describe('verifyDataDir', () => {
  it('finds nothing wrong in what a broker wrote, and counts every record', async () => {
    const fs = await writtenDataDir();
    const result = await verifyDataDir(fs, DATA);
    expect(result.problems).toEqual([]);
    const topicDirs = result.logDirs.filter((dir) => dir.dir.includes('/topics/'));
    expect(topicDirs.map((dir) => dir.dir).sort()).toEqual([`${DATA}/topics/orders.dlq/0`, `${DATA}/topics/orders/0`, `${DATA}/topics/orders/1`]);
    expect(topicDirs.reduce((sum, dir) => sum + dir.records, 0)).toBe(61);
    expect(topicDirs.filter((dir) => dir.dir.includes('/orders/')).every((dir) => dir.segments > 1)).toBe(true);
  });

  it('names the file and byte position of a bad CRC in a sealed segment', async () => {
    const fs = await writtenDataDir();
    const [first] = await segmentLogs(fs, 0);
    const { batches } = await inspectLog(fs, first!);
    const second = batches[1]!;
    await mutate(fs, first!, (bytes) => ((bytes[second.position + 70]! ^= 0xff), bytes));
    const { problems } = await verifyDataDir(fs, DATA);
    expect(problems).toEqual([expect.objectContaining({ file: first, position: second.position, reason: 'bad-crc' })]);
  });

  it('reports a torn tail of the last segment as truncated (recovery would cut it)', async () => {
    const fs = await writtenDataDir();
    const last = (await segmentLogs(fs, 1)).at(-1)!;
    const size = (await fs.readFile(last)).length;
    await mutate(fs, last, (bytes) => bytes.subarray(0, size - 5));
    const { problems } = await verifyDataDir(fs, DATA);
    expect(problems).toEqual([expect.objectContaining({ file: last, reason: 'truncated', detail: expect.stringContaining(`the file ends at ${size - 5}`) })]);
  });

  /** Changes the second batch of partition 0's first segment by `edit`, and makes its CRC right again. */
  async function editedSecondBatch(edit: (view: DataView, batch: InspectedBatch) => void) {
    const fs = await writtenDataDir();
    const [first] = await segmentLogs(fs, 0);
    const second = (await inspectLog(fs, first!)).batches[1]!;
    await mutate(fs, first!, (bytes) => {
      const view = new DataView(bytes.buffer, bytes.byteOffset);
      edit(view, second);
      view.setUint32(second.position + 17, crc32c(bytes, second.position + 21, second.position + second.sizeBytes));
      return bytes;
    });
    return { fs, file: first!, second };
  }

  it("reports a stored batch whose header maxTimestamp is not its largest record's timestamp as bad-header, CRC made right (the produce check the log relies on)", async () => {
    // Lower, so that the time index it fed still holds: only the header disagrees with its record.
    const { fs, file: first, second } = await editedSecondBatch((view, batch) => view.setBigInt64(batch.position + 35, BigInt(batch.maxTimestampMs - 1)));
    const { problems, logDirs } = await verifyDataDir(fs, DATA);
    expect(problems).toEqual([expect.objectContaining({
      file: first, position: second.position, reason: 'bad-header', detail: expect.stringContaining(`maxTimestamp ${second.maxTimestampMs - 1}`),
    })]);
    // The batches after it are still read and counted: a header is no reason to stop, as recovery does not.
    expect(logDirs.filter((dir) => dir.dir.includes('/topics/orders/')).reduce((sum, dir) => sum + dir.records, 0)).toBe(60);
  });

  it('reports a stored batch whose CRC holds but whose record does not parse as bad-record', async () => {
    // The record's length (a zigzag varint, one byte here) one byte short.
    const { fs, file, second } = await editedSecondBatch((view, batch) => view.setUint8(batch.position + 61, view.getUint8(batch.position + 61) - 2));
    const { problems } = await verifyDataDir(fs, DATA);
    expect(problems).toEqual([expect.objectContaining({ file, position: second.position, reason: 'bad-record' })]);
  });

  it('reports an index entry that points at the wrong position, and a missing index of a sealed segment', async () => {
    const fs = await writtenDataDir();
    const [first, second] = await segmentLogs(fs, 0);
    const index = first!.replace(/\.log$/, '.index');
    await mutate(fs, index, (bytes) => ((bytes[7]! += 1), bytes));
    await fs.unlink(second!.replace(/\.log$/, '.timeindex'));
    const { problems } = await verifyDataDir(fs, DATA);
    expect(problems).toEqual([
      expect.objectContaining({ file: index, position: 0, reason: 'index-mismatch' }),
      expect.objectContaining({ file: second!.replace(/\.log$/, '.timeindex'), reason: 'missing-index' }),
    ]);
  });

  it.each([
    ['a length that is not whole entries', (bytes: Uint8Array) => Uint8Array.of(...bytes, 0, 0, 0)],
    ['a key that repeats the one before', (bytes: Uint8Array) => (bytes.copyWithin(8, 0, 4), bytes)],
    ['a position before the one before', (bytes: Uint8Array) => (bytes.copyWithin(20, 4, 8), bytes)],
  ])('reports an index file with %s as bad-index, not as entries to check', async (_name, damage) => {
    const fs = await writtenDataDir();
    const index = (await segmentLogs(fs, 0))[0]!.replace(/\.log$/, '.index');
    expect((await fs.readFile(index)).length, 'three entries at least').toBeGreaterThanOrEqual(24);
    await mutate(fs, index, damage);
    const { problems } = await verifyDataDir(fs, DATA);
    expect(problems).toEqual([expect.objectContaining({ file: index, position: 0, reason: 'bad-index' })]);
  });

  it.each([
    ['past any batch', 0x7fff_ffff],
    ['negative', -100],
    ['just short of a header', -5],
  ])("reports a batch whose length is damaged to one %s as bad-length at that batch, not a torn tail", async (_name, length) => {
    const fs = await writtenDataDir();
    const [first] = await segmentLogs(fs, 0);
    const second = (await inspectLog(fs, first!)).batches[1]!;
    await mutate(fs, first!, (bytes) => (new DataView(bytes.buffer, bytes.byteOffset).setInt32(second.position + 8, length), bytes));
    const { problems } = await verifyDataDir(fs, DATA);
    expect(problems).toEqual([expect.objectContaining({ file: first, position: second.position, reason: 'bad-length' })]);
  });

  it('reports a log file that shrinks while it is read (an open cutting a torn tail meanwhile) as truncated where it now ends, not as the batches read before', async () => {
    const fixture = logFixture();
    const log = await fixture.open();
    for (let i = 0; i < 10; i++) await log.append(batchOf(`b${i}`, 1, undefined, 10_000)); // ~100 KiB: two reads
    await log.close();
    const path = segmentPath(LOG_DIR, 0n, '.log');
    const whole = await inspectLog(fixture.fs, path);
    // The file is cut where the scan's second read starts: that read finds nothing, while its
    // buffer still holds the batches of the first.
    const reads = recordingReadsOf(fixture.fs, (file) => file === path, async (read) => {
      if (read.position === 0) return;
      const file = await fixture.fs.open(path, 'rw');
      await file.truncate(read.position);
      await file.close();
    });
    const cut = await inspectLog(reads.fs, path);
    const at = reads.reads[1]!.position;
    expect(cut.batches).toEqual(whole.batches.filter((batch) => batch.position < at));
    expect(cut.problem).toMatchObject({ file: path, position: at, reason: 'truncated', detail: expect.stringContaining(`read 0 of`) });
  });

  it('checks every entry of an index with one per batch, however many', async () => {
    const fixture = logFixture({ indexIntervalBytes: 1 });
    const log = await fixture.open();
    for (let i = 0; i < 100; i++) await log.append(batchOf(`b${i}`, 2));
    await log.close();
    expect((await inspectIndex(fixture.fs, segmentPath(LOG_DIR, 0n, '.index'))).entries.map((entry) => entry.key)).toEqual(Array.from({ length: 100 }, (_, i) => 2 * i));
    expect((await verifyLogDir(fixture.fs, LOG_DIR)).problems).toEqual([]);
  });

  it('says a missing index file of the segment before the last is a seal cut short, not damage', async () => {
    const fs = await writtenDataDir();
    const logs = (await segmentLogs(fs, 0)).sort();
    const beforeLast = logs.at(-2)!.replace(/\.log$/, '.timeindex');
    await fs.unlink(beforeLast);
    const { problems } = await verifyDataDir(fs, DATA);
    expect(problems).toEqual([expect.objectContaining({ file: beforeLast, reason: 'missing-index', detail: expect.stringContaining('seal did not finish') })]);
  });

  it('reports offsets that break the sequence across segments', async () => {
    const fs = await writtenDataDir();
    const [, second] = await segmentLogs(fs, 0);
    const shifted = second!.replace(/\d{20}\.log$/, (name) => `${(BigInt(name.slice(0, 20)) + 1n).toString().padStart(20, '0')}.log`);
    await fs.rename(second!, shifted);
    const { problems } = await verifyDataDir(fs, DATA);
    expect(problems[0]).toEqual(expect.objectContaining({ file: shifted, position: 0, reason: 'bad-offset' }));
  });

  it('reports a metadata file that is not JSON', async () => {
    const fs = await writtenDataDir();
    await fs.writeFile(`${DATA}/topics/orders/topic.json`, new TextEncoder().encode('{"partitions": 2'));
    const { problems } = await verifyDataDir(fs, DATA);
    expect(problems).toEqual([expect.objectContaining({ file: `${DATA}/topics/orders/topic.json`, reason: 'bad-metadata' })]);
  });

  it('skips the segments wholly below log-start.json (an open deletes them), and reports one that fails validation', async () => {
    const fs = await writtenDataDir();
    const [, second, third] = await segmentLogs(fs, 0);
    // What a retention leaves when the first segment's unlink failed: a hole after it.
    await fs.unlink(second!);
    const start = BigInt(third!.match(/(\d{20})\.log$/)![1]!);
    await writeLogStart(fs, `${DATA}/topics/orders/0`, start);
    expect((await verifyDataDir(fs, DATA)).problems).toEqual([]);
    await fs.writeFile(`${DATA}/topics/orders/0/log-start.json`, new TextEncoder().encode('{"version":1,"startOffset":7}'));
    const { problems } = await verifyDataDir(fs, DATA);
    expect(problems[0]).toEqual(expect.objectContaining({ file: `${DATA}/topics/orders/0/log-start.json`, reason: 'bad-metadata' }));
    expect(problems).toContainEqual(expect.objectContaining({ file: third, reason: 'bad-offset' }));
  });
});
