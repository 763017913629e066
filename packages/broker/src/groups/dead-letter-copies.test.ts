/**
 * DeadLetterCopies against a fake target: which copies go in one write, within the batch limits,
 * and what a failed write fails.
 */
import { BATCH_HEADER_BYTES, BrookError, sizeOfRecordMax, type LogRecord } from '@brook/protocol';
import { describe, expect, it } from 'vitest';
import type { ProduceRecord } from '../topics/record-input.js';
import type { CopyLimits } from './copy-batch.js';
import { DeadLetterCopies } from './dead-letter-copies.js';
import { deadLetterRecord, type DeadLetterOrigin, type DeadLetterTarget } from './dead-letter.js';

const LOOSE: CopyLimits = { batchRecordsMax: 1000, batchBytesMax: 1 << 20 };

function record(value: string): LogRecord {
  return { offset: 0n, timestamp: 5, key: null, value: new TextEncoder().encode(value), headers: [] };
}

function origin(partition: number, offset: number): DeadLetterOrigin {
  return { topic: 'orders', partition, offset: BigInt(offset), group: 'g', deliveryCount: 3, reason: 'bad' };
}

/** A target that records each write and answers it when `answer` is called (or at once: `auto`). */
function fakeTarget(partitionCount = 1) {
  const writes: { topic: string; records: ProduceRecord[]; answer: (error?: unknown) => void }[] = [];
  let next = 0n;
  let ensureFailure: unknown;
  const target: DeadLetterTarget = {
    ensureTopic: async () => {
      if (ensureFailure) throw ensureFailure;
    },
    partitions: () => Array.from({ length: partitionCount }),
    produce: (topic, records) => new Promise((resolve, reject) => {
      writes.push({
        topic, records,
        answer: (error) => (error ? reject(error) : resolve(records.map((r) => ({ partition: r.partition!, offset: next++ })))),
      });
    }),
  };
  return { target, writes, failEnsure: (error: unknown) => void (ensureFailure = error) };
}

/** Lets the copier's awaits run. */
const turn = () => new Promise((resolve) => setImmediate(resolve));

describe('DeadLetterCopies', () => {
  it('copies asked for in one turn go in one write; those asked for while it runs go in the next one', async () => {
    const { target, writes } = fakeTarget();
    const copies = new DeadLetterCopies(target, () => LOOSE);
    const first = [0, 1, 2].map((i) => copies.copy('orders.dlq', record(`a${i}`), origin(0, i)));
    await turn();
    expect(writes.map((w) => w.records.length)).toEqual([3]);
    const later = [3, 4].map((i) => copies.copy('orders.dlq', record(`b${i}`), origin(0, i)));
    await turn();
    expect(writes).toHaveLength(1); // the second waits for the first
    writes[0]!.answer();
    expect(await Promise.all(first)).toEqual([0n, 1n, 2n]);
    await turn();
    expect(writes.map((w) => w.records.length)).toEqual([3, 2]);
    writes[1]!.answer();
    expect(await Promise.all(later)).toEqual([3n, 4n]);
    expect(writes.flatMap((w) => w.records.map((r) => new TextDecoder().decode(r.value as Uint8Array)))).toEqual(['a0', 'a1', 'a2', 'b3', 'b4']);
  });

  it("goes to the dead-letter partition of the origin partition's number, modulo their count: a produce each, failing alone", async () => {
    const { target, writes } = fakeTarget(2);
    const copies = new DeadLetterCopies(target, () => LOOSE);
    const done = [0, 1, 2, 3].map((p) => copies.copy('orders.dlq', record(`p${p}`), origin(p, 0)).catch((error: BrookError) => error.code));
    await turn();
    expect(writes.map((w) => w.records.map((r) => [r.partition, new TextDecoder().decode(r.value as Uint8Array)]))).toEqual([
      [[0, 'p0'], [0, 'p2']], [[1, 'p1'], [1, 'p3']],
    ]);
    writes[1]!.answer(new BrookError('IO_ERROR', 'disk'));
    writes[0]!.answer();
    expect(await Promise.all(done)).toEqual([0n, 'IO_ERROR', 1n, 'IO_ERROR']);
  });

  it('a write takes at most batchRecordsMax copies', async () => {
    const { target, writes } = fakeTarget();
    const copies = new DeadLetterCopies(target, () => ({ ...LOOSE, batchRecordsMax: 2 }));
    const done = [0, 1, 2, 3, 4].map((i) => copies.copy('orders.dlq', record('x'), origin(0, i)));
    for (let i = 0; i < 3; i++) {
      await turn();
      writes[i]!.answer();
    }
    await Promise.all(done);
    expect(writes.map((w) => w.records.length)).toEqual([2, 2, 1]);
  });

  it('a write takes copies up to batchBytesMax by their largest encoded size: exactly two fit, one byte less and each goes alone', async () => {
    const sizeBytes = sizeOfRecordMax(deadLetterRecord.build(record('same size'), origin(0, 0)));
    for (const [slack, expected] of [[0, [2, 1]], [-1, [1, 1, 1]]] as const) {
      const { target, writes } = fakeTarget();
      const copies = new DeadLetterCopies(target, () => ({ ...LOOSE, batchBytesMax: BATCH_HEADER_BYTES + 2 * sizeBytes + slack }));
      const done = [0, 1, 2].map((i) => copies.copy('orders.dlq', record('same size'), origin(0, i)));
      for (let i = 0; i < expected.length; i++) {
        await turn();
        writes[i]!.answer();
      }
      await Promise.all(done);
      expect(writes.map((w) => w.records.length)).toEqual(expected);
    }
  });

  it('a copy larger than batchBytesMax goes in a write of its own (the broker allows one copy its trailer)', async () => {
    const { target, writes } = fakeTarget();
    const copies = new DeadLetterCopies(target, () => ({ ...LOOSE, batchBytesMax: 100 }));
    const done = [copies.copy('orders.dlq', record('x'.repeat(500)), origin(0, 0)), copies.copy('orders.dlq', record('y'), origin(0, 1))];
    for (let i = 0; i < 2; i++) {
      await turn();
      writes[i]!.answer();
    }
    expect(await Promise.all(done)).toEqual([0n, 1n]);
    expect(writes.map((w) => w.records.length)).toEqual([1, 1]);
  });

  it("a failed write fails its own copies only; the next write goes on", async () => {
    const { target, writes } = fakeTarget();
    const copies = new DeadLetterCopies(target, () => ({ ...LOOSE, batchRecordsMax: 2 }));
    const done = [0, 1, 2].map((i) => copies.copy('orders.dlq', record('x'), origin(0, i)).catch((error: BrookError) => error.code));
    await turn();
    writes[0]!.answer(new BrookError('IO_ERROR', 'disk'));
    await turn();
    writes[1]!.answer();
    expect(await Promise.all(done)).toEqual(['IO_ERROR', 'IO_ERROR', 0n]);
  });

  it('a write refused TOPIC_FULL goes again a copy at a time, in order, until one is refused: those after it fail with it', async () => {
    const { target, writes } = fakeTarget();
    const copies = new DeadLetterCopies(target, () => LOOSE);
    const done = [0, 1, 2].map((i) => copies.copy('orders.dlq', record(`c${i}`), origin(0, i)).catch((error: BrookError) => error.code));
    await turn();
    writes[0]!.answer(new BrookError('TOPIC_FULL', 'full'));
    await turn();
    writes[1]!.answer();
    await turn();
    writes[2]!.answer(new BrookError('TOPIC_FULL', 'full'));
    expect(await Promise.all(done)).toEqual([0n, 'TOPIC_FULL', 'TOPIC_FULL']);
    expect(writes.map((w) => w.records.map((r) => new TextDecoder().decode(r.value as Uint8Array)))).toEqual([['c0', 'c1', 'c2'], ['c0'], ['c1']]);
  });

  it('a write refused MESSAGE_TOO_LARGE goes again a copy at a time: only the copy too large fails', async () => {
    const { target, writes } = fakeTarget();
    const copies = new DeadLetterCopies(target, () => LOOSE);
    const done = [0, 1, 2].map((i) => copies.copy('orders.dlq', record(`c${i}`), origin(0, i)).catch((error: BrookError) => error.code));
    for (const answer of [new BrookError('MESSAGE_TOO_LARGE', 'batch'), undefined, new BrookError('MESSAGE_TOO_LARGE', 'c1'), undefined]) {
      await turn();
      writes.at(-1)!.answer(answer);
    }
    expect(await Promise.all(done)).toEqual([0n, 'MESSAGE_TOO_LARGE', 1n]);
    expect(writes.map((w) => w.records.length)).toEqual([3, 1, 1, 1]);
  });

  it('a write of one copy refused TOPIC_FULL fails it without trying it again alone', async () => {
    const { target, writes } = fakeTarget();
    const copies = new DeadLetterCopies(target, () => LOOSE);
    const done = copies.copy('orders.dlq', record('only'), origin(0, 0)).catch((error: BrookError) => error.code);
    await turn();
    writes[0]!.answer(new BrookError('TOPIC_FULL', 'full'));
    expect(await done).toBe('TOPIC_FULL');
    expect(writes).toHaveLength(1);
  });

  it('one at a time, a copy as large as one refused for room fails untried, and holds up the later copies of its own origin partition', async () => {
    const { target, writes } = fakeTarget();
    const copies = new DeadLetterCopies(target, () => LOOSE);
    const asked: [string, DeadLetterOrigin][] = [['L'.repeat(500), origin(0, 0)], ['M'.repeat(500), origin(1, 0)], ['small', origin(1, 1)], ['other', origin(2, 0)]];
    const done = asked.map(([value, from]) => copies.copy('orders.dlq', record(value), from).catch((error: BrookError) => error.code));
    for (const answer of [new BrookError('TOPIC_FULL', 'full'), new BrookError('TOPIC_FULL', 'full'), undefined]) {
      await turn();
      writes.at(-1)!.answer(answer);
    }
    expect(await Promise.all(done)).toEqual(['TOPIC_FULL', 'TOPIC_FULL', 'TOPIC_FULL', 0n]);
    expect(writes.slice(1).map((w) => new TextDecoder().decode(w.records[0]!.value as Uint8Array).slice(0, 5))).toEqual(['LLLLL', 'other']);
  });

  it('one at a time, a copy refused room holds up only its own origin: a copy of the same partition number of another topic goes on', async () => {
    const { target, writes } = fakeTarget();
    const copies = new DeadLetterCopies(target, () => LOOSE);
    const asked: [string, DeadLetterOrigin][] = [['L'.repeat(500), origin(0, 0)], ['x', { ...origin(0, 1), topic: 'payments' }]];
    const done = asked.map(([value, from]) => copies.copy('orders.dlq', record(value), from).catch((error: BrookError) => error.code));
    for (const answer of [new BrookError('TOPIC_FULL', 'full'), new BrookError('TOPIC_FULL', 'full'), undefined]) {
      await turn();
      writes.at(-1)!.answer(answer);
    }
    expect(await Promise.all(done)).toEqual(['TOPIC_FULL', 0n]);
  });

  it('one at a time, a copy that fails otherwise (a failed partition) fails every copy left, untried', async () => {
    const { target, writes } = fakeTarget();
    const copies = new DeadLetterCopies(target, () => LOOSE);
    const done = [0, 1, 2].map((i) => copies.copy('orders.dlq', record('x'), origin(i, 0)).catch((error: BrookError) => error.code));
    for (const answer of [new BrookError('TOPIC_FULL', 'full'), undefined, new BrookError('IO_ERROR', 'disk')]) {
      await turn();
      writes.at(-1)!.answer(answer);
    }
    expect(await Promise.all(done)).toEqual([0n, 'IO_ERROR', 'IO_ERROR']);
    expect(writes).toHaveLength(3);
  });

  it("one at a time, a copy refused for room fails with its origin partition's later copies and larger ones, untried; one refused for good fails alone", async () => {
    const { target, writes } = fakeTarget();
    const copies = new DeadLetterCopies(target, () => LOOSE);
    const asked: [string, DeadLetterOrigin][] = [
      ['large', origin(0, 0)], ['after-large', origin(0, 1)], ['other-partition', origin(1, 0)], ['other-group', { ...origin(0, 2), group: 'h' }],
      ['larger', origin(2, 0)], ['never-fits', origin(3, 0)], ['after-never', origin(3, 1)],
    ];
    const done = asked.map(([value, from]) => copies.copy('orders.dlq', record(value === 'large' ? 'L'.repeat(500) : value === 'larger' ? 'L'.repeat(600) : value), from)
      .catch((error: BrookError) => error.code));
    const answers = [new BrookError('TOPIC_FULL', 'full'), new BrookError('TOPIC_FULL', 'full'), undefined, undefined, new BrookError('MESSAGE_TOO_LARGE', 'never'), undefined];
    for (const answer of answers) {
      await turn();
      writes.at(-1)!.answer(answer);
    }
    expect(await Promise.all(done)).toEqual(['TOPIC_FULL', 'TOPIC_FULL', 0n, 1n, 'TOPIC_FULL', 'MESSAGE_TOO_LARGE', 2n]);
    const tried = writes.slice(1).map((w) => new TextDecoder().decode(w.records[0]!.value as Uint8Array).slice(0, 16));
    expect(tried).toEqual(['L'.repeat(16), 'other-partition', 'other-group', 'never-fits', 'after-never']);
  });

  it('a dead-letter topic that cannot be created fails every copy waiting for it, and a later copy tries again', async () => {
    const { target, writes, failEnsure } = fakeTarget();
    const copies = new DeadLetterCopies(target, () => LOOSE);
    failEnsure(new BrookError('IO_ERROR', 'disk'));
    const failed = [0, 1].map((i) => copies.copy('orders.dlq', record('x'), origin(0, i)).catch((error: BrookError) => error.code));
    expect(await Promise.all(failed)).toEqual(['IO_ERROR', 'IO_ERROR']);
    failEnsure(undefined);
    const later = copies.copy('orders.dlq', record('x'), origin(0, 2));
    await turn();
    writes[0]!.answer();
    expect(await later).toBe(0n);
  });
});
