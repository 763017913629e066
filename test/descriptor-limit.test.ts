/**
 * A broker process out of file descriptors, for real: the child runs under `ulimit -n`, makes
 * topics and groups until the operating system refuses one (EMFILE), and must say so with a coded,
 * retriable IO_ERROR, keep serving what is open, close cleanly, and reopen with everything
 * under the same limit; under a limit too low for what the directory holds, the open is refused
 * the same way (docs/storage.md, "Open files").
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';

const CHILD = join(import.meta.dirname, 'fixtures', 'descriptor-limit-child.ts');
const dirs: string[] = [];
afterAll(async () => Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true }))));

/** Runs the child under an open-file limit of `limit`; its one line of JSON. */
async function underLimit(limit: number, dataDir: string, mode: 'fill' | 'open'): Promise<Record<string, any>> {
  const child = spawn('bash', ['-c', 'ulimit -n "$0" && exec "$@"', String(limit), process.execPath, '--import', 'tsx', CHILD, dataDir, mode], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  expect(code, stderr).toBe(0);
  return JSON.parse(stdout) as Record<string, any>;
}

const EMFILE = { code: 'IO_ERROR', retriable: true, errno: 'EMFILE', message: expect.stringMatching(/EMFILE \(too many open files: the process's limit, ulimit -n\)$/) };

it('out of file descriptors: IO_ERROR EMFILE (retriable), what is open keeps working, a clean close, and a reopen under the same limit finds everything', async () => {
  const dataDir = join(await mkdtemp(join(tmpdir(), 'brook-nofile-')), 'data');
  dirs.push(dataDir);
  const filled = await underLimit(120, dataDir, 'fill');
  expect(filled.groups.made, 'a journal segment each: some dozens fit').toBeGreaterThan(10);
  expect(filled.groups.refused).toEqual(EMFILE);
  expect(filled.topicRefused).toEqual(EMFILE);
  expect(filled).toMatchObject({ producedAt: '0', fetched: 1, closed: true });

  expect(await underLimit(120, dataDir, 'open')).toEqual({ openedClean: true, topics: 6, groups: filled.groups.made, closed: true });
  expect(await underLimit(64, dataDir, 'open'), 'too low for what the directory holds').toEqual({ openRefused: EMFILE });
}, 30_000);
