/**
 * `brook serve` as a user sees it on the terminal: what it says about an in-memory broker, a
 * port that is taken, a host others can reach with no token, and a Ctrl-C while the broker is
 * still opening. (Serving a data dir and
 * its clean shutdown: test/serve.test.ts.)
 */
import { execFile } from 'node:child_process';
import { mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import WebSocket from 'ws';
import { expect, it } from 'vitest';
import { Broker } from '@brook/broker';
import { brook, finished, serveBanner, startBrook, stderrMatch, stdoutLines } from './fixtures/cli-run.js';

it('serve --memory says nothing is written (no fsync or recovery lines); a second serve on its port is IO_ERROR, exit 1, no stack', async () => {
  const first = startBrook(['serve', '--memory', '--port', '0']);
  const done = finished(first);
  try {
    const banner = await serveBanner(first.stdout);
    expect(banner).toContain('data:   memory (nothing is written to disk');
    expect(banner).not.toMatch(/fsync:|recovery:/);
    const port = /url: +ws:\/\/127\.0\.0\.1:(\d+)/.exec(banner)?.[1];
    expect(port).toBeDefined();

    const second = await brook(['serve', '--memory', '--port', port!]);
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(new RegExp(`^brook: IO_ERROR: cannot listen on 127\\.0\\.0\\.1:${port}: EADDRINUSE, the port is in use`));
    expect(second.stderr).not.toMatch(/^\s+at /m);
  } finally {
    first.kill('SIGINT');
  }
  expect((await done).code).toBe(0);
}, 30_000);

it('a Ctrl-C while the broker is opening ends in a clean close and exit 0, not a listen on the closing broker (CLOSED, exit 1)', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'brook-serve-opening-'));
  try {
    const setUp = await Broker.open({ dataDir });
    await setUp.createTopic('serve-opening');
    await setUp.close();
    // The open reads topic.json: as a FIFO, it holds the open until this test writes it.
    const topicFile = join(dataDir, 'topics', 'serve-opening', 'topic.json');
    const settings = await readFile(topicFile);
    await rm(topicFile);
    await promisify(execFile)('mkfifo', [topicFile]);
    const child = startBrook(['serve', '--data', dataDir, '--port', '0']);
    const done = finished(child);
    const fifo = await open(topicFile, 'w'); // resolves once the opening broker reads it
    const saidStopping = stdoutLines(child, 1);
    child.kill('SIGINT');
    await saidStopping;
    await fifo.writeFile(settings);
    await fifo.close();
    const run = await done;
    expect(run.stdout).toMatch(/^brook: SIGINT, shutting down cleanly/);
    expect([run.code, run.stderr]).toEqual([0, '']);
    await rm(topicFile);
    await writeFile(topicFile, settings);
    const reopened = await Broker.open({ dataDir });
    expect(reopened.openedClean).toBe(true);
    await reopened.close();
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
}, 30_000);

/** 101 if `origin`'s upgrade is accepted, else the refusal's status. */
function upgradeStatus(url: string, origin: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { origin });
    socket.on('open', () => (socket.terminate(), resolve(101)));
    socket.on('unexpected-response', (request, response) => (request.destroy(), resolve(response.statusCode!)));
    socket.on('error', reject);
  });
}

it('serve on 0.0.0.0 with no token warns on stderr that anyone who can reach the port can use it; --allow-origin admits that page only', async () => {
  const child = startBrook(['serve', '--memory', '--host', '0.0.0.0', '--port', '0', '--allow-origin', 'http://localhost:5173']);
  const warned = stderrMatch(child, /^brook: warning: listening on 0\.0\.0\.0 with no token: anyone who can reach port \d+ can produce, consume and delete topics/m);
  const done = finished(child);
  try {
    const banner = await serveBanner(child.stdout);
    await warned;
    const port = /url: +ws:\/\/0\.0\.0\.0:(\d+)/.exec(banner)?.[1];
    expect(port).toBeDefined();
    expect(await upgradeStatus(`ws://127.0.0.1:${port}/`, 'http://localhost:5173')).toBe(101);
    expect(await upgradeStatus(`ws://127.0.0.1:${port}/`, 'https://evil.example')).toBe(403);
  } finally {
    child.kill('SIGINT');
  }
  expect((await done).code).toBe(0);
}, 30_000);
