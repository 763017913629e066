import { describe, expect, it } from 'vitest';
import { writeFileAtomic } from './atomic.js';
import { keepAllPending, type KeepPolicy, MemoryFileSystem, tearLastWrite } from './memory-file-system.js';

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
const text = (data: Uint8Array): string => new TextDecoder().decode(data);

const OLD = 'old content, longer than the new one';
const NEW = 'new content';

/** A file system where /meta/state durably holds OLD, plus a stale longer tmp file from an earlier crash. */
async function setUp(): Promise<MemoryFileSystem> {
  const fs = new MemoryFileSystem();
  await fs.mkdir('/meta');
  await fs.syncDir('/');
  await writeFileAtomic(fs, '/meta/state', bytes(OLD));
  await fs.writeFile('/meta/state.tmp', bytes('stale garbage from a crashed earlier attempt'));
  return fs;
}

/** Runs writeFileAtomic with a power cut just before its `crashAt`-th mutating op; returns the op count seen. */
async function writeWithCrash(fs: MemoryFileSystem, crashAt: number, keep: KeepPolicy | undefined): Promise<number> {
  let ops = 0;
  fs.onOperation = () => {
    if (ops++ === crashAt) fs.powerCut(keep === undefined ? {} : { keep });
  };
  await writeFileAtomic(fs, '/meta/state', bytes(NEW)).catch((error: unknown) => {
    expect(error).toMatchObject({ code: 'CLOSED' });
  });
  fs.onOperation = undefined;
  return ops;
}

describe('writeFileAtomic', () => {
  it('replaces the content durably', async () => {
    const fs = await setUp();
    await writeFileAtomic(fs, '/meta/state', bytes(NEW));
    expect(text(await fs.readFile('/meta/state'))).toBe(NEW);
    fs.powerCut();
    expect(text(await fs.readFile('/meta/state'))).toBe(NEW);
  });

  const policies: Array<[string, KeepPolicy | undefined]> = [
    ['nothing unsynced survives', undefined],
    ['every unsynced op survives', keepAllPending],
    ['the last unsynced write is torn', tearLastWrite(3)],
  ];
  for (const [name, keep] of policies) {
    it(`is all-or-nothing under a power cut at every operation point (${name})`, async () => {
      const totalOps = await writeWithCrash(await setUp(), Number.POSITIVE_INFINITY, keep);
      expect(totalOps).toBeGreaterThanOrEqual(6);
      const outcomes = new Set<string>();
      for (let crashAt = 0; crashAt <= totalOps; crashAt++) {
        const fs = await setUp();
        await writeWithCrash(fs, crashAt, keep);
        if (crashAt === totalOps) fs.powerCut(keep === undefined ? {} : { keep });
        const content = text(await fs.readFile('/meta/state'));
        expect([OLD, NEW]).toContain(content);
        outcomes.add(content);
      }
      // The last crash point is after the directory fsync, so the new content must be there.
      expect(outcomes).toEqual(new Set([OLD, NEW]));
    });
  }

  it('leaves the old content when a step fails, and works on the next try', async () => {
    const fs = await setUp();
    fs.failNext('sync', { errno: 'EIO' });
    await expect(writeFileAtomic(fs, '/meta/state', bytes(NEW))).rejects.toMatchObject({ code: 'IO_ERROR' });
    expect(text(await fs.readFile('/meta/state'))).toBe(OLD);
    await writeFileAtomic(fs, '/meta/state', bytes(NEW));
    expect(text(await fs.readFile('/meta/state'))).toBe(NEW);
  });
});
