import { dirname } from 'node:path';
import { isBrookError } from '../errors.js';
import type { FileSystem } from './file-system.js';

/**
 * Creates `path` and any missing ancestors so that they survive a power cut: a new directory's
 * entry lives in its parent, so each directory created here is followed by an fsync of its
 * parent. Directories that already exist cost one `exists` check each and no fsync.
 */
export async function mkdirDurable(fs: FileSystem, path: string): Promise<void> {
  const missing: string[] = [];
  for (let dir = path; !(await fs.exists(dir)); dir = dirname(dir)) {
    missing.push(dir);
    if (dirname(dir) === dir) break;
  }
  for (const dir of missing.reverse()) {
    await fs.mkdir(dir);
    await fs.syncDir(dirname(dir));
  }
}

/**
 * Makes durable the entries a killed process may have left unsynced in `dir` (a file created
 * whose directory fsync never came) and `dir` and its ancestors in theirs (mkdirDurable skips
 * directories that exist): what is written into them afterwards is then lost to a power cut only
 * with its own fsync missing. One fsync per level. An ancestor this process may not open is
 * skipped: it made no entry there.
 */
export async function syncDirChain(fs: FileSystem, dir: string): Promise<void> {
  await fs.syncDir(dir);
  for (let child = dir, parent = dirname(dir); parent !== child; child = parent, parent = dirname(parent)) {
    try {
      await fs.syncDir(parent);
    } catch (error) {
      const errno = isBrookError(error, 'IO_ERROR') ? error.details['errno'] : undefined;
      if (errno !== 'EACCES' && errno !== 'EPERM') throw error;
    }
  }
}

/** Removes `path` and everything under it so that the removal survives a power cut (the parent's fsync). */
export async function rmdirDurable(fs: FileSystem, path: string): Promise<void> {
  await fs.rmdir(path);
  await fs.syncDir(dirname(path));
}

/**
 * The commit point of removing a directory whose existence `commitFile` (written last when it was
 * made) commits: `commitFile` goes, durably. It rejects only while `commitFile` is still there,
 * i.e. the directory is still whole. A `commitFile` unlinked whose directory fsync then failed is
 * gone for this process and for a restart, so that counts as committed: only a power cut before
 * the directory reaches the disk could bring it back, as for any write whose fsync failed.
 */
export async function uncommitDir(fs: FileSystem, path: string, commitFile: string): Promise<void> {
  try {
    await fs.unlink(`${path}/${commitFile}`);
    await fs.syncDir(path);
  } catch (error) {
    if (await fs.exists(`${path}/${commitFile}`)) throw error;
  }
}

/**
 * Removes a directory whose existence `commitFile` commits, with one commit point (uncommitDir),
 * then the rest (rmdirDurable). A crash before the commit leaves the whole directory; after it, a
 * directory without `commitFile`, which its owner's open must take for absent and remove.
 * `committed` runs at the commit point, so that a removal failing afterwards still counts as done.
 */
export async function removeCommittedDir(fs: FileSystem, path: string, commitFile: string, committed?: () => void): Promise<void> {
  await uncommitDir(fs, path, commitFile);
  committed?.();
  await rmdirDurable(fs, path);
}

/**
 * Whether `path`, which exists, is a directory rather than a file. The port has no stat: a
 * readdir tells them apart (ENOTDIR on a file, in both implementations).
 */
export async function isDirectory(fs: FileSystem, path: string): Promise<boolean> {
  try {
    await fs.readdir(path);
    return true;
  } catch (error) {
    if (isBrookError(error, 'IO_ERROR') && error.details['errno'] === 'ENOTDIR') return false;
    throw error;
  }
}
