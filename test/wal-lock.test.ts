/**
 * The single-writer lock (packages/client/src/wal/lock.ts): one winner among racing openers,
 * stale locks of dead processes taken over, live and foreign-host locks respected.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { isBrookError, type FileSystem } from '@brook/protocol';
import { FileBuffer } from '../packages/client/src/wal/index.js';
import { SimulatedHost, WAL_DIR, value } from './fixtures/wal-harness.js';

/** `host.fs`, but the rename whose target contains `marker` waits, once, until `release()`. */
function holdingRename(host: SimulatedHost, marker: string): { fs: FileSystem; reached: Promise<void>; release: () => void } {
  let reach!: () => void;
  let release!: () => void;
  const reached = new Promise<void>((resolve) => (reach = resolve));
  const released = new Promise<void>((resolve) => (release = resolve));
  const fs = new Proxy(host.fs, {
    get(target, property) {
      if (property === 'rename') {
        return async (from: string, to: string) => {
          if (to.includes(marker)) {
            reach();
            await released;
          }
          return target.rename(from, to);
        };
      }
      const member: unknown = Reflect.get(target, property, target);
      return typeof member === 'function' ? member.bind(target) : member;
    },
  }) as FileSystem;
  return { fs, reached, release };
}

describe('WAL single-writer lock', () => {
  it('lets exactly one of several racing openers in', async () => {
    const host = new SimulatedHost();
    const results = await Promise.allSettled(Array.from({ length: 5 }, () => host.open()));
    const opened = results.filter((r) => r.status === 'fulfilled');
    expect(opened).toHaveLength(1);
    for (const r of results) if (r.status === 'rejected') expect(isBrookError(r.reason, 'LOCKED')).toBe(true);
    await (opened[0] as PromiseFulfilledResult<FileBuffer>).value.close();
    expect((await host.fs.readdir(WAL_DIR)).filter((name) => name.startsWith('wal.lock'))).toEqual([]);
  });

  it('refuses a second buffer in the same process', async () => {
    const host = new SimulatedHost();
    const owner = host.process();
    const first = await FileBuffer.open({ dir: WAL_DIR, fs: host.fs, clock: host.clock, owner });
    await expect(FileBuffer.open({ dir: WAL_DIR, fs: host.fs, clock: host.clock, owner })).rejects.toMatchObject({ code: 'LOCKED', details: { pid: owner.pid } });
    await first.close();
  });

  it('respects a lock held from another host, whose pid cannot be checked', async () => {
    const host = new SimulatedHost();
    const remote = { ...host.process(), hostname: 'elsewhere' };
    await FileBuffer.open({ dir: WAL_DIR, fs: host.fs, clock: host.clock, owner: remote });
    remote.kill();
    await expect(host.open()).rejects.toMatchObject({ code: 'LOCKED', details: { hostname: 'elsewhere' } });
  });

  it('takes over a lock whose owner file a power cut lost, and cleans a dead opener\'s leftovers', async () => {
    const host = new SimulatedHost();
    await host.fs.mkdir(`${WAL_DIR}/wal.lock`); // the entry survived, the unsynced owner file did not
    await host.fs.mkdir(`${WAL_DIR}/wal.lock.4242.7`); // an opener killed between building and renaming its lock
    await host.fs.writeFile(`${WAL_DIR}/wal.lock.4242.7/owner`, value(1));
    const buffer = await host.open();
    expect((await host.fs.readdir(WAL_DIR)).filter((name) => name.startsWith('wal.lock'))).toEqual(['wal.lock']);
    await buffer.close();
  });

  // The life of a process is known on Linux only (boot id and start time, from /proc).
  it.runIf(existsSync('/proc/self/stat'))('takes over a lock an earlier life of this same pid left (a restarted container gets the same pid), and still refuses a second open in this life', async () => {
    const host = new SimulatedHost();
    // As kill -9 left it, owner file synced: pid and host are this process's, the life was another.
    const owner = new TextEncoder().encode(JSON.stringify({ pid: process.pid, hostname: hostname() }));
    for (const lock of ['wal.lock', `wal.lock.${process.pid}.1`, `wal.lock.stale.${process.pid}.2`]) {
      await host.fs.mkdir(`${WAL_DIR}/${lock}`);
      await host.fs.writeFile(`${WAL_DIR}/${lock}/owner`, owner);
    }
    const options = { dir: WAL_DIR, fs: host.fs, clock: host.clock };
    const buffer = await FileBuffer.open(options);
    expect((await host.fs.readdir(WAL_DIR)).filter((name) => name.startsWith('wal.lock'))).toEqual(['wal.lock']);
    await expect(FileBuffer.open(options)).rejects.toMatchObject({ code: 'LOCKED', details: { pid: process.pid } });
    await buffer.close();
  });

  it('refuses a worker thread of the holding process (same pid, same life) on the real disk', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'brook-wal-lock-'));
    const buffer = await FileBuffer.open({ dir });
    try {
      const worker = new Worker(new URL('./fixtures/wal-lock-worker.mjs', import.meta.url), { workerData: dir });
      const answer = await new Promise((resolve, reject) => worker.once('message', resolve).once('error', reject));
      expect(answer).toBe('LOCKED');
      await worker.terminate();
    } finally {
      await buffer.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('does not delete a lock another opener took over from the same dead holder meanwhile: the slower opener gets LOCKED', async () => {
    const host = new SimulatedHost();
    host.crash(await host.open()); // a stale lock
    const slow = host.process();
    // The slow opener has judged the lock stale; before it renames it away, another opener takes it over.
    const held = holdingRename(host, `wal.lock.stale.${slow.pid}.`);
    const slowOpen = FileBuffer.open({ dir: WAL_DIR, fs: held.fs, clock: host.clock, owner: slow });
    await held.reached;
    const fast = await host.open();
    held.release();
    await expect(slowOpen).rejects.toMatchObject({ code: 'LOCKED' });
    await fast.put({ value: value(1) }); // still the one writer, and its lock is where it was
    expect((await host.fs.readdir(WAL_DIR)).filter((name) => name.startsWith('wal.lock'))).toEqual(['wal.lock']);
    await fast.close();
    expect((await host.fs.readdir(WAL_DIR)).filter((name) => name.startsWith('wal.lock'))).toEqual([]);
  });
});
