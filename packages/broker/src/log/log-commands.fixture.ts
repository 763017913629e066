/** Arbitraries and the ordinary (non-crashing) commands of PartitionLog's property test. Test-only. */
import fc from 'fast-check';
import { expect } from 'vitest';
import { LOG_DIR } from './log-fixture.js';
import {
  expectedDeletions, expectLogMatches, expectRead, segmentsOf, type BatchSpec, type LogModel, type ModelBatch, type Real,
} from './log-model.fixture.js';
import type { RetentionPolicy } from './retention.js';
import { segmentStem } from './segment-files.js';

// ---------------------------------------------------------------------------------------------
// Arbitraries

/** Batches of 1..20 records of 0..300 bytes, and as often tiny ones, so segments hold many batches. */
export const batchArb: fc.Arbitrary<BatchSpec> = fc.oneof(
  fc.record({
    records: fc.array(
      fc.record({ valueBytes: fc.integer({ min: -1, max: 300 }), tsDelta: fc.integer({ min: -1_000, max: 1_000 }) }),
      { minLength: 1, maxLength: 20, size: 'max' },
    ),
    baseTsDelta: fc.integer({ min: -20_000, max: 2_000 }),
    fill: fc.nat(255),
  }),
  fc.record({
    records: fc.array(
      fc.record({ valueBytes: fc.integer({ min: -1, max: 16 }), tsDelta: fc.integer({ min: -1_000, max: 1_000 }) }),
      { minLength: 1, maxLength: 3 },
    ),
    baseTsDelta: fc.integer({ min: -20_000, max: 2_000 }),
    fill: fc.nat(255),
  }),
);

/** A timestamp to look up: a record's (`pick` by modulo) plus `delta`, or just outside them all. */
interface TargetSpec {
  readonly pick: number;
  readonly delta: number;
  readonly beyond: 'none' | 'below' | 'above';
}

export const targetArb: fc.Arbitrary<TargetSpec> = fc.record({
  pick: fc.nat(),
  delta: fc.integer({ min: -1, max: 1 }),
  beyond: fc.constantFrom('none', 'none', 'none', 'below', 'above'),
});

export const retentionArb: fc.Arbitrary<RetentionPolicy> = fc.record({
  maxBytes: fc.option(fc.integer({ min: 0, max: 40_000 }), { nil: undefined }),
  maxAgeMs: fc.option(fc.integer({ min: 0, max: 60_000 }), { nil: undefined }),
});

// ---------------------------------------------------------------------------------------------
// Commands

export type LogCommand = fc.AsyncCommand<LogModel, Real>;

export function describeBatch(spec: BatchSpec): string {
  return `${spec.records.length}r/${spec.records.reduce((sum, r) => sum + Math.max(r.valueBytes, 0), 0)}B@${spec.baseTsDelta}`;
}

export class AppendCommand implements LogCommand {
  constructor(readonly batch: BatchSpec) {}
  check = (): boolean => true;

  async run(model: LogModel, real: Real): Promise<void> {
    const batch = model.materialize(this.batch, model.end, real.clock.now());
    const result = await real.log.append(batch.bytes.slice());
    expect(result, 'append continues at endOffset').toEqual({ baseOffset: BigInt(batch.base), lastOffset: BigInt(batch.base + batch.count - 1) });
    model.batches.push(batch);
    model.wrote(real.clock.now());
    expect(real.log.endOffset, 'endOffset after append').toBe(BigInt(model.end));
    if (model.fsync === 'always') model.durableEnd = model.end;
  }

  toString(): string {
    return `append(${describeBatch(this.batch)})`;
  }
}

/** A read's maxBytes: a number of bytes, or exactly what `batches` batches take, give or take a byte. */
type ReadSize = { readonly bytes: number } | { readonly batches: number; readonly slack: number };

export const readSizeArb: fc.Arbitrary<ReadSize> = fc.oneof(
  fc.record({ bytes: fc.integer({ min: 1, max: 16_384 }) }),
  fc.record({ batches: fc.integer({ min: 1, max: 6 }), slack: fc.integer({ min: -1, max: 1 }) }),
);

function maxBytesFor(model: LogModel, offset: number, size: ReadSize): number {
  if ('bytes' in size) return size.bytes;
  let bytes = 0;
  for (let i = 0, at = offset < model.end ? model.batchContaining(offset).base : model.end; i < size.batches && at < model.end; i++) {
    const batch = model.batchAt(at)!;
    bytes += batch.bytes.length;
    at += batch.count;
  }
  return Math.max(1, bytes + size.slack);
}

function describeSize(size: ReadSize): string {
  return 'bytes' in size ? `${size.bytes}B` : `${size.batches} batches${size.slack >= 0 ? '+' : ''}${size.slack}B`;
}

/**
 * One op of a concurrent group, issued `delay` microtask turns after the group starts: 0 is
 * before the group's first append round begins, larger ones land in the middle of rounds (between
 * a write and its fsync, inside a roll). Retention always goes at 0, so that the model knows the
 * segments it sees.
 */
type GroupOp =
  | { readonly kind: 'append'; readonly delay: number; readonly batch: BatchSpec }
  | { readonly kind: 'read'; readonly delay: number; readonly pick: number; readonly size: ReadSize }
  | { readonly kind: 'time'; readonly delay: number; readonly target: TargetSpec }
  | { readonly kind: 'retention'; readonly delay: 0; readonly policy: RetentionPolicy }
  /** seal: sealActive() (a flush that first starts a new segment if the active one holds anything). */
  | { readonly kind: 'flush'; readonly delay: number; readonly seal: boolean };

const delayArb = fc.oneof({ weight: 2, arbitrary: fc.constant(0) }, { weight: 3, arbitrary: fc.nat(150) });

export const groupOpArb: fc.Arbitrary<GroupOp> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('append' as const), delay: delayArb, batch: batchArb }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('read' as const), delay: delayArb, pick: fc.nat(), size: readSizeArb }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('time' as const), delay: delayArb, target: targetArb }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('retention' as const), delay: fc.constant(0 as const), policy: retentionArb }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('flush' as const), delay: delayArb, seal: fc.boolean() }) },
);

function timestampTarget(model: LogModel, spec: TargetSpec, nowMs: number): number {
  const timestamps = [...model.records()].map((r) => r.timestamp);
  if (timestamps.length === 0) return nowMs + spec.delta;
  if (spec.beyond === 'below') return Math.min(...timestamps) - 1;
  if (spec.beyond === 'above') return Math.max(...timestamps) + 1;
  return timestamps[spec.pick % timestamps.length]! + spec.delta;
}

function pickOffset(start: number, end: number, pick: number): number {
  return start + (pick % (end - start + 1));
}

export async function afterTurns(turns: number): Promise<void> {
  for (let i = 0; i < turns; i++) await null;
}

/**
 * Issues the ops in order of delay (ties in list order), awaits them all, then checks each result
 * against the model after the group. Appends get offsets in the order they are issued; a read or
 * timestamp lookup can see any prefix of the group's appends, so it is checked for being
 * contiguous, byte-identical and linearizable rather than against one expected answer.
 */
export class ConcurrentCommand implements LogCommand {
  constructor(readonly ops: readonly GroupOp[]) {}
  check = (): boolean => true;

  async run(model: LogModel, real: Real): Promise<void> {
    const { log, clock } = real;
    const nowMs = clock.now();
    const preEnd = model.end;
    let segments = this.ops.some((op) => op.kind === 'retention') ? await segmentsOf(real, model) : [];
    let start = model.start;
    /** The log's start before the group and after each of its retentions, in order. */
    const starts = [start];
    let nextBase = preEnd;
    let flushedEnd = model.durableEnd;
    const appended: ModelBatch[] = [];
    const checks: Promise<() => void>[] = [];
    const issue = <T>(delay: number, call: () => Promise<T>): Promise<T> => (delay === 0 ? call() : afterTurns(delay).then(call));
    // Sorted, so a delayed op reads at or after the startOffset every retention (delay 0) leaves.
    const ordered = this.ops.map((op, index) => ({ op, index })).sort((a, b) => a.op.delay - b.op.delay || a.index - b.index);
    for (const { op } of ordered) {
      switch (op.kind) {
        case 'append': {
          const batch = model.materialize(op.batch, nextBase, nowMs);
          nextBase += batch.count;
          appended.push(batch);
          checks.push(issue(op.delay, () => log.append(batch.bytes.slice())).then((result) => () => {
            expect(result, 'concurrent appends get offsets in the order they are issued').toEqual({
              baseOffset: BigInt(batch.base), lastOffset: BigInt(batch.base + batch.count - 1),
            });
          }));
          break;
        }
        case 'read': {
          const offset = pickOffset(start, preEnd, op.pick);
          const maxBytes = maxBytesFor(model, offset, op.size);
          checks.push(issue(op.delay, () => log.read(BigInt(offset), { maxBytes })).then((got) => () => expectRead(model, got, offset, preEnd)));
          break;
        }
        case 'time': {
          const target = timestampTarget(model, op.target, nowMs);
          // A retention of the group takes its segments out only once its log-start checkpoint is
          // durable (a few file operations later), and the group's retentions run one after
          // another: a lookup issued after them may see the log at any start they pass through.
          const lowestStart = model.start;
          const possibleStarts = [...starts];
          checks.push(issue(op.delay, () => log.offsetForTimestamp(target)).then((found) => () => {
            const offset = Number(found);
            expect(offset, 'offsetForTimestamp within [startOffset, endOffset]').toBeGreaterThanOrEqual(lowestStart);
            expect(offset).toBeLessThanOrEqual(model.end);
            // It saw the log at one of those starts: the last at or below its answer explains it best.
            const seenStart = Math.max(...possibleStarts.filter((possible) => possible <= offset));
            for (let before = seenStart; before < offset; before++) {
              expect(model.timestampAt(before), `offsetForTimestamp(${target}) = ${offset} skipped offset ${before}`).toBeLessThan(target);
            }
            const isEnd = offset >= preEnd && (offset === model.end || model.batchAt(offset) !== undefined);
            if (!isEnd) expect(model.timestampAt(offset), `offsetForTimestamp(${target}) = ${offset}`).toBeGreaterThanOrEqual(target);
          }));
          break;
        }
        case 'retention': {
          const deleted = expectedDeletions(segments, op.policy, nowMs);
          const previous = start;
          start = segments[deleted]!.base;
          starts.push(start);
          segments = segments.slice(deleted);
          const expected = { deletedSegments: deleted, previousStartOffset: BigInt(previous), startOffset: BigInt(start) };
          checks.push(log.applyRetention(op.policy).then((result) => () => expect(result, 'retention result').toEqual(expected)));
          break;
        }
        case 'flush': {
          // Covers every append issued before it, whichever round they went in.
          const covered = nextBase;
          checks.push(issue(op.delay, () => (op.seal ? log.sealActive() : log.flush())).then(() => () => {
            flushedEnd = Math.max(flushedEnd, covered);
          }));
          break;
        }
      }
    }
    const results = await Promise.all(checks);
    model.batches.push(...appended);
    if (appended.length > 0) model.wrote(nowMs);
    model.start = start;
    model.durableStart = start;
    for (const check of results) check();
    model.durableEnd = model.fsync === 'always' ? model.end : flushedEnd;
    expect(log.endOffset, 'endOffset after the group').toBe(BigInt(model.end));
    expect(log.startOffset, 'startOffset after the group').toBe(BigInt(model.start));
  }

  toString(): string {
    return `concurrent(${this.ops.map((op) => {
      const at = op.delay > 0 ? ` @${op.delay}` : '';
      switch (op.kind) {
        case 'append': return `append ${describeBatch(op.batch)}${at}`;
        case 'read': return `read ${op.pick} ${describeSize(op.size)}${at}`;
        case 'time': return `time ${JSON.stringify(op.target)}${at}`;
        case 'retention': return `retention ${JSON.stringify(op.policy)}`;
        case 'flush': return `${op.seal ? 'sealActive' : 'flush'}${at}`;
      }
    }).join(', ')})`;
  }
}

export class ReadCommand implements LogCommand {
  constructor(readonly pick: number, readonly size: ReadSize) {}
  check = (): boolean => true;

  async run(model: LogModel, real: Real): Promise<void> {
    const offset = pickOffset(model.start, model.end, this.pick);
    const maxBytes = maxBytesFor(model, offset, this.size);
    const got = await real.log.read(BigInt(offset), { maxBytes });
    expectRead(model, got, offset, model.end, maxBytes);
  }

  toString(): string {
    return `read(${this.pick}, ${describeSize(this.size)})`;
  }
}

export class OffsetForTimestampCommand implements LogCommand {
  constructor(readonly target: TargetSpec) {}
  check = (): boolean => true;

  async run(model: LogModel, real: Real): Promise<void> {
    const target = timestampTarget(model, this.target, real.clock.now());
    expect(await real.log.offsetForTimestamp(target), `offsetForTimestamp(${target})`).toBe(BigInt(model.offsetForTimestamp(target)));
  }

  toString(): string {
    return `offsetForTimestamp(${JSON.stringify(this.target)})`;
  }
}

export class AdvanceClockCommand implements LogCommand {
  constructor(readonly ms: number) {}
  check = (): boolean => true;

  async run(model: LogModel, real: Real): Promise<void> {
    await real.clock.advanceAsync(this.ms);
    if (model.nextTimerAtMs !== undefined && real.clock.now() >= model.nextTimerAtMs) {
      // The timer fired: it fsyncs whatever is unsynced, and waits for the next write.
      model.durableEnd = model.end;
      model.nextTimerAtMs = undefined;
    }
  }

  toString(): string {
    return `advance(${this.ms}ms)`;
  }
}

export class RetentionCommand implements LogCommand {
  constructor(readonly policy: RetentionPolicy) {}
  check = (): boolean => true;

  async run(model: LogModel, real: Real): Promise<void> {
    const { log, fs } = real;
    const segments = await segmentsOf(real, model);
    const deleted = expectedDeletions(segments, this.policy, real.clock.now());
    const start = segments[deleted]!.base;
    const result = await log.applyRetention(this.policy);
    expect(result, 'retention result').toEqual({ deletedSegments: deleted, previousStartOffset: BigInt(model.start), startOffset: BigInt(start) });
    model.start = start;
    model.durableStart = start;
    const names = new Set(await fs.readdir(LOG_DIR));
    for (const [i, segment] of segments.entries()) {
      const stem = segmentStem(BigInt(segment.base));
      if (i < deleted) {
        for (const suffix of ['.log', '.index', '.timeindex']) expect(names.has(stem + suffix), `${stem}${suffix} deleted whole`).toBe(false);
      } else {
        expect(names.has(`${stem}.log`), `${stem}.log kept`).toBe(true);
      }
    }
    expect(log.endOffset, 'retention never touches the active segment').toBe(BigInt(model.end));
    if (start > 0) await expect(log.read(BigInt(start - 1), { maxBytes: 1 })).rejects.toMatchObject({ code: 'OFFSET_OUT_OF_RANGE' });
  }

  toString(): string {
    return `retention(${JSON.stringify(this.policy)})`;
  }
}

export class FlushCommand implements LogCommand {
  check = (): boolean => true;

  async run(model: LogModel, real: Real): Promise<void> {
    await real.log.flush();
    model.durableEnd = model.end;
  }

  toString(): string {
    return 'flush';
  }
}

export class CloseReopenCommand implements LogCommand {
  check = (): boolean => true;

  async run(model: LogModel, real: Real): Promise<void> {
    await real.log.close();
    model.durableEnd = model.end;
    real.log = await real.open({ cleanShutdown: true });
    model.nextTimerAtMs = undefined;
    expect(real.log.recovery.truncatedBytes, 'a clean shutdown leaves nothing to cut').toBe(0);
    await expectLogMatches(real, model);
  }

  toString(): string {
    return 'close+reopen';
  }
}
