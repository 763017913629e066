/**
 * Test-only (imports vitest; not exported from the package): the FileSystem port's conformance
 * suite. Every implementation runs the same tests, so the in-memory file system the crash tests
 * rely on cannot drift from what node's fs really does.
 */
import { posix } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ErrorCode } from '../errors.js';
import { isDirectory } from './durable-dir.js';
import type { FileSystem } from './file-system.js';

export interface FileSystemFixture {
  fs: FileSystem;
  /** An empty, existing directory to work in. */
  root: string;
  cleanup?: () => Promise<void>;
}

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
const text = (data: Uint8Array): string => new TextDecoder().decode(data);

async function expectError(promise: Promise<unknown>, code: ErrorCode, details: Record<string, unknown> = {}): Promise<void> {
  await expect(promise).rejects.toMatchObject({ name: 'BrookError', code, details: expect.objectContaining(details) });
}

export function describeFileSystemConformance(name: string, createFixture: () => Promise<FileSystemFixture>): void {
  describe(`FileSystem conformance: ${name}`, () => {
    let fixture: FileSystemFixture;
    let fs: FileSystem;
    const at = (...names: string[]): string => posix.join(fixture.root, ...names);

    beforeEach(async () => {
      fixture = await createFixture();
      fs = fixture.fs;
    });
    afterEach(async () => {
      await fixture.cleanup?.();
    });

    async function readAll(path: string): Promise<string> {
      return text(await fs.readFile(path));
    }

    it("open 'rw' creates an empty file, and reopening never truncates", async () => {
      const handle = await fs.open(at('a.log'), 'rw');
      expect(handle.path).toBe(at('a.log'));
      expect(await handle.size()).toBe(0);
      await handle.write(bytes('hello'), 0);
      await handle.close();
      expect(await fs.exists(at('a.log'))).toBe(true);
      const again = await fs.open(at('a.log'), 'rw');
      expect(await again.size()).toBe(5);
      await again.close();
      expect(await readAll(at('a.log'))).toBe('hello');
    });

    it("open 'r' of a missing file and open in a missing directory fail with ENOENT", async () => {
      await expectError(fs.open(at('missing'), 'r'), 'IO_ERROR', { op: 'open', errno: 'ENOENT' });
      await expectError(fs.open(at('no-dir', 'x'), 'rw'), 'IO_ERROR', { op: 'open', errno: 'ENOENT' });
      await expectError(fs.readFile(at('missing')), 'IO_ERROR', { op: 'readFile', errno: 'ENOENT' });
      await expectError(fs.writeFile(at('no-dir', 'x'), bytes('x')), 'IO_ERROR', { errno: 'ENOENT' });
    });

    it("a handle opened 'r' refuses write (EBADF) and truncate (EINVAL), and the file keeps its bytes", async () => {
      await fs.writeFile(at('ro'), bytes('kept'));
      const handle = await fs.open(at('ro'), 'r');
      await expectError(handle.write(bytes('x'), 0), 'IO_ERROR', { op: 'write', errno: 'EBADF' });
      await expectError(handle.truncate(0), 'IO_ERROR', { op: 'truncate', errno: 'EINVAL' });
      await handle.close();
      expect(await readAll(at('ro'))).toBe('kept');
    });

    it('readInto reads at a position into a target offset, short only at end of file', async () => {
      const handle = await fs.open(at('f'), 'rw');
      await handle.write(bytes('0123456789'), 0);
      const target = new Uint8Array(8).fill(0x2e);
      expect(await handle.readInto(target, 2, 4, 3)).toBe(4);
      expect(text(target)).toBe('..3456..');
      expect(await handle.readInto(target, 0, 8, 7)).toBe(3);
      expect(text(target.subarray(0, 3))).toBe('789');
      expect(await handle.readInto(target, 0, 8, 10)).toBe(0);
      expect(await handle.readInto(target, 0, 8, 50)).toBe(0);
      await handle.close();
    });

    it('writes overwrite in place, writing past the end fills the gap with zeros, writing nothing changes nothing', async () => {
      const handle = await fs.open(at('f'), 'rw');
      await handle.write(bytes('abcdef'), 0);
      await handle.write(bytes('XY'), 2);
      await handle.write(bytes('!'), 9);
      await handle.write(new Uint8Array(0), 20);
      expect(await handle.size()).toBe(10);
      await handle.close();
      expect(Array.from(await fs.readFile(at('f')))).toEqual([...bytes('abXYef'), 0, 0, 0, ...bytes('!')]);
    });

    it('writes of every size land whole at their position (small and large writes may take different paths)', async () => {
      const handle = await fs.open(at('f'), 'rw');
      const sizes = [1, 4096, 64 * 1024, 64 * 1024 + 1, 1024 * 1024];
      let position = 0;
      for (const [i, size] of sizes.entries()) {
        await handle.write(new Uint8Array(size).fill(i + 1), position);
        position += size;
      }
      expect(await handle.size()).toBe(position);
      const back = new Uint8Array(position);
      expect(await handle.readInto(back, 0, position, 0)).toBe(position);
      position = 0;
      for (const [i, size] of sizes.entries()) {
        expect(back.subarray(position, position + size).every((b) => b === i + 1)).toBe(true);
        position += size;
      }
      await handle.close();
    });

    it('truncate shrinks, and growing again reads zeros, not the old bytes', async () => {
      const handle = await fs.open(at('f'), 'rw');
      await handle.write(bytes('abcdef'), 0);
      await handle.truncate(2);
      expect(await handle.size()).toBe(2);
      await handle.truncate(4);
      await handle.sync();
      await handle.close();
      expect(Array.from(await fs.readFile(at('f')))).toEqual([...bytes('ab'), 0, 0]);
    });

    it('copies bytes on write and on read, so callers may reuse buffers', async () => {
      const source = bytes('aaaa');
      const handle = await fs.open(at('f'), 'rw');
      await handle.write(source, 0);
      source.fill(0x7a);
      const first = await fs.readFile(at('f'));
      // A plain Uint8Array, so `slice` copies everywhere (Buffer#slice would be a view).
      expect(Object.getPrototypeOf(first)).toBe(Uint8Array.prototype);
      first.fill(0x79);
      await fs.writeFile(at('g'), source);
      source.fill(0x78);
      expect(await readAll(at('f'))).toBe('aaaa');
      expect(await readAll(at('g'))).toBe('zzzz');
      await handle.close();
    });

    it('writeFile replaces the whole content', async () => {
      await fs.writeFile(at('meta'), bytes('a long first version'));
      await fs.writeFile(at('meta'), bytes('short'));
      expect(await readAll(at('meta'))).toBe('short');
    });

    it('rename moves a file over an existing one', async () => {
      await fs.writeFile(at('new.tmp'), bytes('new'));
      await fs.writeFile(at('cur'), bytes('old'));
      await fs.rename(at('new.tmp'), at('cur'));
      expect(await fs.exists(at('new.tmp'))).toBe(false);
      expect(await readAll(at('cur'))).toBe('new');
      await expectError(fs.rename(at('new.tmp'), at('cur')), 'IO_ERROR', { op: 'rename', errno: 'ENOENT' });
    });

    it('rename moves a directory with its contents', async () => {
      await fs.mkdir(at('d1', 'sub'));
      await fs.writeFile(at('d1', 'sub', 'f'), bytes('x'));
      await fs.rename(at('d1'), at('d2'));
      expect(await fs.exists(at('d1'))).toBe(false);
      expect(await readAll(at('d2', 'sub', 'f'))).toBe('x');
    });

    it('unlink removes a file; a missing file is not an error', async () => {
      await fs.writeFile(at('f'), bytes('x'));
      await fs.unlink(at('f'));
      expect(await fs.exists(at('f'))).toBe(false);
      await fs.unlink(at('f'));
      await fs.unlink(at('no-dir', 'f'));
    });

    it('a handle keeps working on a file unlinked after it was opened', async () => {
      const handle = await fs.open(at('f'), 'rw');
      await fs.unlink(at('f'));
      await handle.write(bytes('still here'), 0);
      await handle.sync();
      const target = new Uint8Array(10);
      expect(await handle.readInto(target, 0, 10, 0)).toBe(10);
      expect(text(target)).toBe('still here');
      await handle.close();
      expect(await fs.exists(at('f'))).toBe(false);
    });

    it('mkdir creates parents and is idempotent; rmdir removes a tree and ignores a missing one', async () => {
      await fs.mkdir(at('a', 'b', 'c'));
      await fs.mkdir(at('a', 'b', 'c'));
      await fs.writeFile(at('a', 'b', 'c', 'f'), bytes('x'));
      expect(await fs.exists(at('a', 'b'))).toBe(true);
      await fs.rmdir(at('a'));
      expect(await fs.exists(at('a'))).toBe(false);
      await fs.rmdir(at('a'));
      await fs.mkdir(at('file-parent'));
      await fs.writeFile(at('file-parent', 'f'), bytes('x'));
      await expectError(fs.mkdir(at('file-parent', 'f')), 'IO_ERROR', { op: 'mkdir', errno: 'EEXIST' });
      await expectError(fs.mkdir(at('file-parent', 'f', 'g')), 'IO_ERROR', { op: 'mkdir', errno: 'ENOTDIR' });
    });

    it('readdir lists names sorted by code unit; a missing directory is ENOENT', async () => {
      for (const name of ['b', 'a', 'B', '10', '9', 'a.tmp']) await fs.writeFile(at(name), bytes(''));
      await fs.mkdir(at('dir'));
      expect(await fs.readdir(fixture.root)).toEqual(['10', '9', 'B', 'a', 'a.tmp', 'b', 'dir']);
      await expectError(fs.readdir(at('missing')), 'IO_ERROR', { op: 'readdir', errno: 'ENOENT' });
      await expectError(fs.readdir(at('a')), 'IO_ERROR', { op: 'readdir', errno: 'ENOTDIR' });
    });

    it('exists sees files and directories, and not what is missing', async () => {
      await fs.mkdir(at('d'));
      await fs.writeFile(at('d', 'f'), bytes(''));
      expect(await fs.exists(at('d'))).toBe(true);
      expect(await fs.exists(at('d', 'f'))).toBe(true);
      expect(await fs.exists(at('d', 'g'))).toBe(false);
      expect(await fs.exists(at('d', 'f', 'below-a-file'))).toBe(false);
    });

    it('sync and syncDir succeed on what exists; syncDir of a missing directory is ENOENT', async () => {
      const handle = await fs.open(at('f'), 'rw');
      await handle.write(bytes('x'), 0);
      await handle.sync();
      await handle.close();
      await fs.syncDir(fixture.root);
      await expectError(fs.syncDir(at('missing')), 'IO_ERROR', { op: 'syncDir', errno: 'ENOENT' });
    });

    it('a closed handle rejects every call with CLOSED, and closing twice is fine', async () => {
      const handle = await fs.open(at('f'), 'rw');
      await handle.close();
      await handle.close();
      await expectError(handle.write(bytes('x'), 0), 'CLOSED');
      await expectError(handle.readInto(new Uint8Array(1), 0, 1, 0), 'CLOSED');
      await expectError(handle.size(), 'CLOSED');
      await expectError(handle.sync(), 'CLOSED');
      await expectError(handle.truncate(0), 'CLOSED');
    });

    it('reports op, path and errno in IO_ERROR details', async () => {
      const error: unknown = await fs.readFile(at('missing')).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'IO_ERROR', retriable: true, details: { op: 'readFile', path: at('missing'), errno: 'ENOENT' } });
    });

    it('isDirectory tells a directory from a file (readdir of a file is ENOTDIR)', async () => {
      await fs.mkdir(at('d'));
      await fs.writeFile(at('f'), bytes('x'));
      expect(await isDirectory(fs, at('d'))).toBe(true);
      expect(await isDirectory(fs, at('f'))).toBe(false);
    });
  });
}
