/**
 * A FileBuffer whose file-system call fails leaves no file open behind it (docs/wal.md, I/O
 * failures), as the broker's storage does (failed-open-handles.test.ts): each test fails every
 * call of an operation in turn and checks what stays open.
 */
import { describe, expect, it } from 'vitest';
import { failingCalls, trackOpenHandles } from '../packages/broker/src/open-handles.test-support.js';
import { FileBuffer } from '../packages/client/src/wal/index.js';
import { SimulatedHost, WAL_DIR, drainAll, value } from './fixtures/wal-harness.js';

function trackedHost() {
  const host = new SimulatedHost();
  const { fs: tracked, openPaths } = trackOpenHandles(host.fs);
  const failing = failingCalls(tracked);
  // Seals each record, rolls every segment of 4 KiB.
  const options = { maxRecords: 1, segmentBytesMax: 4096 };
  // Each open is a process of its own, gone once it has tried (its lock, if a failed close kept
  // it, is then stale: the next open takes it over, as after a crash).
  const open = async () => {
    const owner = host.process();
    try {
      return await FileBuffer.open({ dir: WAL_DIR, fs: failing.fs, clock: host.clock, owner, ...options });
    } finally {
      queueMicrotask(() => owner.kill());
    }
  };
  return { host, failing, openPaths, open };
}

const RECORD = new Uint8Array(2100);

describe('a failed WAL call leaves no file open', () => {
  it('FileBuffer.open of a WAL with records, each of its calls failing in turn: IO_ERROR, nothing open, then it opens with every record', async () => {
    const { failing, openPaths, open } = trackedHost();
    const first = await open();
    for (let n = 1; n <= 6; n++) await first.put({ value: value(n) });
    await first.close();

    failing.arm(0);
    await (await open()).close();
    const calls = failing.calls;
    expect(calls).toBeGreaterThan(5);
    for (let failAt = 1; failAt <= calls; failAt++) {
      failing.arm(failAt);
      const error = await open().then(async (buffer) => buffer.close(), (caught: unknown) => caught);
      failing.arm(0);
      if (error !== undefined) expect(error, `call ${failAt}`).toMatchObject({ code: 'IO_ERROR' });
      expect(openPaths(/./), `call ${failAt}`).toEqual([]);
    }
    const reopened = await open();
    expect(await drainAll(reopened)).toEqual([1, 2, 3, 4, 5, 6]);
    await reopened.close();
  });

  it('a put that rolls a segment, each of its calls failing in turn: the buffer fails, and close leaves nothing open', async () => {
    let calls = 0;
    for (let failAt = 0; failAt <= calls; failAt++) {
      const { failing, openPaths, open } = trackedHost();
      const buffer = await open();
      // Two records fill a 4 KiB segment: the next seal rolls.
      await buffer.put({ value: RECORD });
      await buffer.put({ value: RECORD });
      failing.arm(failAt);
      const error = await buffer.put({ value: RECORD }).then(() => undefined, (caught: unknown) => caught);
      if (failAt === 0) calls = failing.calls;
      failing.arm(0);
      if (error !== undefined) expect(error, `call ${failAt}`).toMatchObject({ code: 'IO_ERROR' });
      await buffer.close().catch(() => undefined);
      expect(openPaths(/./), `call ${failAt}`).toEqual([]);
    }
    expect(calls).toBeGreaterThan(3);
  });
});
