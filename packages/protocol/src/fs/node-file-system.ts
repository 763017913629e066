import { constants, writeSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import type { FileHandle, FileSystem, OpenMode } from './file-system.js';
import { closedHandleError, ioError } from './io-error.js';

/**
 * The production `FileSystem`: a thin layer over `node:fs/promises` (and write(2) itself for
 * small writes, see SYNC_WRITE_BYTES_MAX). It adds nothing to the per-call cost beyond one
 * try/catch (no extra stat or open per write), because appends and fsyncs go through it on the
 * broker's hot path.
 */

/**
 * Writes up to this size go straight to write(2) on the calling thread instead of through libuv's
 * thread pool. A write lands in the page cache (fsync is separate, and stays asynchronous), which
 * for a batch or a journal record takes a few microseconds; the pool's round trip (queue, wake a
 * worker, wake the loop with its result) cost 30 µs of the main thread per write here, plus a
 * wait on two thread wake-ups that a busy 2-core machine turns into milliseconds at the tail.
 * Larger writes keep the pool, so a big memcpy overlaps with the loop's other work.
 */
const SYNC_WRITE_BYTES_MAX = 64 * 1024;

/** O_RDWR | O_CREAT: create if missing, but never O_TRUNC, so reopening a segment keeps its bytes. */
const READ_WRITE_FLAGS = constants.O_RDWR | constants.O_CREAT;

/** Rewraps a node error as the port's IO_ERROR, keeping the original as `cause`. */
function toIoError(op: string, path: string, error: unknown): Error {
  const errno = (error as NodeJS.ErrnoException | undefined)?.code;
  if (typeof errno !== 'string') return error instanceof Error ? error : new Error(String(error));
  return ioError(op, path, errno, error);
}

function isNotFound(error: unknown): boolean {
  const errno = (error as NodeJS.ErrnoException | undefined)?.code;
  return errno === 'ENOENT' || errno === 'ENOTDIR';
}

class NodeFileHandle implements FileHandle {
  private closed = false;

  constructor(
    readonly path: string,
    private readonly handle: fsp.FileHandle,
  ) {}

  async size(): Promise<number> {
    this.assertOpen('size');
    try {
      return (await this.handle.stat()).size;
    } catch (error) {
      throw toIoError('size', this.path, error);
    }
  }

  async write(data: Uint8Array, position: number): Promise<void> {
    this.assertOpen('write');
    try {
      // Regular files normally take the whole buffer in one call; the loop is for the rare
      // partial write (signals, quota), which must not silently drop the tail of a batch.
      let written = 0;
      const direct = data.length <= SYNC_WRITE_BYTES_MAX;
      while (written < data.length) {
        written += direct
          ? writeSync(this.handle.fd, data, written, data.length - written, position + written)
          : (await this.handle.write(data, written, data.length - written, position + written)).bytesWritten;
      }
    } catch (error) {
      throw toIoError('write', this.path, error);
    }
  }

  async readInto(target: Uint8Array, targetOffset: number, length: number, position: number): Promise<number> {
    this.assertOpen('read');
    try {
      // The port promises a short read only at end of file, so keep reading until then.
      let read = 0;
      while (read < length) {
        const { bytesRead } = await this.handle.read(target, targetOffset + read, length - read, position + read);
        if (bytesRead === 0) break;
        read += bytesRead;
      }
      return read;
    } catch (error) {
      throw toIoError('read', this.path, error);
    }
  }

  async sync(): Promise<void> {
    this.assertOpen('sync');
    try {
      await this.handle.datasync();
    } catch (error) {
      throw toIoError('sync', this.path, error);
    }
  }

  async truncate(length: number): Promise<void> {
    this.assertOpen('truncate');
    try {
      await this.handle.truncate(length);
    } catch (error) {
      throw toIoError('truncate', this.path, error);
    }
  }

  /** Idempotent, like node's own `FileHandle.close`; every other call after it rejects CLOSED. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.handle.close();
    } catch (error) {
      throw toIoError('close', this.path, error);
    }
  }

  private assertOpen(op: string): void {
    if (this.closed) throw closedHandleError(op, this.path);
  }
}

export class NodeFileSystem implements FileSystem {
  async open(path: string, mode: OpenMode): Promise<FileHandle> {
    try {
      return new NodeFileHandle(path, await fsp.open(path, mode === 'rw' ? READ_WRITE_FLAGS : 'r'));
    } catch (error) {
      throw toIoError('open', path, error);
    }
  }

  async readFile(path: string): Promise<Uint8Array> {
    try {
      const buffer = await fsp.readFile(path);
      // A plain Uint8Array view, not a Buffer: Buffer#slice returns a view where Uint8Array#slice
      // copies, and callers must see the same semantics from every FileSystem.
      return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
    } catch (error) {
      throw toIoError('readFile', path, error);
    }
  }

  async writeFile(path: string, data: Uint8Array): Promise<void> {
    try {
      await fsp.writeFile(path, data);
    } catch (error) {
      throw toIoError('writeFile', path, error);
    }
  }

  async rename(from: string, to: string): Promise<void> {
    try {
      await fsp.rename(from, to);
    } catch (error) {
      throw toIoError('rename', from, error);
    }
  }

  async unlink(path: string): Promise<void> {
    try {
      await fsp.unlink(path);
    } catch (error) {
      if (isNotFound(error)) return;
      throw toIoError('unlink', path, error);
    }
  }

  async mkdir(path: string): Promise<void> {
    try {
      await fsp.mkdir(path, { recursive: true });
    } catch (error) {
      throw toIoError('mkdir', path, error);
    }
  }

  async rmdir(path: string): Promise<void> {
    try {
      await fsp.rm(path, { recursive: true, force: true });
    } catch (error) {
      throw toIoError('rmdir', path, error);
    }
  }

  async readdir(path: string): Promise<string[]> {
    try {
      // Array.prototype.sort without a comparator orders by UTF-16 code unit, as the port says.
      return (await fsp.readdir(path)).sort();
    } catch (error) {
      throw toIoError('readdir', path, error);
    }
  }

  async exists(path: string): Promise<boolean> {
    try {
      await fsp.access(path);
      return true;
    } catch (error) {
      if (isNotFound(error)) return false;
      throw toIoError('exists', path, error);
    }
  }

  /** fsync on a read-only descriptor of the directory: the POSIX way to persist its entries. */
  async syncDir(path: string): Promise<void> {
    try {
      const dir = await fsp.open(path, 'r');
      try {
        await dir.sync();
      } finally {
        await dir.close();
      }
    } catch (error) {
      throw toIoError('syncDir', path, error);
    }
  }
}
