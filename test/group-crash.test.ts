/**
 * Process-crash test of a consumer group's state on a real disk: a child acks a topic's records
 * one at a time with fsync 'always' and the smallest group journal (4 KiB, so every few dozen acks
 * a compaction writes state.json and switches journal generations, behind the journal), and is
 * SIGKILLed at seeded random moments, ten times. Each relaunch recovers the group. No record whose
 * ack resolved is ever delivered again, every record is acked in the end, and the journal went
 * through many generations (the kills landed around compactions).
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { Broker } from '@brook/broker';
import { SeededRandom } from '@brook/protocol';
import { launchTsx, runUntilKilled, type Launch } from './fixtures/crash-child.js';

const CHILD = join(import.meta.dirname, 'fixtures', 'group-acker.ts');
const KILLS = 10;
const RECORDS = 1000;
/** Most acks a run gets before its kill: ten runs use at most half the records. */
const ACKS_PER_RUN_MAX = 50;
const dirs: string[] = [];
afterAll(async () => Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true }))));

it(`keeps every confirmed ack of a compacting group across ${KILLS} SIGKILLs`, async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'brook-group-crash-'));
  dirs.push(dataDir);
  const random = new SeededRandom(20261122);
  const launch = (): Launch => launchTsx(CHILD, [dataDir, String(RECORDS)]);
  const confirmed = new Set<string>();
  const redelivered: string[] = [];
  let kills = 0;
  const ready = [launch()];
  let run: Launch | undefined;
  for (let finished = false; !finished;) {
    ready.push(launch());
    const kill = kills < KILLS ? { word: 'tick', count: 1 + random.int(ACKS_PER_RUN_MAX) } : undefined;
    run = ready.shift()!;
    finished = await runUntilKilled(run, kill, (line) => {
      const [word, offset] = line.split(' ');
      if (word === 'delivered' && confirmed.has(offset!)) redelivered.push(offset!);
      if (word === 'acked') confirmed.add(offset!);
    });
    if (!finished) kills += 1;
  }
  for (const unused of ready) unused.child.kill('SIGKILL');
  await Promise.all([...ready.map((unused) => unused.exited), run!.exited]);

  expect(kills).toBe(KILLS);
  expect(redelivered, 'records whose ack had resolved, delivered again').toEqual([]);
  // Acks the parent saw (a killed child may have printed more than the parent read before the kill).
  expect(confirmed.size).toBeGreaterThan(RECORDS / 2);
  const broker = await Broker.open({ dataDir });
  try {
    expect(broker.describeGroup('acks', 'g')).toMatchObject({ lag: 0n, partitions: [{ ackFloor: BigInt(RECORDS) }] });
  } finally {
    await broker.close();
  }
  const state = JSON.parse(await readFile(join(dataDir, 'groups', 'acks', 'g', 'state.json'), 'utf8')) as { generation: number };
  expect(state.generation, 'journal generations (compactions)').toBeGreaterThan(KILLS);
}, 120_000);
