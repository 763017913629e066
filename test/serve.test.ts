/**
 * `brook serve` as a user runs it: spawn the real command on a temp dir, wait for it to say it is
 * open, SIGINT it, and check it shut down cleanly (the next open finds the clean marker).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { Broker } from '@brook/broker';
import { connect } from '@brook/client';
import { serveBanner } from './fixtures/cli-run.js';

const MAIN = join(import.meta.dirname, '..', 'packages', 'cli', 'src', 'main.ts');

it('brook serve prints its URL and where its data lives, answers /healthz, and SIGINT shuts it down cleanly', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'brook-serve-'));
  try {
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'serve', '--data', dataDir, '--fsync', '100', '--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const banner = await serveBanner(child.stdout);
    expect(banner).toContain(`data:   ${dataDir}`);
    expect(banner).toContain('fsync:  every 100 ms');
    expect(banner).toMatch(/crc32c: (hardware|portable)/);
    const url = /url: {4}(ws:\/\/127\.0\.0\.1:\d+)/.exec(banner)?.[1];
    expect(url).toBeDefined();
    const health = await fetch(`${url!.replace('ws:', 'http:')}/healthz`);
    expect(health.status).toBe(200);
    child.kill('SIGINT');
    expect(await exited).toBe(0);
    const broker = await Broker.open({ dataDir });
    expect(broker.openedClean).toBe(true);
    await broker.close();
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
}, 30_000);

it('brook serve says on stderr when a log fails (here: its partition directory removed under it, so a roll cannot create its next segment), and keeps serving', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'brook-serve-failed-'));
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'serve', '--data', dataDir, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const banner = await serveBanner(child.stdout);
    const url = /url: {4}(ws:\/\/127\.0\.0\.1:\d+)/.exec(banner)![1]!;
    const client = await connect(url);
    try {
      // maxBytes 16 KiB: segments of 4 KiB, so the fifth record of 1000 bytes rolls.
      await client.admin.createTopic('removed', { retention: { maxBytes: 16 * 1024 } });
      const producer = client.producer({ deliveryTimeoutMs: 1000 });
      await producer.send('removed', [{ value: 'first' }]); // its producer state loaded: later sends go to the log
      await rm(join(dataDir, 'topics', 'removed', '0'), { recursive: true });
      for (let i = 0; i < 5; i++) await producer.send('removed', [{ value: 'x'.repeat(1000) }]).catch(() => undefined);
      await expect.poll(() => stderr, { timeout: 5000 }).toMatch(
        /^brook: partition 0 of topic removed refuses writes until the broker restarts: IO_ERROR: log .* failed and must be reopened: IO_ERROR: open .*\.log failed: ENOENT$/m,
      );
      expect((await fetch(`${url.replace('ws:', 'http:')}/healthz`)).status).toBe(503);
      expect(await client.admin.listTopics(), 'still serving').toContain('removed');
    } finally {
      await client.close();
    }
    child.kill('SIGINT');
    await exited;
  } finally {
    child.kill('SIGKILL');
    await rm(dataDir, { recursive: true, force: true });
  }
}, 30_000);
