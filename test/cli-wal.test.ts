/**
 * `brook wal forget-producer-id` as a user runs it: the real command on a WAL directory a real
 * WAL producer wrote on the real disk (to an in-process broker): it forgets the id, says there
 * is none the second time, refuses while a producer has the directory open, and refuses a
 * directory that is no WAL directory.
 */
import { brook } from './fixtures/cli-run.js';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Broker } from '@brook/broker';
import { connect, type Client } from '@brook/client';

let root: string;
let broker: Broker;
let client: Client;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'brook-cli-wal-'));
  broker = await Broker.open({ storage: 'memory' });
  client = await connect(broker);
});

afterAll(async () => {
  await client.close();
  await broker.close();
  await rm(root, { recursive: true, force: true });
});

/** A WAL directory whose producer sent one record under its id, then closed; and that id. */
async function usedWalDirectory(name: string): Promise<{ dir: string; producerId: bigint }> {
  const dir = join(root, name);
  await broker.createTopic(name, { partitions: 1 });
  const producer = client.producer({ wal: { dir } });
  await producer.send(name, [{ value: 'x' }]);
  await producer.flush();
  const producerId = producer.stats.producerId!;
  await producer.close();
  return { dir, producerId };
}

describe('brook wal forget-producer-id', () => {
  it('forgets the producer id (exit 0, naming it), then says there is none (exit 0); --json gives the same facts', async () => {
    const { dir, producerId } = await usedWalDirectory('cli-wal-forget');
    const forgot = await brook(['wal', 'forget-producer-id', dir]);
    expect(forgot).toMatchObject({ code: 0, stderr: '' });
    expect(forgot.stdout).toContain(`forgot producer id ${producerId} (epoch 0) of ${dir}`);
    expect(forgot.stdout).toContain('at-least-once, for that batch only');
    expect(await readdir(dir)).not.toContain('producer.json');
    const again = await brook(['wal', 'forget-producer-id', dir, '--json']);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toEqual({ found: 'none', removed: [] });
  });

  it('refuses LOCKED, exit 1, while a producer has the directory open, and keeps producer.json', async () => {
    const { dir } = await usedWalDirectory('cli-wal-locked');
    const producer = client.producer({ wal: { dir } });
    await producer.ready();
    try {
      const refused = await brook(['wal', 'forget-producer-id', dir]);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/^brook: LOCKED: /);
      expect(await readdir(dir)).toContain('producer.json');
    } finally {
      await producer.close();
    }
  });

  it('refuses a directory that is no WAL directory (INVALID_REQUEST, exit 1); no WAL_DIR is bad usage (exit 2)', async () => {
    const notWal = await brook(['wal', 'forget-producer-id', root]);
    expect(notWal.code).toBe(1);
    expect(notWal.stderr).toMatch(/^brook: INVALID_REQUEST: /);
    const usage = await brook(['wal', 'forget-producer-id']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('usage: brook wal forget-producer-id WAL_DIR');
  });
});
