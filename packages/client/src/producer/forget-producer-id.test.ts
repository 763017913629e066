/**
 * forgetWalProducerId on the in-memory disk: what it removes and reports for a readable, a
 * corrupt, a half-written and a missing producer.json; that the removal survives a power cut;
 * that it refuses while the WAL is open and on a path that is not a WAL directory, touching
 * nothing; and a power cut before each of its file-system operations.
 */
import { describe, expect, it } from 'vitest';
import { MemoryFileSystem, type LockOwnerIdentity } from '@brook/protocol';
import { FileBuffer } from '../wal/file-buffer.js';
import { forgetWalProducerId } from './forget-producer-id.js';
import { EMPTY_STATE, saveState, startedOver } from './wal-state.js';

const DIR = '/wal';
const STATE = `${DIR}/producer.json`;
/** A simulated process; `dead` lists the pids that no longer run (their locks are stale). */
const processOf = (pid: number, dead: ReadonlySet<number> = new Set()): LockOwnerIdentity => ({ pid, hostname: 'sim', isAlive: (p) => !dead.has(p) });
const encode = (text: string): Uint8Array => new TextEncoder().encode(text);

/** A WAL directory a producer used and closed: its first segment, and a durable producer.json naming id 7, epoch 2. */
async function walDirectory(): Promise<MemoryFileSystem> {
  const fs = new MemoryFileSystem();
  const buffer = await FileBuffer.open({ dir: DIR, fs, owner: processOf(1) });
  await buffer.close();
  await saveState(fs, DIR, startedOver(EMPTY_STATE, { producerId: 7n, producerEpoch: 2, incarnation: 'inc-1' }));
  return fs;
}

describe('forgetWalProducerId', () => {
  it('removes a readable producer.json, reports the id it held, and the removal survives a power cut', async () => {
    const fs = await walDirectory();
    const forgotten = await forgetWalProducerId(DIR, { fs, owner: processOf(2) });
    expect(forgotten).toEqual({ found: 'state', removed: ['producer.json'], producerId: 7n, producerEpoch: 2, incarnation: 'inc-1', committedWalBatch: -1 });
    expect(await fs.readdir(DIR)).toEqual(['wal-00000000000000000000.seg']); // the lock released
    fs.powerCut(); // keeps only what was fsynced: the unlink reached the disk through the directory fsync
    expect(await fs.exists(STATE)).toBe(false);
  });

  it('removes a corrupt producer.json (the way out of CORRUPT_METADATA), reporting the open\'s error', async () => {
    const fs = await walDirectory();
    await fs.writeFile(STATE, encode('{"version":1,"produc'));
    const forgotten = await forgetWalProducerId(DIR, { fs, owner: processOf(2) });
    expect(forgotten).toMatchObject({ found: 'corrupt', removed: ['producer.json'], problem: { code: 'CORRUPT_METADATA', details: { file: STATE } } });
    expect(await fs.exists(STATE)).toBe(false);
  });

  it('says there was none, without an error, and removes the .tmp an interrupted first write left', async () => {
    const fs = await walDirectory();
    await fs.unlink(STATE);
    expect(await forgetWalProducerId(DIR, { fs, owner: processOf(2) })).toEqual({ found: 'none', removed: [] });
    await fs.writeFile(`${STATE}.tmp`, encode('{"version":1}'));
    expect(await forgetWalProducerId(DIR, { fs, owner: processOf(2) })).toEqual({ found: 'none', removed: ['producer.json.tmp'] });
    expect(await fs.readdir(DIR)).toEqual(['wal-00000000000000000000.seg']);
  });

  it('refuses LOCKED while a WAL is open on the directory, in this process or another, and keeps producer.json', async () => {
    const fs = await walDirectory();
    for (const holder of [processOf(2), processOf(3)]) {
      const open = await FileBuffer.open({ dir: DIR, fs, owner: holder });
      await expect(forgetWalProducerId(DIR, { fs, owner: processOf(2) })).rejects.toMatchObject({ code: 'LOCKED', details: { pid: holder.pid } });
      expect(await fs.exists(STATE)).toBe(true);
      await open.close();
    }
    // A holder that died without closing leaves a stale lock, taken over as an open would.
    await FileBuffer.open({ dir: DIR, fs, owner: processOf(4) });
    await expect(forgetWalProducerId(DIR, { fs, owner: processOf(5, new Set([4])) })).resolves.toMatchObject({ found: 'state' });
  });

  it('refuses INVALID_REQUEST a path that is not a WAL directory, and makes no lock in it', async () => {
    const fs = new MemoryFileSystem();
    await fs.mkdir('/empty');
    await fs.mkdir('/app');
    await fs.writeFile('/app/producer.json', encode('{"kafka":true}')); // someone else's file of that name
    await fs.writeFile('/file', encode('x'));
    for (const path of ['/missing', '/empty', '/app', '/file']) {
      await expect(forgetWalProducerId(path, { fs, owner: processOf(1) }), path).rejects.toMatchObject({ code: 'INVALID_REQUEST', details: { dir: path } });
    }
    expect(await fs.readdir('/app')).toEqual(['producer.json']);
    expect(await fs.readdir('/empty')).toEqual([]);
    expect(await fs.exists('/missing')).toBe(false);
  });

  it('after a power cut before any of its operations, producer.json is whole or gone, and forgetting again finishes', async () => {
    const count = await walDirectory();
    let ops = 0;
    count.onOperation = () => void (ops += 1);
    await forgetWalProducerId(DIR, { fs: count, owner: processOf(2) });
    expect(ops).toBeGreaterThan(3);
    for (let at = 0; at < ops; at++) {
      const fs = await walDirectory();
      const before = await fs.readFile(STATE);
      let n = 0;
      fs.onOperation = () => {
        if (n++ === at) fs.powerCut();
      };
      await forgetWalProducerId(DIR, { fs, owner: processOf(2) }).catch(() => undefined); // the process died with the machine
      fs.onOperation = undefined;
      if (await fs.exists(STATE)) expect(await fs.readFile(STATE), `cut before op ${at}`).toEqual(before);
      const again = await forgetWalProducerId(DIR, { fs, owner: processOf(3, new Set([2])) });
      expect(again.found, `cut before op ${at}`).toMatch(/^(state|none)$/);
      fs.powerCut();
      expect(await fs.exists(STATE), `cut before op ${at}`).toBe(false);
    }
  });
});
