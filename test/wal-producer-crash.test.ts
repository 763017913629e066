/**
 * Process-crash test of the WAL producer end to end: a live Brook server (broker.listen on port
 * 0, in this process) and a child process putting 1..LAST through a WAL producer into a
 * one-partition topic. The parent SIGKILLs the child at seeded random moments, 30 times: after
 * some puts (often mid-write or mid-fsync of later ones, or mid-send), or exactly between the
 * broker's acknowledgement of a WAL batch and its state write and commit (the child's afterAck
 * hook waits for the parent there). Each relaunch recovers the WAL, takes the dead child's lock
 * over, reuses its producer id and resends what was not committed with the same sequences. At
 * the end the topic holds 1..LAST exactly once, in order, and the broker did drop resends.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { launchTsx, nextKill, putNumber, runUntilKilled, type Launch } from './fixtures/crash-child.js';
import { Broker } from '@brook/broker';
import { SeededRandom } from '@brook/protocol';

const CHILD = join(import.meta.dirname, 'fixtures', 'wal-producer-child.ts');
const KILLS = 30;
const LAST = 2000;
/** The child's WAL maxRecords: an "acked" line stands for at most this many puts. */
const BATCH_RECORDS_MAX = 50;
const TOPIC = 'wal-crash';
/** Children started ahead, waiting for "go": their start-up overlaps earlier runs. */
const PRESTARTED = 2;
const dirs: string[] = [];
afterAll(async () => Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true }))));

function launch(url: string, walDir: string): Launch {
  return launchTsx(CHILD, [url, walDir, TOPIC, String(LAST), String(BATCH_RECORDS_MAX)]);
}

it(`puts 1..${LAST} into the topic exactly once in order across ${KILLS} SIGKILLs of a WAL producer`, async () => {
  const root = await mkdtemp(join(tmpdir(), 'brook-wal-producer-crash-'));
  dirs.push(root);
  const walDir = join(root, 'wal');
  const broker = await Broker.open({ storage: 'memory' });
  await broker.createTopic(TOPIC, { partitions: 1 });
  const server = await broker.listen({ port: 0, host: '127.0.0.1' });
  const random = new SeededRandom(20260514);
  let kills = 0;
  let duplicates = 0;
  let highestPut = 0;
  const ready = Array.from({ length: PRESTARTED }, () => launch(server.url, walDir));
  try {
    for (let finished = false; !finished;) {
      ready.push(launch(server.url, walDir));
      const kill = nextKill(random, { killsMax: KILLS, total: LAST, rareWord: 'acked', rareCountMax: 3, rareLineRecordsMax: BATCH_RECORDS_MAX, putsMax: 80 }, kills, highestPut);
      finished = await runUntilKilled(ready.shift()!, kill, (line, run) => {
        highestPut = Math.max(highestPut, putNumber(line) ?? 0);
        if (line.startsWith('dup ')) duplicates += 1;
        if (line.startsWith('acked ')) run.child.stdin!.write('c\n');
      });
      if (!finished) kills += 1;
    }
  } finally {
    for (const unused of ready) unused.child.kill('SIGKILL');
    await Promise.all(ready.map((unused) => unused.exited));
  }
  expect(kills).toBe(KILLS);
  expect(duplicates, 'kills between the ack and the commit must lead to resends the broker drops').toBeGreaterThan(0);

  const numbers: number[] = [];
  for (let offset = 0n; ;) {
    const records = await broker.fetch({ topic: TOPIC, partition: 0, offset, maxRecords: 10_000 });
    if (records.length === 0) break;
    numbers.push(...records.map((record) => Number(Buffer.from(record.value!).toString('utf8'))));
    offset += BigInt(records.length);
  }
  expect(numbers).toEqual(Array.from({ length: LAST }, (_, i) => i + 1));
  await server.close();
  await broker.close();
  // 30 child processes, each starting Node and tsx: ~36 s on an idle 2-core machine, up to ~60 s
  // when other work shares it (seen with four test suites at once).
}, 150_000);
