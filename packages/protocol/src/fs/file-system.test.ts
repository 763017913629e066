import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { describeFileSystemConformance } from './file-system-conformance.js';
import { MemoryFileSystem } from './memory-file-system.js';
import { NodeFileSystem } from './node-file-system.js';

describeFileSystemConformance('NodeFileSystem', async () => {
  const root = await mkdtemp(join(tmpdir(), 'brook-fs-'));
  return { fs: new NodeFileSystem(), root, cleanup: () => rm(root, { recursive: true, force: true }) };
});

describeFileSystemConformance('MemoryFileSystem', async () => {
  const fs = new MemoryFileSystem();
  await fs.mkdir('/data');
  return { fs, root: '/data' };
});

it('NodeFileSystem keeps the node error as the cause of IO_ERROR', async () => {
  const error: unknown = await new NodeFileSystem().readFile(join(tmpdir(), 'brook-surely-missing')).catch((e: unknown) => e);
  expect(error).toMatchObject({ code: 'IO_ERROR', cause: { code: 'ENOENT' } });
});
