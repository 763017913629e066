/**
 * Process-crash test on a real disk: a child puts 1..LAST into a FileBuffer (fsync 'always')
 * while draining it into a sink file, and is SIGKILLed at seeded random moments, 30 times:
 * after some puts (often mid-write or mid-fsync of later ones) or right after a sink append
 * (between the append and the commit). Each relaunch recovers the WAL, takes the dead child's
 * lock over, resumes after the newest durable number, and resends what was not committed with
 * the same batch sequences. At the end the sink holds 1..LAST exactly once, in order.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { launchTsx, nextKill, permitFor, putNumber, runUntilKilled, type Launch } from './fixtures/crash-child.js';
import { SeededRandom } from '@brook/protocol';

const CHILD = join(import.meta.dirname, 'fixtures', 'wal-producer.ts');
const KILLS = 30;
const LAST = 3000;
/** The child's FileBuffer maxRecords: a "sunk" line stands for at most this many puts. */
const BATCH_RECORDS_MAX = 20;
/** Children started ahead, waiting for "go": their start-up (~0.5 s of node + tsx) overlaps earlier runs. */
const PRESTARTED = 2;
const dirs: string[] = [];
afterAll(async () => Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true }))));

function launch(walDir: string, sinkPath: string): Launch {
  return launchTsx(CHILD, [walDir, sinkPath, String(LAST), String(BATCH_RECORDS_MAX)]);
}

it(`delivers 1..${LAST} exactly once in order across ${KILLS} SIGKILLs of a WAL producer`, async () => {
  const root = await mkdtemp(join(tmpdir(), 'brook-wal-crash-'));
  dirs.push(root);
  const walDir = join(root, 'wal');
  const sinkPath = join(root, 'sink.txt');
  const random = new SeededRandom(20261123);
  let kills = 0;
  let resent = 0;
  let highestPut = 0;
  const ready = Array.from({ length: PRESTARTED }, () => launch(walDir, sinkPath));
  for (let finished = false; !finished;) {
    ready.push(launch(walDir, sinkPath));
    const kill = nextKill(random, { killsMax: KILLS, total: LAST, rareWord: 'sunk', rareCountMax: 4, rareLineRecordsMax: BATCH_RECORDS_MAX, putsMax: 60 }, kills, highestPut);
    finished = await runUntilKilled(ready.shift()!, kill, (line, run) => {
      highestPut = Math.max(highestPut, putNumber(line) ?? 0);
      permitFor(line, run);
      if (line.startsWith('resent ')) resent += 1;
    });
    if (!finished) kills += 1;
  }
  for (const unused of ready) unused.child.kill('SIGKILL');
  await Promise.all(ready.map((unused) => unused.exited));
  expect(kills).toBe(KILLS);
  expect(resent, 'kills between a sink append and its commit must lead to resends').toBeGreaterThan(0);

  const lines = (await readFile(sinkPath, 'utf8')).split('\n').filter((line) => line !== '');
  const sequences = lines.map((line) => Number(line.split(' ')[0]));
  expect(sequences).toEqual(sequences.map((_, i) => i));
  const numbers = lines.flatMap((line) => line.split(' ')[1]!.split(',').map(Number));
  expect(numbers).toEqual(Array.from({ length: LAST }, (_, i) => i + 1));
}, 60_000);
