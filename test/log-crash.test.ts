/**
 * Process-crash test on a real disk: a child process produces with fsync 'always' and is
 * SIGKILLed at seeded random moments, ten times over the same data directory. Afterwards every
 * record whose produce resolved is at the offset it was given, offsets are contiguous, and the
 * broker opened unclean every time (the clean-shutdown marker was never written).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, expect, it } from 'vitest';
import { Broker } from '@brook/broker';
import { SeededRandom } from '@brook/protocol';

const CHILD = join(import.meta.dirname, 'fixtures', 'log-producer.ts');
const KILLS = 10;
const dirs: string[] = [];
afterAll(async () => Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true }))));

interface Ack { partition: number; offset: bigint; value: string }

/** Runs the child until it has acknowledged `ackCount` records, then SIGKILLs it. */
async function runAndKill(dataDir: string, firstValue: number, ackCount: number): Promise<{ acks: Ack[]; openedClean: boolean }> {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, dataDir, String(firstValue)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const acks: Ack[] = [];
  let openedClean = true;
  for await (const line of createInterface({ input: child.stdout })) {
    const [word, a, b, c] = line.split(' ');
    if (word === 'ready') openedClean = a === 'true';
    if (word === 'ack') acks.push({ partition: Number(a), offset: BigInt(b!), value: c! });
    if (acks.length >= ackCount) {
      child.kill('SIGKILL');
      break;
    }
  }
  await exited;
  if (acks.length < ackCount) throw new Error(`child exited early after ${acks.length} acks: ${stderr}`);
  return { acks, openedClean };
}

it(`keeps every acknowledged record across ${KILLS} SIGKILLs of a producing broker`, async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'brook-crash-'));
  dirs.push(dataDir);
  const random = new SeededRandom(20261122);
  const acked: Ack[] = [];
  let firstValue = 0;
  for (let kill = 0; kill < KILLS; kill++) {
    const { acks, openedClean } = await runAndKill(dataDir, firstValue, 50 + random.int(1500));
    if (kill > 0) expect(openedClean).toBe(false);
    acked.push(...acks);
    firstValue += 1_000_000; // values unique across runs; unacknowledged ones may or may not be in the log
  }

  const broker = await Broker.open({ dataDir, fsync: 'always' });
  expect(broker.openedClean).toBe(false);
  const byPartition = new Map<number, Map<bigint, string>>();
  for (const { partition, endOffset, startOffset } of broker.describeTopic('crash').partitions) {
    expect(startOffset).toBe(0n);
    const records = new Map<bigint, string>();
    for (let offset = 0n; offset < endOffset;) {
      const page = await broker.fetch({ topic: 'crash', partition, offset, maxRecords: 5000 });
      page.forEach((record, i) => expect(record.offset).toBe(offset + BigInt(i)));
      for (const record of page) records.set(record.offset, new TextDecoder().decode(record.value!));
      offset += BigInt(page.length);
    }
    byPartition.set(partition, records);
  }
  for (const ack of acked) expect(byPartition.get(ack.partition)!.get(ack.offset)).toBe(ack.value);
  await broker.close();
}, 120_000);
