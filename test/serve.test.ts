/**
 * `brook serve` as a user runs it: spawn the real command on a temp dir, wait for it to say it is
 * open, SIGINT it, and check it shut down cleanly (the next open finds the clean marker).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { expect, it } from 'vitest';
import { Broker } from '@brook/broker';

const MAIN = join(import.meta.dirname, '..', 'packages', 'cli', 'src', 'main.ts');

it('brook serve prints its URL and where its data lives, answers /healthz, and SIGINT shuts it down cleanly', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'brook-serve-'));
  try {
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'serve', '--data', dataDir, '--fsync', '100', '--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const lines: string[] = [];
    for await (const line of createInterface({ input: child.stdout })) {
      lines.push(line);
      if (line.startsWith('Ctrl-C')) break;
    }
    expect(lines.join('\n')).toContain(`data:   ${dataDir}`);
    expect(lines.join('\n')).toContain('fsync:  every 100 ms');
    expect(lines.join('\n')).toMatch(/crc32c: (hardware|portable)/);
    const url = /url: {4}(ws:\/\/127\.0\.0\.1:\d+)/.exec(lines.join('\n'))?.[1];
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
