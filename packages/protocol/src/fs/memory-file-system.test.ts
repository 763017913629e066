import fc from 'fast-check';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { SeededRandom } from '../random-seeded.js';
import type { FileHandle } from './file-system.js';
import { type FileSystemOperation, keepAllPending, keepRandomPending, MemoryFileSystem, tearLastWrite } from './memory-file-system.js';

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
const text = (data: Uint8Array): string => new TextDecoder().decode(data);

let fs: MemoryFileSystem;

beforeEach(async () => {
  fs = new MemoryFileSystem();
  await fs.mkdir('/d');
  await fs.syncDir('/');
});

/** A file whose directory entry is durable, so only its content is at stake in a power cut. */
async function durableFile(path: string): Promise<FileHandle> {
  const handle = await fs.open(path, 'rw');
  await fs.syncDir('/d');
  return handle;
}

async function contentOf(path: string): Promise<string> {
  return text(await fs.readFile(path));
}

describe('power cut: file content', () => {
  it('drops unsynced writes and keeps synced ones', async () => {
    const handle = await durableFile('/d/f');
    await handle.write(bytes('synced|'), 0);
    await handle.sync();
    await handle.write(bytes('lost'), 7);
    fs.powerCut();
    expect(await contentOf('/d/f')).toBe('synced|');
  });

  it('restores bytes an unsynced write overwrote and a truncate cut off', async () => {
    const handle = await durableFile('/d/f');
    await handle.write(bytes('abcdefgh'), 0);
    await handle.sync();
    await handle.write(bytes('XXXX'), 2);
    await handle.truncate(3);
    await handle.write(bytes('zz'), 6);
    fs.powerCut();
    expect(await contentOf('/d/f')).toBe('abcdefgh');
  });

  it('keeps the prefix of pending ops the keep policy asks for, tearing the next write', async () => {
    const handle = await durableFile('/d/f');
    for (const chunk of ['aaaa', 'bbbb', 'cccc']) await handle.write(bytes(chunk), (await handle.size()));
    const asked: Array<[string, number]> = [];
    fs.powerCut({
      keep: (path, pendingOps) => {
        asked.push([path, pendingOps]);
        return { ops: 1, tornBytes: 3 };
      },
    });
    expect(asked).toEqual([['/d/f', 3]]);
    expect(await contentOf('/d/f')).toBe('aaaabbb');
  });

  it('tearLastWrite keeps all but the last write, and exactly tornBytes of it', async () => {
    const handle = await durableFile('/d/f');
    await handle.write(bytes('head'), 0);
    await handle.write(bytes('0123456789'), 4);
    fs.powerCut({ keep: tearLastWrite(6) });
    expect(await contentOf('/d/f')).toBe('head012345');
  });

  it('keepAllPending keeps every unsynced op', async () => {
    const handle = await durableFile('/d/f');
    await handle.write(bytes('abc'), 0);
    await handle.truncate(2);
    fs.powerCut({ keep: keepAllPending });
    expect(await contentOf('/d/f')).toBe('ab');
  });

  it('matches a replay model for any sequence of writes, truncates, syncs and any keep decision', async () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('write' as const), position: fc.nat(40), data: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
      fc.record({ kind: fc.constant('truncate' as const), length: fc.nat(48) }),
      fc.record({ kind: fc.constant('sync' as const) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 20 }), fc.nat(), fc.nat(20), async (ops, keepSeed, tornBytes) => {
        const memory = new MemoryFileSystem();
        const handle = await memory.open('/f', 'rw');
        await memory.syncDir('/');
        let durable: number[] = [];
        let pending: ContentOp[] = [];
        for (const step of ops) {
          if (step.kind === 'write') await handle.write(step.data, step.position);
          else if (step.kind === 'truncate') await handle.truncate(step.length);
          else await handle.sync();
          if (step.kind === 'sync') {
            durable = applyAll(durable, pending);
            pending = [];
          } else {
            pending.push(step);
          }
        }
        const keepOps = pending.length === 0 ? 0 : keepSeed % (pending.length + 1);
        memory.powerCut({ keep: () => ({ ops: keepOps, tornBytes }) });
        const expected = applyAll(durable, pending.slice(0, keepOps));
        const torn = pending[keepOps];
        if (torn?.kind === 'write') applyAll(expected, [{ ...torn, data: torn.data.subarray(0, tornBytes) }]);
        expect(Array.from(await memory.readFile('/f'))).toEqual(expected);
      }),
      { numRuns: 300 },
    );
  });

  it('keepRandomPending is reproducible from its seed', async () => {
    const runs = [];
    for (let run = 0; run < 2; run++) {
      const memory = new MemoryFileSystem();
      const handle = await memory.open('/f', 'rw');
      await memory.syncDir('/');
      for (let i = 0; i < 10; i++) await handle.write(bytes('0123456789'), i * 10);
      memory.powerCut({ keep: keepRandomPending(new SeededRandom(42), 10) });
      runs.push(text(await memory.readFile('/f')));
    }
    expect(runs[0]).toBe(runs[1]);
  });
});

type ContentOp = { kind: 'write'; position: number; data: Uint8Array } | { kind: 'truncate'; length: number };

/** Reference semantics: plain arrays, no undo log. Mutates and returns `content`. */
function applyAll(content: number[], ops: readonly ContentOp[]): number[] {
  for (const step of ops) {
    if (step.kind === 'truncate') {
      content.length = Math.min(content.length, step.length);
      while (content.length < step.length) content.push(0);
    } else if (step.data.length > 0) {
      while (content.length < step.position) content.push(0);
      step.data.forEach((byte, i) => (content[step.position + i] = byte));
    }
  }
  return content;
}

describe('power cut: directory entries', () => {
  it('a created file vanishes unless its directory was synced', async () => {
    const kept = await fs.open('/d/kept', 'rw');
    await kept.sync();
    await fs.syncDir('/d');
    await fs.open('/d/vanishes', 'rw');
    fs.powerCut();
    expect(await fs.readdir('/d')).toEqual(['kept']);
  });

  it('a rename without syncDir reverts to the old name and the old content', async () => {
    const handle = await durableFile('/d/a');
    await handle.write(bytes('x'), 0);
    await handle.sync();
    await fs.rename('/d/a', '/d/b');
    expect(await fs.readdir('/d')).toEqual(['b']);
    fs.powerCut();
    expect(await fs.readdir('/d')).toEqual(['a']);
    expect(await contentOf('/d/a')).toBe('x');
  });

  it('a rename followed by syncDir survives', async () => {
    await durableFile('/d/a');
    await fs.rename('/d/a', '/d/b');
    await fs.syncDir('/d');
    fs.powerCut();
    expect(await fs.readdir('/d')).toEqual(['b']);
  });

  it('an unlinked file comes back unless its directory was synced', async () => {
    await durableFile('/d/a');
    await durableFile('/d/b');
    await fs.unlink('/d/a');
    fs.powerCut();
    expect(await fs.readdir('/d')).toEqual(['a', 'b']);
    await fs.unlink('/d/a');
    await fs.syncDir('/d');
    fs.powerCut();
    expect(await fs.readdir('/d')).toEqual(['b']);
  });

  it('a new directory needs its parent synced, like any entry', async () => {
    await fs.mkdir('/d/p/q');
    await fs.syncDir('/d/p');
    fs.powerCut();
    expect(await fs.exists('/d/p')).toBe(false);
    await fs.mkdir('/d/p/q');
    await fs.syncDir('/d');
    await fs.syncDir('/d/p');
    fs.powerCut();
    expect(await fs.exists('/d/p/q')).toBe(true);
  });
});

describe('syncDir cost', () => {
  // It copied every entry of the directory: n files made one by one, each made durable, cost
  // O(n^2) (storage 'memory' took 5 s to create 10,000 topics, most of it here).
  it('makes durable only the entries changed since the last sync, however many the directory holds', async () => {
    for (let i = 0; i < 1000; i++) await fs.writeFile(`/d/f${i}`, bytes('x'));
    await fs.syncDir('/d');
    await fs.writeFile('/d/new', bytes('y'));
    await fs.unlink('/d/f0');
    const entriesWritten = vi.spyOn(Map.prototype, 'set');
    try {
      await fs.syncDir('/d');
      expect(entriesWritten.mock.calls.length).toBeLessThanOrEqual(2);
    } finally {
      entriesWritten.mockRestore();
    }
    fs.powerCut();
    const names = await fs.readdir('/d');
    expect(names).toHaveLength(1000);
    expect(names).toContain('new');
    expect(names).not.toContain('f0');
  });
});

describe('power cut: handles', () => {
  it('kills every open handle, close included, and leaves the file system usable', async () => {
    const handle = await durableFile('/d/f');
    fs.powerCut();
    for (const call of [
      () => handle.write(bytes('x'), 0),
      () => handle.readInto(new Uint8Array(1), 0, 1, 0),
      () => handle.sync(),
      () => handle.truncate(0),
      () => handle.size(),
      () => handle.close(),
    ]) {
      await expect(call()).rejects.toMatchObject({ code: 'CLOSED' });
    }
    const reopened = await fs.open('/d/f', 'rw');
    await reopened.write(bytes('ok'), 0);
    expect(await contentOf('/d/f')).toBe('ok');
  });
});

describe('failNext', () => {
  it('a failed write writes nothing, then writes work again', async () => {
    const handle = await durableFile('/d/f');
    await handle.write(bytes('abc'), 0);
    fs.failNext('write', { errno: 'ENOSPC' });
    await expect(handle.write(bytes('XYZW'), 1)).rejects.toMatchObject({
      code: 'IO_ERROR', details: { op: 'write', path: '/d/f', errno: 'ENOSPC' },
      message: 'IO_ERROR: write /d/f failed: ENOSPC (no space left on the device)', // what an operator can do about it
    });
    expect(await contentOf('/d/f')).toBe('abc');
    await handle.write(bytes('d'), 3);
    expect(await contentOf('/d/f')).toBe('abcd');
  });

  it('a failed sync makes nothing durable', async () => {
    const handle = await durableFile('/d/f');
    await handle.write(bytes('abc'), 0);
    fs.failNext('sync', { errno: 'EIO' });
    await expect(handle.sync()).rejects.toMatchObject({ details: { errno: 'EIO' } });
    fs.powerCut();
    expect(await contentOf('/d/f')).toBe('');
  });

  it('matches by path or pattern, counts down times, and leaves other ops alone', async () => {
    fs.failNext('writeFile', { path: /\.meta$/, errno: 'EIO', times: 2 });
    await fs.writeFile('/d/data', bytes('fine'));
    await expect(fs.writeFile('/d/a.meta', bytes('x'))).rejects.toMatchObject({ code: 'IO_ERROR' });
    await expect(fs.writeFile('/d/a.meta', bytes('x'))).rejects.toMatchObject({ code: 'IO_ERROR' });
    expect(await fs.exists('/d/a.meta')).toBe(false);
    await fs.writeFile('/d/a.meta', bytes('x'));
    fs.failNext('unlink', { path: 'd//a.meta', errno: 'EIO' });
    await expect(fs.unlink('/d/a.meta')).rejects.toMatchObject({ details: { path: '/d/a.meta' } });
    expect(await fs.exists('/d/a.meta')).toBe(true);
  });

  it('a failed rename or syncDir changes nothing', async () => {
    await durableFile('/d/a');
    fs.failNext('rename', { path: '/d/b', errno: 'EIO' });
    await expect(fs.rename('/d/a', '/d/b')).rejects.toMatchObject({ code: 'IO_ERROR' });
    expect(await fs.readdir('/d')).toEqual(['a']);
    await fs.rename('/d/a', '/d/b');
    fs.failNext('syncDir', { errno: 'EIO' });
    await expect(fs.syncDir('/d')).rejects.toMatchObject({ code: 'IO_ERROR' });
    fs.powerCut();
    expect(await fs.readdir('/d')).toEqual(['a']);
  });

  it('can fail open and reads', async () => {
    await fs.writeFile('/d/f', bytes('x'));
    fs.failNext('open', { errno: 'EIO' });
    await expect(fs.open('/d/f', 'r')).rejects.toMatchObject({ details: { op: 'open' } });
    const handle = await fs.open('/d/f', 'r');
    fs.failNext('read', { errno: 'EIO' });
    await expect(handle.readInto(new Uint8Array(1), 0, 1, 0)).rejects.toMatchObject({ details: { op: 'read' } });
    fs.failNext('readFile', { errno: 'EIO' });
    await expect(fs.readFile('/d/f')).rejects.toMatchObject({ details: { op: 'readFile' } });
  });
});

describe('onOperation and stats', () => {
  it('reports every mutating operation, in order, and none of the reads', async () => {
    const seen: FileSystemOperation[] = [];
    fs.onOperation = (op) => seen.push(op);
    const handle = await fs.open('/d/f', 'rw');
    await handle.write(bytes('x'), 0);
    await handle.readInto(new Uint8Array(1), 0, 1, 0);
    await handle.truncate(1);
    await handle.sync();
    await fs.readFile('/d/f');
    await fs.rename('/d/f', '/d/g');
    await fs.syncDir('/d');
    await fs.writeFile('/d/h', bytes('y'));
    await fs.unlink('/d/h');
    await fs.mkdir('/d/sub');
    await fs.rmdir('/d/sub');
    expect(seen.map((op) => op.kind)).toEqual(['open', 'write', 'truncate', 'sync', 'rename', 'syncDir', 'writeFile', 'unlink', 'mkdir', 'rmdir']);
    expect(seen[4]).toEqual({ kind: 'rename', path: '/d/f', to: '/d/g' });
  });

  it('a power cut inside the hook abandons the operation with CLOSED', async () => {
    const handle = await durableFile('/d/f');
    fs.onOperation = (op) => {
      if (op.kind === 'write') fs.powerCut();
    };
    await expect(handle.write(bytes('x'), 0)).rejects.toMatchObject({ code: 'CLOSED' });
    fs.onOperation = undefined;
    expect(await contentOf('/d/f')).toBe('');
  });

  it('counts syncs, dir syncs, writes and bytes, e.g. to assert group commit', async () => {
    const handle = await durableFile('/d/f');
    for (let i = 0; i < 5; i++) await handle.write(bytes('abcd'), i * 4);
    await handle.sync();
    expect(fs.stats()).toEqual({ syncs: 1, dirSyncs: 2, writes: 5, bytesWritten: 20 });
  });
});

it('grows a file by amortised doubling: 64 MiB of small appends stays fast', async () => {
  const handle = await fs.open('/d/big', 'rw');
  const chunk = new Uint8Array(4096).fill(7);
  const started = performance.now();
  for (let i = 0; i < 16_384; i++) await handle.write(chunk, i * chunk.length);
  await handle.sync();
  expect(await handle.size()).toBe(64 * 1024 * 1024);
  expect(performance.now() - started).toBeLessThan(5_000);
});
