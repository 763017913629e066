/**
 * The file-system port. Brook's storage code (segment logs, group state, the producer WAL) talks
 * to disk only through this interface, so that tests can swap in `MemoryFileSystem`, which can
 * lose unsynced bytes on a simulated power cut, tear a write, or fail an operation.
 *
 * Durability contract, the same for every implementation:
 * - `FileHandle.write` changes what later reads see at once, but survives a power cut only after
 *   `FileHandle.sync()` on that file.
 * - Creating, deleting or renaming a directory entry survives a power cut only after
 *   `syncDir()` on the directory that holds it.
 * - Every failure is a `BrookError` with code `IO_ERROR` and `details: { op, path, errno }`,
 *   except `open(path, 'r')` / `readFile` of a missing file, which is `IO_ERROR` with errno
 *   `ENOENT` (use `exists()` to ask first).
 */
export type OpenMode =
  /** Read only; the file must exist. */
  | 'r'
  /** Read and write; created empty if missing, never truncated. */
  | 'rw';

export interface FileHandle {
  readonly path: string;
  /** Current length in bytes, unsynced writes included. */
  size(): Promise<number>;
  /** Writes every byte of `data` at `position` (may extend the file). */
  write(data: Uint8Array, position: number): Promise<void>;
  /**
   * Reads up to `length` bytes starting at `position` into `target` at `targetOffset`.
   * Resolves with the number of bytes read: fewer than `length` only at end of file.
   */
  readInto(target: Uint8Array, targetOffset: number, length: number, position: number): Promise<number>;
  /** Makes every write and truncate so far on this file durable (fdatasync). */
  sync(): Promise<void>;
  truncate(length: number): Promise<void>;
  close(): Promise<void>;
}

export interface FileSystem {
  open(path: string, mode: OpenMode): Promise<FileHandle>;
  readFile(path: string): Promise<Uint8Array>;
  /** Replaces the file's content. Not atomic and not durable by itself: see `writeFileAtomic`. */
  writeFile(path: string, data: Uint8Array): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  /** Removes a file; a missing file is not an error. */
  unlink(path: string): Promise<void>;
  /** Creates the directory and any missing parents; an existing one is not an error. */
  mkdir(path: string): Promise<void>;
  /** Removes a directory and everything under it; a missing one is not an error. */
  rmdir(path: string): Promise<void>;
  /** Names (not paths) of the entries in a directory, sorted by code unit. */
  readdir(path: string): Promise<string[]>;
  exists(path: string): Promise<boolean>;
  /** Makes the directory's entries (creates, deletes, renames) durable. */
  syncDir(path: string): Promise<void>;
}

/**
 * Runs `step` on something just opened (a file handle, a log segment); if the step fails, closes
 * it before rethrowing. A failed open must leave no file open behind it: a process that ran out of
 * descriptors (EMFILE) would otherwise hold more after every failed attempt and never get out. A
 * failure of the close itself is dropped: the step's is the one to report.
 */
export async function closeOnFailure<T>(opened: { close(): Promise<void> }, step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (error) {
    await opened.close().catch(() => undefined);
    throw error;
  }
}
