import { dirname } from 'node:path';
import { closeOnFailure, type FileSystem } from './file-system.js';

/**
 * Replaces `path` with `data` so that after a crash at any point the file holds either its old
 * content or the new one, never a mix: write a temporary sibling, fsync it, rename it over the
 * target (atomic on POSIX), then fsync the directory so the rename itself survives a power cut.
 * Every metadata file Brook writes (checkpoints, group state, markers) goes through here.
 *
 * The temporary file is `path + '.tmp'`; a leftover from an earlier crash is simply overwritten
 * (and truncated, in case it was longer). Callers must not write the same path concurrently.
 */
export async function writeFileAtomic(fs: FileSystem, path: string, data: Uint8Array): Promise<void> {
  const tmpPath = `${path}.tmp`;
  const handle = await fs.open(tmpPath, 'rw');
  await closeOnFailure(handle, async () => {
    await handle.write(data, 0);
    await handle.truncate(data.length);
    await handle.sync();
  });
  await handle.close();
  await fs.rename(tmpPath, path);
  await fs.syncDir(dirname(path));
}
