/**
 * The single-writer lock (packages/client/src/wal/lock.ts): one winner among racing openers,
 * stale locks of dead processes taken over, live and foreign-host locks respected.
 */
import { describe, expect, it } from 'vitest';
import { isBrookError } from '@brook/protocol';
import { FileBuffer } from '../packages/client/src/wal/index.js';
import { SimulatedHost, WAL_DIR, value } from './fixtures/wal-harness.js';

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

});
