/**
 * `brook serve` as a user sees it on the terminal: what it says about an in-memory broker, and a
 * port that is taken. (Serving a data dir and its clean shutdown: test/serve.test.ts.)
 */
import { createInterface } from 'node:readline';
import { expect, it } from 'vitest';
import { brook, finished, startBrook } from './fixtures/cli-run.js';

it('serve --memory says nothing is written (no fsync or recovery lines); a second serve on its port is IO_ERROR, exit 1, no stack', async () => {
  const first = startBrook(['serve', '--memory', '--port', '0']);
  const done = finished(first);
  try {
    const lines: string[] = [];
    for await (const line of createInterface({ input: first.stdout })) {
      lines.push(line);
      if (line.startsWith('Ctrl-C')) break;
    }
    const banner = lines.join('\n');
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
