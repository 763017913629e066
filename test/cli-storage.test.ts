/**
 * `brook dump` and `brook verify` as a user runs them: the real command on a data directory a
 * real broker wrote, before and after a byte of it is damaged.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Broker } from '@brook/broker';
import { brook } from './fixtures/cli-run.js';

let dataDir: string;
let partitionDir: string;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'brook-cli-storage-'));
  const broker = await Broker.open({ dataDir, segmentBytesMax: 4096 });
  await broker.createTopic('cli-orders', { partitions: 1 });
  for (let i = 0; i < 30; i++) await broker.produce('cli-orders', [{ key: `user-${i}`, value: `order ${i} ${'x'.repeat(150)}` }]);
  await broker.close();
  partitionDir = join(dataDir, 'topics', 'cli-orders', '0');
});

afterAll(() => rm(dataDir, { recursive: true, force: true }));

describe('brook verify and brook dump', () => {
  it('verify says a healthy data dir has no problem, exit 0', async () => {
    const { code, stdout } = await brook(['verify', dataDir]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^ok {2}topics\/cli-orders\/0 {2}\d+ segments, 30 batches, 30 records$/m);
    // One log: "1 log", not "1 logs".
    expect(stdout).toMatch(/^0 problems in 1 log$/m);
  });

  it('dump prints batches, index entries and, with --records, the records', async () => {
    const { code, stdout } = await brook(['dump', partitionDir, '--records']);
    expect(code).toBe(0);
    expect(stdout).toContain('00000000000000000000.log');
    expect(stdout).toMatch(/@0 {2}offsets 0\.\.0 \(1 records\)/);
    expect(stdout).toContain('key="user-0"');
    expect(stdout).toMatch(/offset 0 -> @0/);
    const json = JSON.parse((await brook(['dump', join(partitionDir, '00000000000000000000.log'), '--json'])).stdout);
    expect(json[0].batches[0]).toMatchObject({ position: 0, baseOffset: '0', recordCount: 1 });
  });

  it('after a byte flips, verify and dump name the file and byte position, exit 1', async () => {
    const [first] = (await readdir(partitionDir)).filter((name) => name.endsWith('.log')).sort();
    const file = join(partitionDir, first!);
    const bytes = await readFile(file);
    const secondBatchAt = bytes.readInt32BE(8) + 12;
    bytes[secondBatchAt + 70]! ^= 0xff;
    await writeFile(file, bytes);
    const verified = await brook(['verify', dataDir]);
    expect(verified.code).toBe(1);
    expect(verified.stdout).toContain(`problem: topics/cli-orders/0/${first} @${secondBatchAt} bad-crc`);
    const dumped = await brook(['dump', file]);
    expect(dumped.code).toBe(1);
    expect(dumped.stdout).toContain(`BAD @${secondBatchAt} bad-crc`);
  });

  it('verify of a directory that is no data directory (empty, a producer WAL) says so, exit 1, instead of passing it as healthy', async () => {
    const notData = await mkdtemp(join(tmpdir(), 'brook-cli-not-data-'));
    try {
      const empty = await brook(['verify', notData]);
      expect(empty.code).toBe(1);
      expect(empty.stdout).toMatch(/^problem: \. @0 not-a-data-dir: no topics\/ directory/m);
      await writeFile(join(notData, 'wal-00000000000000000000.seg'), Buffer.from('BWAL'));
      expect((await brook(['verify', notData])).code).toBe(1);
    } finally {
      await rm(notData, { recursive: true, force: true });
    }
  });

  it('bad usage exits 2 with the usage on stderr', async () => {
    const { code, stderr } = await brook(['verify']);
    expect(code).toBe(2);
    expect(stderr).toContain('usage: brook verify DATA_DIR');
  });

  it('dump of a path that is no partition directory or segment file says what dump reads, exit 2', async () => {
    const expected = 'dump reads a partition directory (e.g. .brook-data/topics/orders/0) or one .log, .index or .timeindex file';
    const metadata = join(dataDir, 'topics', 'cli-orders', 'topic.json');
    const file = await brook(['dump', metadata]);
    expect(file.code).toBe(2);
    expect(file.stderr).toContain(`brook: INVALID_CONFIG: ${expected}; ${metadata} is neither`);
    const directory = await brook(['dump', dataDir]);
    expect(directory.code).toBe(2);
    expect(directory.stderr).toContain(`brook: INVALID_CONFIG: ${expected}; ${dataDir} holds no segment files`);
  });
});

it('the package bin (packages/cli/bin/brook.mjs) runs the same command', async () => {
  const bin = join(import.meta.dirname, '..', 'packages', 'cli', 'bin', 'brook.mjs');
  const run = await new Promise<{ code: number; stdout: string }>((resolve) => {
    execFile(process.execPath, [bin, 'verify', dataDir, '--json'], (error, stdout) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout }));
  });
  expect(run.code).toBe(1); // the earlier test flipped a byte
  expect(JSON.parse(run.stdout).problems[0]).toMatchObject({ reason: 'bad-crc' });
});
