/**
 * Process-crash test on a real disk: a child puts 1..LAST into a FileBuffer (fsync 'always')
 * while draining it into a sink file, and is SIGKILLed at seeded random moments, 30 times:
 * after some puts (often mid-write or mid-fsync of later ones) or right after a sink append
 * (between the append and the commit). Each relaunch recovers the WAL, takes the dead child's
 * lock over, resumes after the newest durable number, and resends what was not committed with
 * the same batch sequences. At the end the sink holds 1..LAST exactly once, in order.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, expect, it } from 'vitest';
import { SeededRandom } from '@brook/protocol';

const CHILD = join(import.meta.dirname, 'fixtures', 'wal-producer.ts');
const KILLS = 30;
const LAST = 3000;
/** Children started ahead, waiting for "go": their start-up (~0.5 s of node + tsx) overlaps earlier runs. */
const PRESTARTED = 2;
const dirs: string[] = [];
afterAll(async () => Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true }))));

interface Launch {
  readonly child: ChildProcess;
  readonly exited: Promise<void>;
  readonly stderr: () => string;
}

function launch(walDir: string, sinkPath: string): Launch {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, walDir, sinkPath, String(LAST)], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return { child, exited: new Promise((resolve) => child.on('exit', () => resolve())), stderr: () => stderr };
}

/** Lets the child start; kills it at the `count`th line starting with `word`. Returns true if it finished instead. */
async function runUntil(run: Launch, kill: { word: string; count: number } | undefined, onResent: () => void): Promise<boolean> {
  run.child.stdin!.write('go\n');
  let seen = 0;
  for await (const line of createInterface({ input: run.child.stdout! })) {
    if (line === 'done') return true;
    if (line.startsWith('resent ')) onResent();
    if (kill && line.startsWith(`${kill.word} `) && ++seen === kill.count) {
      run.child.kill('SIGKILL');
      break;
    }
  }
  await run.exited;
  if (kill === undefined || seen < kill.count) throw new Error(`child exited early (${seen} ${kill?.word ?? ''} lines): ${run.stderr()}`);
  return false;
}

it(`delivers 1..${LAST} exactly once in order across ${KILLS} SIGKILLs of a WAL producer`, async () => {
  const root = await mkdtemp(join(tmpdir(), 'brook-wal-crash-'));
  dirs.push(root);
  const walDir = join(root, 'wal');
  const sinkPath = join(root, 'sink.txt');
  const random = new SeededRandom(20261123);
  let kills = 0;
  let resent = 0;
  const ready = Array.from({ length: PRESTARTED }, () => launch(walDir, sinkPath));
  for (let finished = false; !finished;) {
    ready.push(launch(walDir, sinkPath));
    const kill = kills < KILLS ? (random.int(3) === 0 ? { word: 'sunk', count: 1 + random.int(4) } : { word: 'put', count: 1 + random.int(60) }) : undefined;
    finished = await runUntil(ready.shift()!, kill, () => (resent += 1));
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
