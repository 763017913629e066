/**
 * The log-start checkpoint (log-start.ts) as open reads it: the rows of the recovery table about
 * log-start.json. How retention writes it, and what it keeps from coming back, is in
 * topics/retention-pass.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { batchOf, LOG_DIR, logFixture, readAll, text } from './log-fixture.js';
import { logStartPath, writeLogStart } from './log-start.js';

/** A closed log of 6 batches of 2 records, 2 batches a segment: segments at 0, 4 and 8. */
async function threeSegments(fixture: ReturnType<typeof logFixture>): Promise<void> {
  const log = await fixture.open();
  for (let i = 0; i < 6; i++) await log.append(batchOf(`b${i}`, 2, 1_700_000_000_000 + i * 1000, 400));
  expect(log.segmentCount).toBe(3);
  await log.close();
}

describe('the log-start checkpoint at open', () => {
  it('none (a directory retention never trimmed, or from before the checkpoint): the log starts at its first segment', async () => {
    const fixture = logFixture({ segmentBytesMax: 2048 });
    await threeSegments(fixture);
    const log = await fixture.open();
    expect(log.startOffset).toBe(0n);
    expect(await fixture.fs.exists(logStartPath(LOG_DIR))).toBe(false);
  });

  it('none, and the first segment not at offset 0 (a directory from before the checkpoint that retention trimmed): the log starts at that segment', async () => {
    const fixture = logFixture({ segmentBytesMax: 2048 });
    await threeSegments(fixture);
    for (const suffix of ['.log', '.index', '.timeindex']) await fixture.fs.unlink(`${LOG_DIR}/00000000000000000000${suffix}`);
    const log = await fixture.open();
    expect(log.startOffset).toBe(4n);
    await expect(log.read(3n, { maxBytes: 4096 })).rejects.toMatchObject({ code: 'OFFSET_OUT_OF_RANGE' });
    expect((await readAll(log)).map((r) => r.offset)).toEqual([4n, 5n, 6n, 7n, 8n, 9n, 10n, 11n]);
  });

  it('inside a segment (not a segment boundary): that segment keeps its file, startOffset is the checkpoint, and nothing below it is read or found', async () => {
    const fixture = logFixture({ segmentBytesMax: 2048 });
    await threeSegments(fixture);
    await writeLogStart(fixture.fs, LOG_DIR, 6n);
    const log = await fixture.open();
    expect(log.startOffset).toBe(6n);
    expect(log.recovery.removedFiles).toEqual(['00000000000000000000.log', '00000000000000000000.index', '00000000000000000000.timeindex']);
    expect(log.segmentCount).toBe(2);
    await expect(log.read(5n, { maxBytes: 4096 })).rejects.toMatchObject({ code: 'OFFSET_OUT_OF_RANGE' });
    expect((await readAll(log)).map((r) => text(r.value)!.slice(0, 4))).toEqual(['b3-0', 'b3-1', 'b4-0', 'b4-1', 'b5-0', 'b5-1']);
    expect(await log.offsetForTimestamp(0)).toBe(6n);
    await log.append(batchOf('after', 1));
    expect(log.endOffset).toBe(13n);
  });

  it.each([
    ['startOffset not a decimal string', '{"version":1,"startOffset":4}'],
    ['another version', '{"version":2,"startOffset":"4"}'],
    ['no version', '{"startOffset":"4"}'],
    ['not JSON', '{"version":1,'],
  ])('fails validation (%s): the open stops with CORRUPT_METADATA naming it (ignoring it would bring dropped records back)', async (_what, contents) => {
    const fixture = logFixture({ segmentBytesMax: 2048 });
    await threeSegments(fixture);
    await fixture.fs.writeFile(logStartPath(LOG_DIR), new TextEncoder().encode(contents));
    await expect(fixture.open()).rejects.toMatchObject({ code: 'CORRUPT_METADATA', details: { file: logStartPath(LOG_DIR) } });
  });

  it('past the end of the log (segments lost that retention never deleted): CORRUPT_METADATA', async () => {
    const fixture = logFixture({ segmentBytesMax: 2048 });
    await threeSegments(fixture);
    await writeLogStart(fixture.fs, LOG_DIR, 13n);
    await expect(fixture.open()).rejects.toMatchObject({ code: 'CORRUPT_METADATA', details: { file: logStartPath(LOG_DIR), startOffset: 13n, endOffset: 12n } });
  });

  it('renamed in place but its directory fsync failed (retention fails the log for it, so the next open is unclean; not leaning on that, an open trusting a clean close): an open that starts the log there makes it durable before an append is acknowledged', async () => {
    const fixture = logFixture({ segmentBytesMax: 2048 });
    await threeSegments(fixture);
    fixture.fs.failNext('syncDir', { errno: 'EIO', path: LOG_DIR });
    await expect(writeLogStart(fixture.fs, LOG_DIR, 8n)).rejects.toMatchObject({ code: 'IO_ERROR' });
    const log = await fixture.open({ cleanShutdown: true });
    expect(log.startOffset).toBe(8n);
    await log.append(batchOf('acknowledged', 1));
    fixture.fs.powerCut();
    const reopened = await fixture.open();
    expect(reopened.startOffset).toBe(8n);
    expect((await readAll(reopened)).map((r) => r.offset)).toEqual([8n, 9n, 10n, 11n, 12n]);
  });

  it('a leftover log-start.json.tmp (its atomic write cut short) is deleted', async () => {
    const fixture = logFixture({ segmentBytesMax: 2048 });
    await threeSegments(fixture);
    await fixture.fs.writeFile(`${logStartPath(LOG_DIR)}.tmp`, new Uint8Array(3));
    const log = await fixture.open();
    expect(log.recovery.removedFiles).toContain('log-start.json.tmp');
    expect(log.startOffset).toBe(0n);
  });
});
