import { describe, expect, it } from 'vitest';
import { BrookError, MemoryFileSystem, readBatchHeader } from '@brook/protocol';
import { readAll, text } from '../log/log-fixture.js';
import type { AppendResult, PartitionLog } from '../log/partition-log.js';
import { PartitionProducers } from './partition-producers.js';
import { RECENT_BATCHES_PER_PRODUCER } from './producer-entry.js';
import { LOG_DIR, admitAll, producerBatch, producersFixture, type ProducersFixture } from './producer-fixture.js';
import { snapshotPath } from './producer-snapshot.js';

const P = 1n;
const Q = 2n;

async function values(fixture: ProducersFixture): Promise<(string | null)[]> {
  return (await readAll(fixture.log)).map((record) => text(record.value));
}

describe('PartitionProducers: duplicates and sequence rules', () => {
  it('answers a retry of each of the last five batches with its original offsets and appends nothing', async () => {
    const fixture = await producersFixture();
    const acks = [];
    for (let seq = 0; seq < 12; seq += 2) acks.push(await fixture.send({ producerId: P, firstSeq: seq, records: 2 }));
    expect(acks.map((a) => [a.baseOffset, a.duplicate])).toEqual([[0n, false], [2n, false], [4n, false], [6n, false], [8n, false], [10n, false]]);
    for (let i = 1; i <= RECENT_BATCHES_PER_PRODUCER; i++) {
      const retry = await fixture.send({ producerId: P, firstSeq: i * 2, records: 2 });
      expect(retry).toEqual({ baseOffset: acks[i]!.baseOffset, lastOffset: acks[i]!.lastOffset, duplicate: true });
    }
    // The sixth-last is no longer remembered: not a duplicate, and not the next sequence either.
    await expect(fixture.send({ producerId: P, firstSeq: 0, records: 2 })).rejects.toMatchObject({ code: 'OUT_OF_ORDER_SEQUENCE', details: { expected: 12, got: 0 } });
    expect(fixture.log.endOffset).toBe(12n);
  });

  it('rejects a gap with OUT_OF_ORDER_SEQUENCE { expected, got } and writes nothing', async () => {
    const fixture = await producersFixture();
    await fixture.send({ producerId: P, firstSeq: 0, records: 3 });
    await expect(fixture.send({ producerId: P, firstSeq: 4 })).rejects.toMatchObject({ code: 'OUT_OF_ORDER_SEQUENCE', details: { producerId: P, expected: 3, got: 4 } });
    expect(fixture.log.endOffset).toBe(3n);
    await expect(fixture.send({ producerId: P, firstSeq: 3 })).resolves.toMatchObject({ baseOffset: 3n, duplicate: false });
  });

  it('fences an older epoch; a newer epoch must start at sequence 0', async () => {
    const fixture = await producersFixture();
    await fixture.send({ producerId: P, epoch: 1, firstSeq: 0 });
    await expect(fixture.send({ producerId: P, epoch: 2, firstSeq: 1 })).rejects.toMatchObject({ code: 'OUT_OF_ORDER_SEQUENCE', details: { expected: 0 } });
    await expect(fixture.send({ producerId: P, epoch: 2, firstSeq: 0 })).resolves.toMatchObject({ baseOffset: 1n });
    await expect(fixture.send({ producerId: P, epoch: 1, firstSeq: 1 })).rejects.toMatchObject({ code: 'PRODUCER_FENCED', details: { currentEpoch: 2 } });
    expect(fixture.log.endOffset).toBe(2n);
  });

  it('accepts an unknown producer only at sequence 0', async () => {
    const fixture = await producersFixture();
    await expect(fixture.send({ producerId: P, firstSeq: 5 })).rejects.toMatchObject({ code: 'UNKNOWN_PRODUCER_ID' });
    await expect(fixture.send({ producerId: P, firstSeq: 0 })).resolves.toMatchObject({ baseOffset: 0n });
  });

  it('asks the broker about the epoch first: a fenced instance does not even get a retry answered', async () => {
    const fenced = new BrookError('PRODUCER_FENCED', 'fenced by the registry');
    let currentEpoch = 0;
    const fixture = await producersFixture({
      checkEpoch: (_id, epoch) => {
        if (epoch < currentEpoch) throw fenced;
      },
    });
    await fixture.send({ producerId: P, firstSeq: 0 });
    currentEpoch = 1;
    await expect(fixture.send({ producerId: P, firstSeq: 0 })).rejects.toBe(fenced);
  });

  it('skips the broker\'s admission check for a duplicate (a retry is answered even when the topic is full)', async () => {
    const fixture = await producersFixture();
    await fixture.send({ producerId: P, firstSeq: 0 });
    const full = () => Promise.reject(new BrookError('TOPIC_FULL', 'full'));
    const retry = producerBatch({ producerId: P, firstSeq: 0 });
    await expect(fixture.producers.append(readBatchHeader(retry), retry, full)).resolves.toMatchObject({ duplicate: true });
    const next = producerBatch({ producerId: P, firstSeq: 1 });
    await expect(fixture.producers.append(readBatchHeader(next), next, full)).rejects.toMatchObject({ code: 'TOPIC_FULL' });
  });
  it('asks no admission for a retry, of an appended batch or of one of its own group: it appends nothing, so it holds no room', async () => {
    const fixture = await producersFixture();
    await fixture.send({ producerId: P, firstSeq: 0 });
    const admitted: number[] = [];
    const send = (firstSeq: number) => {
      const batch = producerBatch({ producerId: P, firstSeq });
      return fixture.producers.append(readBatchHeader(batch), batch, () => {
        admitted.push(firstSeq);
        return admitAll();
      });
    };
    // 1 goes to the log alone; the retries of 0 and 1, 2 and its retry are checked together after it.
    const results = await Promise.all([send(1), send(0), send(1), send(2), send(2)]);
    expect(results.map((r) => `${r.baseOffset}${r.duplicate ? ' dup' : ''}`)).toEqual(['1', '0 dup', '1 dup', '2', '2 dup']);
    expect(admitted).toEqual([1, 2]);
  });
});

describe('PartitionProducers: batches in flight', () => {
  it("pipelines a producer's batches and answers a concurrent retry with the original's offsets", async () => {
    const fixture = await producersFixture();
    const results = await Promise.all([
      fixture.send({ producerId: P, firstSeq: 0, records: 2 }),
      fixture.send({ producerId: P, firstSeq: 2, records: 2 }),
      fixture.send({ producerId: P, firstSeq: 0, records: 2 }), // retry of the first while it is in the log
      fixture.send({ producerId: Q, firstSeq: 0 }),
      fixture.send({ producerId: P, firstSeq: 4 }),
      fixture.send({ producerId: P, firstSeq: 4 }), // retry in the same group as its original
    ]);
    expect(results.map((r) => r.duplicate)).toEqual([false, false, true, false, false, true]);
    expect(results[2]).toMatchObject({ baseOffset: results[0]!.baseOffset, lastOffset: results[0]!.lastOffset });
    expect(results[5]).toMatchObject({ baseOffset: results[4]!.baseOffset });
    expect((await values(fixture)).filter((v) => v!.startsWith('p1-'))).toEqual(['p1-e0-s0', 'p1-e0-s1', 'p1-e0-s2', 'p1-e0-s3', 'p1-e0-s4']);
    expect(fixture.log.endOffset).toBe(6n);
  });

  it("after a failed append, the producer's batches behind it fail out of order and a resend from the failed one works", async () => {
    const fixture = await producersFixture();
    await fixture.send({ producerId: P, firstSeq: 0 });
    fixture.fs.failNext('write', { path: /\.log$/, errno: 'EIO' });
    let behind: Promise<unknown>[] = [];
    // Batches 2 and 3 arrive while batch 1 is being written.
    fixture.fs.onOperation = (op) => {
      if (op.kind !== 'write' || behind.length > 0) return;
      behind = [2, 3].map((firstSeq) => fixture.send({ producerId: P, firstSeq }).catch((e: unknown) => e));
    };
    await expect(fixture.send({ producerId: P, firstSeq: 1 })).rejects.toMatchObject({ code: 'IO_ERROR' });
    fixture.fs.onOperation = undefined;
    for (const error of await Promise.all(behind)) expect(error).toMatchObject({ code: 'OUT_OF_ORDER_SEQUENCE', details: { expected: 1 } });
    const resent = await Promise.all([1, 2, 3].map((firstSeq) => fixture.send({ producerId: P, firstSeq })));
    expect(resent.map((r) => [r.baseOffset, r.duplicate])).toEqual([[1n, false], [2n, false], [3n, false]]);
    expect(await values(fixture)).toEqual(['p1-e0-s0', 'p1-e0-s1', 'p1-e0-s2', 'p1-e0-s3']);
  });

  it('batches queued together fail together, whatever their producers', async () => {
    const fixture = await producersFixture();
    fixture.fs.failNext('write', { path: /\.log$/, errno: 'EIO' });
    const results = await Promise.all([P, Q].map((producerId) => fixture.send({ producerId, firstSeq: 0 }).catch((e: unknown) => e)));
    for (const error of results) expect(error).toMatchObject({ code: 'IO_ERROR' });
    expect(fixture.producers.producerCount).toBe(0);
    expect(fixture.log.endOffset).toBe(0n);
  });

  it('a retry queued behind a failed original is appended, not answered with offsets that do not exist', async () => {
    const fixture = await producersFixture();
    fixture.fs.failNext('write', { path: /\.log$/, errno: 'ENOSPC' });
    const original = fixture.send({ producerId: P, firstSeq: 0 });
    const retry = fixture.send({ producerId: P, firstSeq: 0 });
    await expect(original).rejects.toMatchObject({ code: 'IO_ERROR' });
    await expect(retry).resolves.toMatchObject({ baseOffset: 0n, duplicate: false });
    expect(fixture.log.endOffset).toBe(1n);
  });

  it('answers a retry of part of a batch of its own group with the offsets of those records, once they are written', async () => {
    const fixture = await producersFixture();
    await fixture.send({ producerId: P, firstSeq: 0 });
    const results = await Promise.all([
      fixture.send({ producerId: P, firstSeq: 1 }),
      // Checked together once 1 is in: 2..4, and a retry of 3..4 split off it.
      fixture.send({ producerId: P, firstSeq: 2, records: 3 }),
      fixture.send({ producerId: P, firstSeq: 3, records: 2 }),
    ]);
    expect(results.slice(1)).toEqual([{ baseOffset: 2n, lastOffset: 4n, duplicate: false }, { baseOffset: 3n, lastOffset: 4n, duplicate: true }]);
  });

  it('a batch of its group refused out of order counts for nothing: a later one within its sequences that is next is appended', async () => {
    const fixture = await producersFixture();
    const results = await Promise.all([
      fixture.send({ producerId: P, firstSeq: 0 }),
      // Checked together once 0 is in: 0..1 overlaps it and is refused; 1, though part of 0..1, is next.
      fixture.send({ producerId: P, firstSeq: 0, records: 2 }).catch((e: unknown) => e),
      fixture.send({ producerId: P, firstSeq: 1 }),
    ]);
    expect(results).toEqual([
      { baseOffset: 0n, lastOffset: 0n, duplicate: false },
      expect.objectContaining({ code: 'OUT_OF_ORDER_SEQUENCE', details: expect.objectContaining({ expected: 1, got: 0 }) }),
      { baseOffset: 1n, lastOffset: 1n, duplicate: false },
    ]);
    expect(await values(fixture)).toEqual(['p1-e0-s0', 'p1-e0-s1']);
  });

  it('fails a retry of part of a batch of its own group when that batch fails', async () => {
    const fixture = await producersFixture();
    let opened!: () => void;
    const gate = new Promise<void>((resolve) => (opened = resolve));
    const send = ({ firstSeq, records }: { firstSeq: number; records: number }) => {
      const batch = producerBatch({ producerId: P, firstSeq, records });
      return fixture.producers.append(readBatchHeader(batch), batch, () => gate.then(admitAll)).catch((e: unknown) => e);
    };
    const first = fixture.send({ producerId: P, firstSeq: 0 });
    const whole = send({ firstSeq: 1, records: 3 });
    const part = send({ firstSeq: 2, records: 2 });
    await first;
    fixture.fs.failNext('write', { path: /\.log$/, errno: 'EIO' });
    opened();
    expect([await whole, await part]).toEqual([expect.objectContaining({ code: 'IO_ERROR' }), expect.objectContaining({ code: 'IO_ERROR' })]);
    expect(fixture.log.endOffset).toBe(1n);
  });

  it('after a failed fsync the reopened log is the truth: a batch written before the failure is a duplicate', async () => {
    const fixture = await producersFixture();
    fixture.fs.failNext('sync', { path: /\.log$/, errno: 'EIO' });
    await expect(fixture.send({ producerId: P, firstSeq: 0 })).rejects.toMatchObject({ code: 'IO_ERROR' });
    await expect(fixture.send({ producerId: P, firstSeq: 0 })).rejects.toMatchObject({ code: 'IO_ERROR' });
    // The process restarts without a power cut: the written batch is in the page cache, so in the log.
    await fixture.crash();
    await expect(fixture.send({ producerId: P, firstSeq: 0 })).resolves.toEqual({ baseOffset: 0n, lastOffset: 0n, duplicate: true });
    await expect(fixture.send({ producerId: P, firstSeq: 1 })).resolves.toMatchObject({ baseOffset: 1n, duplicate: false });
  });
});

describe('PartitionProducers: snapshot offset while a group is in the log', () => {
  /** A log whose appends the test completes by hand, in two steps, to stop time between them. */
  class ManualLog {
    readonly startOffset = 0n;
    endOffset = 0n;
    private readonly pending: { resolve: (result: AppendResult) => void; records: number; baseOffset?: bigint }[] = [];

    append(bytes: Uint8Array): Promise<AppendResult> {
      return new Promise((resolve) => this.pending.push({ resolve, records: readBatchHeader(bytes).recordCount }));
    }

    /** The oldest pending append is written and visible: endOffset moves past it. */
    write(): void {
      const append = this.pending.find((a) => a.baseOffset === undefined)!;
      append.baseOffset = this.endOffset;
      this.endOffset += BigInt(append.records);
    }

    /** ...and its caller hears of it. */
    acknowledge(): void {
      const { resolve, records, baseOffset } = this.pending.shift()!;
      resolve({ baseOffset: baseOffset!, lastOffset: baseOffset! + BigInt(records) - 1n });
    }
  }

  const turn = () => new Promise((resolve) => setImmediate(resolve));

  it('covers only offsets below a group the table does not have yet, even if the log already shows it', async () => {
    const fs = new MemoryFileSystem();
    await fs.mkdir(LOG_DIR);
    const log = new ManualLog();
    const producers = await PartitionProducers.open({
      fs, log: log as unknown as PartitionLog, dir: LOG_DIR, producersMax: 10, appendsDurable: true, checkEpoch: () => undefined,
    });
    const send = (producerId: bigint) => {
      const bytes = producerBatch({ producerId, firstSeq: 0, records: 2 });
      return producers.append(readBatchHeader(bytes), bytes, admitAll);
    };
    const snapshotOffset = async () => {
      await producers.snapshot();
      return (JSON.parse(new TextDecoder().decode(await fs.readFile(snapshotPath(LOG_DIR)))) as { offset: string }).offset;
    };
    const first = send(P);
    await turn();
    log.write();
    log.acknowledge();
    await first;
    const second = send(Q);
    await turn();
    log.write();
    expect(log.endOffset).toBe(4n);
    expect(await snapshotOffset()).toBe('2');
    log.acknowledge();
    await second;
    expect(await snapshotOffset()).toBe('4');
  });
});
