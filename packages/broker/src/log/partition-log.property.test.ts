/**
 * Model-based property test of PartitionLog on a MemoryFileSystem and a VirtualClock.
 *
 * fast-check draws a configuration (tiny segments and index intervals, so that rolls, multi-segment
 * reads and index lookups happen all the time; a tail cache off, tiny or holding everything) and
 * a list of commands: appends, groups of concurrent operations (some issued a number of microtask
 * turns late, so that they land inside an append round), reads, timestamp lookups, clock advances, retention, flushes, clean close +
 * reopen, crashes (a power cut that drops or tears unsynced writes, or a process kill; between
 * commands or at the nth file system operation of a group; optionally again during the recovery
 * and again right after it), and failed writes and fsyncs. Each command runs on the real log and
 * checks it against a model. A failure prints the seed and the shrunk command list; replay with
 * `{ seed, path }` in `fc.assert`'s options. The bugs it found are pinned as plain tests at the end.
 *
 * The model is the list of acknowledged batches (bytes as encoded, offsets, record timestamps),
 * startOffset, and two bounds on what a crash may take back:
 *
 * - `durableEnd`: a crash keeps at least the offsets below it. It rises when an append resolves
 *   under 'always', when flush() or close() resolves, when the { intervalMs } timer fires, and
 *   at a crash to where the sealed segments end (every segment but the last two is sealed, the
 *   one before the last once its index files exist: partition-log.ts seals behind the active one). After a power cut all that survived is on the platter, so it becomes the recovered
 *   endOffset; after a process kill only under 'always', whose promise is that nothing visible can
 *   be taken back.
 * - `durableStart`: applyRetention moves startOffset only once its new start is durable (the
 *   log-start checkpoint, written before any file is unlinked), so the startOffset seen when a
 *   crash came survives it, whatever files the crash left: startOffset never moves backwards. A
 *   retention interrupted before its checkpoint was durable took nothing out.
 *
 * After a crash the log must hold a prefix of the candidates (the acknowledged batches plus those
 * in flight when it crashed), byte for byte at their offsets, ending at a batch boundary at or
 * above durableEnd; the next append continues at its endOffset.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { FsyncPolicy } from '../config/defaults.js';
import {
  AdvanceClockCommand, afterTurns, AppendCommand, batchArb, CloseReopenCommand, ConcurrentCommand, FlushCommand, groupOpArb,
  OffsetForTimestampCommand, ReadCommand, readSizeArb, RetentionCommand, retentionArb, targetArb, type LogCommand,
} from './log-commands.fixture.js';
import { bury, CrashCommand, crashArb, FailSyncCommand, FailWriteCommand, failSyncArb } from './log-crash-commands.fixture.js';
import { batchOf, LOG_DIR, logFixture } from './log-fixture.js';
import { expectLogMatches, LogModel, type Real } from './log-model.fixture.js';
import { segmentStem } from './segment-files.js';

/** Runs per fsync policy; raise with BROOK_PROPERTY_RUNS=500 for a longer soak. */
const NUM_RUNS = Number(process.env['BROOK_PROPERTY_RUNS'] ?? 150);
const MAX_COMMANDS = 50;

const commandArb: fc.Arbitrary<LogCommand> = fc.oneof(
  { weight: 8, arbitrary: batchArb.map((batch) => new AppendCommand(batch)) },
  { weight: 3, arbitrary: fc.array(groupOpArb, { minLength: 2, maxLength: 8 }).map((ops) => new ConcurrentCommand(ops)) },
  { weight: 3, arbitrary: fc.record({ pick: fc.nat(), size: readSizeArb }).map((r) => new ReadCommand(r.pick, r.size)) },
  { weight: 2, arbitrary: targetArb.map((target) => new OffsetForTimestampCommand(target)) },
  // Long advances (past retention ages, segmentMsMax), and short ones, within a few { intervalMs }: the timer's window.
  { weight: 2, arbitrary: fc.oneof(fc.integer({ min: 0, max: 30_000 }), fc.integer({ min: 0, max: 3_000 })).map((ms) => new AdvanceClockCommand(ms)) },
  { weight: 2, arbitrary: retentionArb.map((policy) => new RetentionCommand(policy)) },
  { weight: 1, arbitrary: fc.constant(new FlushCommand()) },
  { weight: 1, arbitrary: fc.constant(new CloseReopenCommand()) },
  { weight: 3, arbitrary: crashArb.map((spec) => new CrashCommand(spec)) },
  { weight: 1, arbitrary: fc.array(batchArb, { minLength: 1, maxLength: 4 }).map((appends) => new FailWriteCommand(appends)) },
  { weight: 1, arbitrary: failSyncArb.map((spec) => new FailSyncCommand(spec)) },
);

interface LogConfig {
  readonly segmentBytesMax: number;
  readonly indexIntervalBytes: number;
  readonly segmentMsMax: number;
  readonly readChunkBytes: number;
  readonly intervalMs: number;
  readonly tailCacheBytes: number;
}

const configArb: fc.Arbitrary<LogConfig> = fc.record({
  segmentBytesMax: fc.integer({ min: 1024, max: 8192 }),
  indexIntervalBytes: fc.integer({ min: 64, max: 512 }),
  segmentMsMax: fc.integer({ min: 2_000, max: 30_000 }),
  readChunkBytes: fc.constantFrom(128, 1024, 64 * 1024),
  intervalMs: fc.integer({ min: 200, max: 5_000 }),
  // Off (every read from the files), a few small batches, or the whole log.
  tailCacheBytes: fc.constantFrom(0, 300, 1024 * 1024),
});

async function runModel(fsyncKind: 'always' | 'never' | 'interval', config: LogConfig, commands: Iterable<LogCommand>): Promise<void> {
  const fsync: FsyncPolicy = fsyncKind === 'interval' ? { intervalMs: config.intervalMs } : fsyncKind;
  const fixture = logFixture({
    fsync,
    segmentBytesMax: config.segmentBytesMax,
    segmentMsMax: config.segmentMsMax,
    indexIntervalBytes: config.indexIntervalBytes,
    readChunkBytes: config.readChunkBytes,
    tailCacheBytes: config.tailCacheBytes,
    batchBytesMax: 1024 * 1024,
  });
  const real: Real = { ...fixture, log: await fixture.open() };
  const model = new LogModel(fsync);
  await fc.asyncModelRun(() => ({ model, real }), commands);
  await expectLogMatches(real, model);
  await real.log.close();
}

describe('PartitionLog against a model (fast-check)', () => {
  // The runs take a few seconds. Shrinking a long command list can take minutes: it is cut off
  // after 40 s, still reporting the seed and the smallest counterexample so far, before vitest's
  // own timeout would kill the test without either.
  it.each(['always', 'never', 'interval'] as const)("fsync '%s'", { timeout: 90_000 }, async (fsyncKind) => {
    await fc.assert(
      fc.asyncProperty(configArb, fc.commands([commandArb], { maxCommands: MAX_COMMANDS, size: 'large' }), (config, commands) => runModel(fsyncKind, config, commands)),
      // A run takes tens of ms; `timeout` turns a hang (a lost wakeup) into a failure with a seed.
      { numRuns: NUM_RUNS, timeout: 10_000, interruptAfterTimeLimit: 40_000 },
    );
  });
});

describe('PartitionLog regressions the model found, shrunk', () => {
  it('a seal whose fsync fails rejects the flush that must cover it, however early it failed, and the log until reopen', async () => {
    const fixture = logFixture({ fsync: 'never', segmentBytesMax: 1 });
    const log = await fixture.open();
    fixture.fs.failNext('sync', { path: /\.log$/, errno: 'EIO' });
    // One round: 'a' fills segment 0, whose seal fails while 'b' is written into segment 1.
    // Under 'never' both appends resolve once written; the flush must cover the seal.
    const results = await Promise.allSettled([log.append(batchOf('a', 1)), log.append(batchOf('b', 1)), log.flush()]);
    expect(results.map((result) => result.status)).toEqual(['fulfilled', 'fulfilled', 'rejected']);
    await expect(log.append(batchOf('c', 1))).rejects.toMatchObject({ code: 'IO_ERROR' });
  });

  it('index files a clean close left on the active segment never pass for its seal once it has more records', async () => {
    // Room for two batches: 'early' and 'late' share segment 0, 'next' rolls it.
    const fixture = logFixture({ fsync: 'always', segmentBytesMax: 2 * batchOf('early', 1).length });
    const t = fixture.clock.now();
    const first = await fixture.open();
    await first.append(batchOf('early', 1, t));
    await first.close();
    const log = await fixture.open({ cleanShutdown: true });
    await log.append(batchOf('late', 1, t + 5_000));
    // Killed as the seal of segment 0 (rolled by the next append) renames its first index file in.
    fixture.fs.onOperation = (op) => {
      if (op.kind === 'rename' && op.to === `${LOG_DIR}/${segmentStem(0n)}.index`) throw new Error('killed');
    };
    await expect(log.append(batchOf('next', 1, t + 9_000))).rejects.toThrow();
    await bury(fixture.fs, log);
    const reopened = await fixture.open();
    // Stale index files (from the close) would say segment 0 ends at 'early''s timestamp.
    expect(await reopened.offsetForTimestamp(t + 5_000)).toBe(1n);
    expect(reopened.endOffset).toBe(3n);
  });

  it('concurrent applyRetention calls each report the startOffset their own deletions reached', async () => {
    const log = await logFixture({ segmentBytesMax: 1 }).open();
    for (let i = 0; i < 3; i++) await log.append(batchOf(`b${i}`, 1));
    expect(log.segmentCount).toBe(3);
    const [first, second] = await Promise.all([log.applyRetention({ maxBytes: log.sizeBytes - 1 }), log.applyRetention({ maxBytes: 0 })]);
    expect(first).toEqual({ deletedSegments: 1, previousStartOffset: 0n, startOffset: 1n });
    expect(second).toEqual({ deletedSegments: 1, previousStartOffset: 1n, startOffset: 2n });
  });

  it('a process killed while creating a segment leaves no name a later power cut takes away with acknowledged records', async () => {
    const fixture = logFixture({ fsync: 'always', segmentBytesMax: 1 });
    const log = await fixture.open();
    await log.append(batchOf('a', 1));
    // Killed after the new segment's file was created, before the directory fsync.
    const second = `${LOG_DIR}/${segmentStem(1n)}.log`;
    fixture.fs.onOperation = (op) => {
      if (op.kind === 'truncate' && op.path === second) throw new Error('killed');
    };
    await expect(log.append(batchOf('b', 1))).rejects.toThrow();
    await bury(fixture.fs, log);
    const reopened = await fixture.open();
    expect(await reopened.append(batchOf('c', 1))).toEqual({ baseOffset: 1n, lastOffset: 1n });
    fixture.fs.powerCut();
    expect((await fixture.open()).endOffset).toBe(2n);
  });

  it('a record whose fsync failed is fsynced by the recovery after a process kill before it becomes visible', async () => {
    const fixture = logFixture({ fsync: 'always' });
    const log = await fixture.open();
    await log.append(batchOf('a', 1));
    fixture.fs.failNext('sync', { errno: 'EIO' });
    await expect(log.append(batchOf('b', 1))).rejects.toMatchObject({ code: 'IO_ERROR' });
    await bury(fixture.fs, log);
    const reopened = await fixture.open();
    expect(reopened.endOffset).toBe(2n);
    fixture.fs.powerCut();
    expect((await fixture.open()).endOffset).toBe(2n);
  });

  it('a read racing an append round that rolls mid-round returns contiguous offsets', async () => {
    const batchBytes = batchOf('b00', 1).length;
    const fixture = logFixture({ fsync: 'never', segmentBytesMax: 21 * batchBytes });
    const log = await fixture.open();
    for (let i = 0; i < 20; i++) await log.append(batchOf(`b${String(i).padStart(2, '0')}`, 1));
    // One round: `fits` fills the active segment, `rolls` goes to a new one.
    const [batches] = await Promise.all([
      log.read(0n, { maxBytes: 1024 * 1024 }),
      log.append(batchOf('fit', 1)),
      log.append(batchOf('rolls', 1)),
    ]);
    expect(log.segmentCount).toBe(2);
    const offsets = batches.map((batch) => batch.header.baseOffset);
    expect(offsets).toEqual(offsets.map((_, i) => BigInt(i)));
  });

  it('offsetForTimestamp issued during an append round never skips the record that matches', async () => {
    // Issued at each microtask turn of the round, so that some land between the write and the
    // moment endOffset moves. The answer is 1 either way: the match, or endOffset before it.
    for (let turns = 0; turns < 100; turns++) {
      const log = await logFixture().open();
      await log.append(batchOf('a', 1, 1000));
      const appended = Promise.all([log.append(batchOf('match', 1, 9000)), log.append(batchOf('b', 3, 1000))]);
      const found = afterTurns(turns).then(() => log.offsetForTimestamp(5000));
      await appended;
      expect(await found, `issued after ${turns} turns`).toBe(1n);
    }
  });
});
