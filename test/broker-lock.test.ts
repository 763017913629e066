/**
 * One broker per data directory: a second open gets LOCKED naming the holder; a clean close
 * releases the lock; a lock left by a killed process is taken over.
 */
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { Broker, DATA_DIR_LOCK } from '@brook/broker';

const dirs: string[] = [];
afterAll(() => Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true }))));

async function dataDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'brook-lock-'));
  dirs.push(dir);
  return dir;
}

it('refuses a second broker on the same data directory with LOCKED, and lets one in after close', async () => {
  const dir = await dataDir();
  const first = await Broker.open({ dataDir: dir });
  await expect(Broker.open({ dataDir: dir })).rejects.toMatchObject({ code: 'LOCKED', details: { pid: process.pid, hostname: hostname() } });
  await first.close();
  const second = await Broker.open({ dataDir: dir });
  expect(second.openedClean).toBe(true);
  await second.close();
});

it('takes over the lock of a process that died holding it', async () => {
  const dir = await dataDir();
  const dead = spawnSync(process.execPath, ['-e', 'process.exit(0)']).pid!;
  await mkdir(join(dir, DATA_DIR_LOCK), { recursive: true });
  await writeFile(join(dir, DATA_DIR_LOCK, 'owner'), JSON.stringify({ pid: dead, hostname: hostname() }));
  const broker = await Broker.open({ dataDir: dir });
  await broker.close();
});

it('LOCKED by a broker of this very process says so and what to do: close it before opening the directory again', async () => {
  const dir = await dataDir();
  const first = await Broker.open({ dataDir: dir });
  const error = await Broker.open({ dataDir: dir }).catch((caught: unknown) => caught);
  expect(error).toMatchObject({ code: 'LOCKED', message: expect.stringContaining('held by this process') });
  expect((error as Error).message).toContain('close');
  await first.close();
});

it('await using closes the broker at the end of its block, releasing the lock', async () => {
  const dir = await dataDir();
  {
    await using broker = await Broker.open({ dataDir: dir });
    await broker.createTopic('orders');
  }
  const again = await Broker.open({ dataDir: dir });
  expect(again.openedClean).toBe(true);
  expect(again.listTopics()).toEqual(['orders']);
  await again.close();
});
