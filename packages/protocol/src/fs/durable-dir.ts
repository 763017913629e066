import { dirname } from 'node:path';
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
