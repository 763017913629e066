/** The crash and failed-I/O commands of PartitionLog's property test, with their arbitraries and recovery checks. Test-only. */
import fc from 'fast-check';
import { expect } from 'vitest';
import {
  isBrookError, keepAllPending, keepRandomPending, SeededRandom, tearLastWrite, type KeepPolicy, type MemoryFileSystem,
} from '@brook/protocol';
import { AppendCommand, batchArb, describeBatch, retentionArb, type LogCommand } from './log-commands.fixture.js';
import { LOG_DIR } from './log-fixture.js';
import {
  expectedDeletions, expectLogMatches, segmentsOf, type BatchSpec, type LogModel, type ModelBatch, type Real,
} from './log-model.fixture.js';
import type { AppendResult, PartitionLog, RetentionResult } from './partition-log.js';
import type { RetentionPolicy } from './retention.js';
import { parseSegmentLogName, segmentStem } from './segment-files.js';

type KeepSpec =
  | { readonly kind: 'nothing' }
  | { readonly kind: 'all' }
  | { readonly kind: 'tear'; readonly bytes: number }
  | { readonly kind: 'random'; readonly seed: number; readonly maxTornBytes: number };

const keepArb: fc.Arbitrary<KeepSpec> = fc.oneof(
  fc.constant({ kind: 'nothing' as const }),
  fc.constant({ kind: 'all' as const }),
  fc.record({ kind: fc.constant('tear' as const), bytes: fc.nat(8_000) }),
  fc.record({ kind: fc.constant('random' as const), seed: fc.nat(), maxTornBytes: fc.nat(8_000) }),
);

function keepPolicy(spec: KeepSpec): KeepPolicy | undefined {
  switch (spec.kind) {
    case 'nothing': return undefined;
    case 'all': return keepAllPending;
    case 'tear': return tearLastWrite(spec.bytes);
    case 'random': return keepRandomPending(new SeededRandom(spec.seed), spec.maxTornBytes);
  }
}

/** A power cut (unsynced writes dropped or torn per `keep`) or a process kill (nothing lost). */
type CrashHow = { readonly kind: 'power'; readonly keep: KeepSpec } | { readonly kind: 'kill' };

const crashHowArb: fc.Arbitrary<CrashHow> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('power' as const), keep: keepArb }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'kill' as const }) },
);

function describeCrash(how: CrashHow): string {
  return how.kind === 'kill' ? 'kill' : `power(${JSON.stringify(how.keep)})`;
}

/**
 * A group of ops issued in one tick (appends, then retention, flush, close), and a crash at the
 * `atOp`th mutating file system operation they make (0, or past their last one: once they are done).
 */
interface CrashSpec {
  readonly appends: readonly BatchSpec[];
  readonly retention: RetentionPolicy | undefined;
  readonly flush: boolean;
  readonly close: boolean;
  readonly atOp: number;
  readonly how: CrashHow;
  /** A second crash at that operation of the reopen's recovery, then a reopen that must succeed. */
  readonly duringRecovery: { readonly atOp: number; readonly how: CrashHow } | undefined;
  /**
   * The power fails again right after the reopen: what the recovered log showed must survive it
   * as far as the fsync policy promises (all of it under 'always').
   */
  readonly powerAgain: KeepSpec | undefined;
  /** Appended right after recovery: it must land at the recovered endOffset. */
  readonly probe: BatchSpec | undefined;
}

/** Makes the `atOp`th mutating operation crash; the dead process's later operations all fail. */
function armCrash(real: Real, atOp: number, how: CrashHow, onCrash: () => void): { readonly crashed: () => boolean; crashNow(): void } {
  let seen = 0;
  let crashed = false;
  const crashNow = (): void => {
    crashed = true;
    onCrash();
    if (how.kind === 'power') real.fs.powerCut({ keep: keepPolicy(how.keep) });
  };
  real.fs.onOperation = () => {
    if (crashed) throw new Error('the process is dead');
    seen += 1;
    if (seen !== atOp) return;
    crashNow();
    // A power cut makes the interrupted operation fail CLOSED by itself; a killed process's
    // operation simply never happens.
    if (how.kind === 'kill') throw new Error('the process is dead');
  };
  return { crashed: () => crashed, crashNow };
}

/** Lets the dead log's remaining work fail, and stops its fsync timer, without touching the disk. */
export async function bury(fs: MemoryFileSystem, log: PartitionLog, pending: readonly Promise<unknown>[] = []): Promise<void> {
  fs.onOperation = () => {
    throw new Error('the process is dead');
  };
  await Promise.allSettled(pending);
  await log.close().catch(() => undefined);
  fs.onOperation = undefined;
}

/**
 * Where the sealed segments end: every segment but the last two is sealed (fsynced), and the
 * one before the last is once both its index files exist (a seal writes them after its fsync).
 */
async function sealedSegmentsEnd(real: Real): Promise<number> {
  const names = await real.fs.readdir(LOG_DIR);
  const bases = names.map(parseSegmentLogName).filter((base): base is bigint => base !== undefined);
  const beforeLast = bases.at(-2);
  const sealed = (base: bigint): boolean => names.includes(`${segmentStem(base)}.index`) && names.includes(`${segmentStem(base)}.timeindex`);
  if (beforeLast !== undefined && !sealed(beforeLast)) return Number(beforeLast);
  return Number(bases.at(-1) ?? 0n);
}

/** What the model knows when a crash has happened: the candidates and the bounds. */
interface Aftermath {
  /** Batches appended but not (all) acknowledged, in offset order after the model's end. */
  readonly inFlight: readonly ModelBatch[];
  readonly durableEnd: number;
  readonly durableStart: number;
  /** startOffset as far as deletions had got: recovery may find less deleted, never more. */
  readonly highestStart: number;
  readonly poweredOff: boolean;
}

/** Reopens after a crash (maybe crashing the recovery too), checks it against the bounds, adopts it. */
async function recoverAndCheck(model: LogModel, real: Real, after: Aftermath, spec: Pick<CrashSpec, 'duringRecovery' | 'powerAgain' | 'probe'>): Promise<void> {
  const { inFlight } = after;
  let poweredOff = after.poweredOff;
  if (spec.duringRecovery) {
    const second = armCrash(real, spec.duringRecovery.atOp, spec.duringRecovery.how, () => undefined);
    try {
      real.log = await real.open({ cleanShutdown: false });
      real.fs.onOperation = undefined;
      expect(second.crashed(), 'an open that crashed cannot succeed').toBe(false);
    } catch (error) {
      expect(second.crashed(), `open failed without a crash: ${String(error)}`).toBe(true);
      real.fs.onOperation = undefined;
      if (spec.duringRecovery.how.kind === 'power') poweredOff = true;
      real.log = await real.open({ cleanShutdown: false });
    }
  } else {
    real.log = await real.open({ cleanShutdown: false });
  }
  model.nextTimerAtMs = undefined; // a log opens clean: nothing armed

  const candidateEnd = inFlight.at(-1) ? inFlight.at(-1)!.base + inFlight.at(-1)!.count : model.end;
  const end = Number(real.log.endOffset);
  const start = Number(real.log.startOffset);
  const boundary = (offset: number): boolean => offset === 0 || offset === candidateEnd || model.batchAt(offset, inFlight) !== undefined;
  expect(end, 'a crash keeps everything durable').toBeGreaterThanOrEqual(after.durableEnd);
  expect(end, 'nothing appears that was not appended').toBeLessThanOrEqual(candidateEnd);
  expect(boundary(end), `recovered endOffset ${end} is a batch boundary`).toBe(true);
  expect(start, 'a resolved deletion stays deleted').toBeGreaterThanOrEqual(after.durableStart);
  expect(start, 'recovery deletes nothing').toBeLessThanOrEqual(after.highestStart);
  expect(start, 'startOffset <= endOffset').toBeLessThanOrEqual(end);
  expect(boundary(start), `recovered startOffset ${start} is a batch boundary`).toBe(true);

  // Adopt what survived: a prefix of the candidates.
  model.batches.push(...inFlight);
  model.batches = model.batches.filter((batch) => batch.base < end);
  model.start = start;
  // After a power cut what survived is on the platter. After a kill, what recovery found may
  // still be only in the page cache, so the bounds stay; except that under 'always' whatever is
  // visible must be durable.
  model.durableStart = poweredOff ? start : after.durableStart;
  model.durableEnd = poweredOff || model.fsync === 'always' ? end : after.durableEnd;
  await expectLogMatches(real, model);

  if (spec.powerAgain) {
    real.fs.powerCut({ keep: keepPolicy(spec.powerAgain) });
    await bury(real.fs, real.log);
    const bounds = { inFlight: [], durableEnd: model.durableEnd, durableStart: model.durableStart, highestStart: model.start, poweredOff: true };
    await recoverAndCheck(model, real, bounds, { duringRecovery: undefined, powerAgain: undefined, probe: undefined });
  }
  if (spec.probe) await new AppendCommand(spec.probe).run(model, real);
}

function describeAfter(spec: Pick<CrashSpec, 'powerAgain' | 'probe'>): string {
  return `${spec.powerAgain ? `, power again ${JSON.stringify(spec.powerAgain)}` : ''}${spec.probe ? `, probe ${describeBatch(spec.probe)}` : ''}`;
}

export class CrashCommand implements LogCommand {
  constructor(readonly spec: CrashSpec) {}
  check = (): boolean => true;

  async run(model: LogModel, real: Real): Promise<void> {
    const { spec } = this;
    const { log, clock } = real;
    const nowMs = clock.now();
    const segments = spec.retention ? await segmentsOf(real, model) : [];
    // The group, issued in one tick; each op records when it resolves, so that the crash can see
    // what had been acknowledged when it struck.
    const inFlight: ModelBatch[] = [];
    const acked = { appends: 0, flush: false, close: false, start: model.start };
    const results: { append: AppendResult[]; retention?: RetentionResult } = { append: [] };
    const pending: Promise<unknown>[] = [];
    let nextBase = model.end;
    for (const batchSpec of spec.appends) {
      const batch = model.materialize(batchSpec, nextBase, nowMs);
      nextBase += batch.count;
      inFlight.push(batch);
      pending.push(log.append(batch.bytes.slice()).then((result) => {
        results.append.push(result);
        acked.appends += 1;
      }));
    }
    let retentionStart = model.start;
    if (spec.retention) {
      const deleted = expectedDeletions(segments, spec.retention, nowMs);
      retentionStart = segments[deleted]!.base;
      pending.push(log.applyRetention(spec.retention).then((result) => {
        results.retention = result;
      }));
    }
    if (spec.flush) pending.push(log.flush().then(() => (acked.flush = true)));
    if (spec.close) pending.push(log.close().then(() => (acked.close = true)));

    let durableEnd = model.durableEnd;
    let snapshot = { ...acked };
    // The startOffset readers could see when it crashed: retention moves it only once its new start is durable.
    const crash = armCrash(real, spec.atOp, spec.how, () => (snapshot = { ...acked, start: Number(log.startOffset) }));
    await Promise.allSettled(pending);
    if (!crash.crashed()) {
      // Nothing crashed mid-group, so every op completed: crash now.
      real.fs.onOperation = undefined;
      await Promise.all(pending);
      durableEnd = Math.max(durableEnd, await sealedSegmentsEnd(real));
      crash.crashNow();
    }
    await bury(real.fs, real.log, pending);
    for (const [i, result] of results.append.entries()) {
      const batch = inFlight[i]!;
      expect(result, 'append offsets').toEqual({ baseOffset: BigInt(batch.base), lastOffset: BigInt(batch.base + batch.count - 1) });
    }
    // A retention whose log-start checkpoint could not be written (the process died) took nothing out.
    const retentionKept = results.retention?.failure !== undefined && results.retention.deletedSegments === 0;
    if (results.retention) expect(results.retention.startOffset, 'retention result').toBe(BigInt(retentionKept ? model.start : retentionStart));

    // What had resolved before the crash cannot be taken back by it.
    if (model.fsync === 'always' && snapshot.appends > 0) {
      const last = inFlight[snapshot.appends - 1]!;
      durableEnd = Math.max(durableEnd, last.base + last.count);
    }
    if ((snapshot.flush || snapshot.close) && snapshot.appends === inFlight.length) durableEnd = Math.max(durableEnd, nextBase);
    await recoverAndCheck(model, real, {
      inFlight,
      durableEnd,
      durableStart: Math.max(model.durableStart, snapshot.start),
      highestStart: Math.max(model.start, retentionStart),
      poweredOff: spec.how.kind === 'power',
    }, spec);
  }

  toString(): string {
    const { spec } = this;
    const ops = [
      ...spec.appends.map((batch) => `append ${describeBatch(batch)}`),
      ...(spec.retention ? [`retention ${JSON.stringify(spec.retention)}`] : []),
      ...(spec.flush ? ['flush'] : []),
      ...(spec.close ? ['close'] : []),
    ];
    const recovery = spec.duringRecovery ? `, again at op ${spec.duringRecovery.atOp} of recovery: ${describeCrash(spec.duringRecovery.how)}` : '';
    return `crash(${describeCrash(spec.how)} at op ${spec.atOp || 'end'} of [${ops.join(', ')}]${recovery}${describeAfter(spec)})`;
  }
}

export const crashArb: fc.Arbitrary<CrashSpec> = fc.record({
  appends: fc.array(batchArb, { maxLength: 5 }),
  retention: fc.option(retentionArb, { nil: undefined, freq: 4 }),
  flush: fc.boolean(),
  close: fc.boolean(),
  // Mostly early: the first operations of a round (write, fsync, a roll's) are where it hurts.
  atOp: fc.oneof({ weight: 2, arbitrary: fc.constant(0) }, { weight: 3, arbitrary: fc.integer({ min: 1, max: 6 }) }, { weight: 2, arbitrary: fc.integer({ min: 7, max: 40 }) }),
  how: crashHowArb,
  duringRecovery: fc.option(fc.record({ atOp: fc.integer({ min: 1, max: 12 }), how: crashHowArb }), { nil: undefined, freq: 4 }),
  powerAgain: fc.option(keepArb, { nil: undefined }),
  probe: fc.option(batchArb, { nil: undefined }),
});

/** A write that fails (ENOSPC) fails its round only: nothing becomes visible, the log goes on. */
export class FailWriteCommand implements LogCommand {
  constructor(readonly appends: readonly BatchSpec[]) {}
  check = (): boolean => true;

  async run(model: LogModel, real: Real): Promise<void> {
    const { log, fs, clock } = real;
    fs.failNext('write', { path: /\.log$/, errno: 'ENOSPC' });
    const batches = this.appends.map((spec) => model.materialize(spec, model.end, clock.now()));
    const results = await Promise.allSettled(batches.map((batch) => log.append(batch.bytes.slice())));
    for (const result of results) {
      expect(result.status, 'the failed round rejects every append in it').toBe('rejected');
      expect(isBrookError((result as PromiseRejectedResult).reason, 'IO_ERROR'), String((result as PromiseRejectedResult).reason)).toBe(true);
    }
    await expectLogMatches(real, model);
  }

  toString(): string {
    return `failWrite(${this.appends.map(describeBatch).join(', ')})`;
  }
}

/** A failed fsync (EIO) fails the log until reopen; the reopen finds out what survived. */
export class FailSyncCommand implements LogCommand {
  constructor(readonly spec: Pick<CrashSpec, 'appends' | 'how' | 'powerAgain' | 'probe'>) {}
  check = (): boolean => true;

  async run(model: LogModel, real: Real): Promise<void> {
    const { spec } = this;
    const { log, fs, clock } = real;
    fs.failNext('sync', { path: /\.log$/, errno: 'EIO' });
    let nextBase = model.end;
    const inFlight = spec.appends.map((batchSpec) => {
      const batch = model.materialize(batchSpec, nextBase, clock.now());
      nextBase += batch.count;
      return batch;
    });
    const results = await Promise.allSettled([...inFlight.map((batch) => log.append(batch.bytes.slice())), log.flush()]);
    const appended = results.slice(0, -1).filter((result) => result.status === 'fulfilled').length;
    // Under 'always' the round waits for its fsync, so all of it fails. Under 'never' and
    // { intervalMs } appends resolve once written (unless the round itself failed, a roll
    // waiting on the failed seal) and only the flush, whose fsync runs beside, fails.
    if (model.fsync === 'always') expect(appended, 'the round whose fsync failed rejects all in it').toBe(0);
    else expect([0, inFlight.length], 'a round resolves or rejects as a whole').toContain(appended);
    for (const result of appended > 0 ? results.slice(-1) : results) {
      expect(result.status, 'the flush whose fsync failed rejects').toBe('rejected');
      expect(isBrookError((result as PromiseRejectedResult).reason, 'IO_ERROR'), String((result as PromiseRejectedResult).reason)).toBe(true);
    }
    expect(log.endOffset, 'a failed round shows nothing; a written one all').toBe(BigInt(appended > 0 ? nextBase : model.end));
    await expect(log.flush(), 'a failed log refuses work until reopened').rejects.toMatchObject({ code: 'IO_ERROR' });
    const durableEnd = Math.max(model.durableEnd, await sealedSegmentsEnd(real));
    if (spec.how.kind === 'power') fs.powerCut({ keep: keepPolicy(spec.how.keep) });
    await bury(real.fs, real.log);
    await recoverAndCheck(model, real, {
      inFlight, durableEnd, durableStart: model.durableStart, highestStart: model.start, poweredOff: spec.how.kind === 'power',
    }, { duringRecovery: undefined, powerAgain: spec.powerAgain, probe: spec.probe });
  }

  toString(): string {
    const { spec } = this;
    return `failSync(${spec.appends.map(describeBatch).join(', ')}; then ${describeCrash(spec.how)}${describeAfter(spec)})`;
  }
}

export const failSyncArb = fc.record({
  appends: fc.array(batchArb, { maxLength: 4 }),
  how: crashHowArb,
  powerAgain: fc.option(keepArb, { nil: undefined }),
  probe: fc.option(batchArb, { nil: undefined }),
});
