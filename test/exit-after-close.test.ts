/**
 * A process that closed its brokers and clients exits by itself: nothing Brook leaves behind (a
 * timer on the client's keep-alive clock, a socket, a file handle) holds it. What a developer who
 * opens a broker per test, or runs a script against `brook serve`, relies on. Each scenario runs
 * in a child process (fixtures/exit-after-close-child.ts) that must exit within a deadline after
 * printing `closed`.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';

const CHILD = join(import.meta.dirname, 'fixtures', 'exit-after-close-child.ts');
/** Generous for a loaded machine; what it catches (lingerMs, a backoff, a lease) is a minute. */
const EXIT_DEADLINE_MS = 10_000;
const dirs: string[] = [];
afterAll(async () => Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true }))));

async function exitsAfterClose(scenario: string): Promise<{ code: number | null; output: string; closed: boolean }> {
  const dir = await mkdtemp(join(tmpdir(), 'brook-exit-'));
  dirs.push(dir);
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, scenario, dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  // Kept apart: `closed` is looked for in stdout alone, where a chunk of stderr (a warning split
  // across pipe reads) cannot land in the middle of its line.
  let stdout = '';
  let stderr = '';
  let kill: NodeJS.Timeout | undefined;
  const printedClosed = () => stdout.split('\n').includes('closed');
  // The deadline runs from `closed`, not from the spawn: starting tsx and opening brokers on a
  // loaded machine took 8-10 s of a deadline that counted them, and the test failed for it.
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    if (kill === undefined && printedClosed()) kill = setTimeout(() => child.kill('SIGKILL'), EXIT_DEADLINE_MS);
  });
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  // 'close', not 'exit': 'exit' may come before the last of stdout is read (Node's docs say the
  // stdio streams may still be open), and a loaded machine once lost `closed` that way.
  const code = await new Promise<number | null>((resolve) => child.on('close', (exitCode) => resolve(exitCode)));
  clearTimeout(kill);
  return { code, output: `stdout:\n${stdout}\nstderr:\n${stderr}`, closed: printedClosed() };
}

it.concurrent.each(['brokers', 'clients', 'reconnecting', 'neverConnected', 'walProducerBrokerGone'])(
  'a process that closed everything exits by itself: %s',
  { timeout: EXIT_DEADLINE_MS + 50_000 },
  async (scenario) => {
    const { code, output, closed } = await exitsAfterClose(scenario);
    expect({ code, closed }, output).toEqual({ code: 0, closed: true });
  },
);
