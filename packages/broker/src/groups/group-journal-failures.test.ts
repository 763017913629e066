/**
 * A group journal that fails (a write, an fsync, its fsync timer, a compaction's snapshot): the
 * failure shows in describeGroup, every later ack is refused with it until a reopen, nothing
 * confirmed is lost, and a compaction that keeps failing is tried again at a bounded rate.
 */
import { describe, expect, it } from 'vitest';
import { MemoryFileSystem, type FileSystemOperation } from '@brook/protocol';
import { holdingSyncsOf } from '../log/log-fixture.js';
import { compactingGroup, holding, journalBytes } from './compacting-group.test-support.js';
import { engineFixture } from './group-fixture.js';

describe('group journal failures', () => {
  it('a failed compaction shows in describeGroup until one succeeds, and loses no ack', async () => {
    const { fixture, held } = await compactingGroup(300);
    // The snapshot's rename fails twice: the first two compactions fail, a later one succeeds.
    fixture.fs.failNext('rename', { path: /\/state\.json$/, errno: 'EIO', times: 2 });
    const shown = new Set<string | undefined>();
    for (const d of held) {
      if (d.offset % 7n === 3n) continue;
      await d.ack();
      shown.add(fixture.broker.describeGroup('t', 'g').lastError);
    }
    expect([...shown].some((error) => error?.includes('EIO')), [...shown].join(' | ')).toBe(true);
    expect(fixture.broker.describeGroup('t', 'g').lastError).toBeUndefined();
    const broker = await fixture.restart();
    const after = holding();
    await broker.subscribe({ topic: 't', group: 'g', maxInFlight: 300 }, after.handler);
    await fixture.settle(() => after.held.length === 43);
    expect(after.held.map((d) => d.offset % 7n)).toEqual(Array.from({ length: 43 }, () => 3n));
  });

  it("a journal whose fsync { intervalMs } timer's fsync failed shows in describeGroup at once, and for as long as it refuses acks", async () => {
    const { fixture, held } = await compactingGroup(3, { fsync: { intervalMs: 100 } });
    await held[0]!.ack(); // confirmed once written: durable only at the next tick
    fixture.fs.failNext('sync', { path: /\/groups\/t\/g\//, errno: 'EIO' });
    await fixture.advance(100);
    // Nothing else has happened: no ack, no delivery, no produce has met the failure yet.
    expect(fixture.broker.describeGroup('t', 'g').lastError).toMatch(/IO_ERROR.*EIO/);
    await expect(held[1]!.ack()).rejects.toMatchObject({ code: 'IO_ERROR' });
    await fixture.broker.produce('t', [{ value: 'later' }]);
    await fixture.settle();
    expect(fixture.broker.describeGroup('t', 'g').lastError).toMatch(/IO_ERROR.*EIO/);
  });

  it('compacts once the journal is past groupJournalBytesMax, not when it is exactly that size (the boundary)', async () => {
    // The engine is deterministic: the same acks write the same journal bytes whatever the limit.
    // A first run, with a limit it never reaches, measures the journal after each flush; a second
    // sets the limit to one of those sizes exactly and watches for journal-1.
    const sizesAfterEachAck = async (groupJournalBytesMax: number, onCompaction: (ack: number) => void) => {
      const { fixture, held } = await compactingGroup(120, { groupJournalBytesMax });
      const sizes: number[] = [];
      let ack = 0;
      fixture.fs.onOperation = (op) => {
        if (op.kind === 'mkdir' && op.path.endsWith('/journal-1')) onCompaction(ack);
      };
      for (const delivery of held) {
        ack += 1;
        await delivery.ack();
        sizes.push(await journalBytes(fixture.fs, 'journal-0'));
      }
      fixture.fs.onOperation = undefined;
      return sizes;
    };
    const sizes = await sizesAfterEachAck(1024 * 1024, () => expect.unreachable('no compaction below the limit'));
    const at = sizes.findIndex((size) => size >= 4096);
    expect(at).toBeGreaterThan(0);
    let compactedAtAck: number | undefined;
    const again = await sizesAfterEachAck(sizes[at]!, (ack) => (compactedAtAck ??= ack));
    expect(again.slice(0, at + 1)).toEqual(sizes.slice(0, at + 1));
    // Ack at+1 (1-based) made the journal exactly groupJournalBytesMax: no compaction; the next one did.
    expect(compactedAtAck).toBe(at + 2);
  });

  it('a compaction that keeps failing is tried again once per groupJournalBytesMax written, not at every flush', async () => {
    const { fixture, held } = await compactingGroup(300);
    fixture.fs.failNext('rename', { path: /\/state\.json$/, errno: 'EIO', times: 1_000 });
    let attempts = 0;
    fixture.fs.onOperation = (op) => {
      if (op.kind === 'rename' && op.to?.endsWith('/state.json')) attempts += 1;
    };
    // 300 acks, one flush each: about 40 KiB of journal, i.e. ten times groupJournalBytesMax.
    for (const d of held) await d.ack();
    fixture.fs.onOperation = undefined;
    expect(attempts).toBeGreaterThan(2);
    expect(attempts).toBeLessThan(20);
    expect(fixture.broker.describeGroup('t', 'g').lastError).toContain('EIO');
  });

  it.each([
    // journal-0's next fsync fails while journal-1 is being opened: the compaction writes no snapshot.
    ['journal-0', 'opened its next generation', (op: FileSystemOperation) => op.kind === 'mkdir' && op.path.endsWith('/journal-1'), 0],
    // It fails once the snapshot is being written: the compaction still switches to the healthy
    // journal-1 (the snapshot was taken before the failure), and the failure must outlive the switch.
    ['journal-0', 'wrote its snapshot', (op: FileSystemOperation) => op.path.endsWith('/state.json.tmp'), 1],
    // Both fail in the one flush written to both: still told once.
    ['each', 'wrote its snapshot', (op: FileSystemOperation) => op.path.endsWith('/state.json.tmp'), 1],
  ])('a journal (%s of its logs) that failed while a compaction %s stays failed (every later ack refused, told once)', async (failing, _when, compactionAt, generation) => {
    const { fixture, held } = await compactingGroup(300, { fsync: 'always' });
    const told: unknown[] = [];
    fixture.broker.on('logFailed', (event) => told.push(event));
    let armed = false;
    fixture.fs.onOperation = (op) => {
      if (armed || !compactionAt(op)) return;
      armed = true;
      if (failing === 'each') fixture.fs.failNext('sync', { path: /\/journal-[01]\//, errno: 'EIO', times: 2 });
      else fixture.fs.failNext('sync', { path: /\/journal-0\//, errno: 'EIO' });
    };
    const outcomes: string[] = [];
    for (const d of held.slice(0, 250)) outcomes.push(await d.ack().then(() => 'ok', (error: { code: string }) => error.code));
    fixture.fs.onOperation = undefined;
    expect(armed).toBe(true);
    const firstFailed = outcomes.indexOf('IO_ERROR');
    expect(firstFailed).toBeGreaterThan(0);
    expect(outcomes.slice(firstFailed).every((outcome) => outcome === 'IO_ERROR')).toBe(true);
    expect(fixture.broker.describeGroup('t', 'g').lastError).toMatch(/IO_ERROR.*EIO/);
    expect(fixture.broker.failedLogs()).toEqual([{ topic: 't', group: 'g', failure: { code: 'IO_ERROR', message: expect.stringMatching(/EIO/) } }]);
    await expect(held[260]!.ack()).rejects.toMatchObject({ code: 'IO_ERROR' });
    expect(told).toEqual([expect.objectContaining({ topic: 't', group: 'g' })]);
    await fixture.settle();
    const state = JSON.parse(new TextDecoder().decode(await fixture.fs.readFile('/brook/groups/t/g/state.json'))) as { generation: number };
    expect(state.generation).toBe(generation);
  });

  it("a journal whose fsync { intervalMs } timer failed while a compaction wrote its snapshot refuses every later ack, though the compaction moved on to a healthy log", async () => {
    // No flush waits on the timer's fsync, so no flush fails with it: only the journal's own
    // record of its first failure keeps the next write, to the healthy journal-1, from succeeding.
    const memory = new MemoryFileSystem();
    const syncs = holdingSyncsOf(memory, (path) => path.endsWith('/state.json.tmp'));
    const { fixture, held } = await compactingGroup(300, { fs: syncs.fs, fsync: { intervalMs: 100 } });
    syncs.hold();
    let acked = 0;
    while (syncs.state.held === 0) {
      await held[acked++]!.ack();
      await fixture.settle();
    }
    // The compaction has taken its snapshot and waits for its fsync: now journal-0's timer fails.
    memory.failNext('sync', { path: /\/journal-0\//, errno: 'EIO' });
    await fixture.advance(100);
    expect(fixture.broker.describeGroup('t', 'g').lastError).toMatch(/IO_ERROR.*EIO/);
    syncs.release();
    await fixture.settle();
    const state = JSON.parse(new TextDecoder().decode(await memory.readFile('/brook/groups/t/g/state.json'))) as { generation: number };
    expect(state.generation).toBe(1);
    await expect(held[acked]!.ack()).rejects.toMatchObject({ code: 'IO_ERROR' });
    expect(fixture.broker.describeGroup('t', 'g').lastError).toMatch(/IO_ERROR.*EIO/);
  });

  it('a graceful close() resolves at once when the journal failed while an attempt for the member was being journaled (it never reached the member)', async () => {
    const fixture = await engineFixture();
    await fixture.broker.createTopic('t');
    const seen: string[] = [];
    const sub = await fixture.broker.subscribe({ topic: 't', group: 'g', maxInFlight: 2 }, (d) => void seen.push(d.text()!));
    await fixture.broker.produce('t', [{ value: 'reached' }]);
    await fixture.settle(() => fixture.broker.describeGroup('t', 'g').partitions[0]!.ackFloor === 1n);
    fixture.fs.failNext('write', { path: /\/groups\/t\/g\//, errno: 'EIO' });
    await fixture.broker.produce('t', [{ value: 'never reached' }]);
    await fixture.settle(() => fixture.broker.describeGroup('t', 'g').lastError !== undefined);
    expect(fixture.broker.describeGroup('t', 'g').partitions[0]!.inFlight).toHaveLength(1);
    let closed = false;
    const closing = sub.close().then(() => (closed = true));
    await fixture.settle(() => closed); // no clock advance: not after ackTimeoutMs
    await closing;
    expect(seen).toEqual(['reached']);
    expect(fixture.broker.describeGroup('t', 'g').members).toEqual([]);
  });

  it('a graceful close() that starts while the failing journal write of an attempt for its member is under way resolves at once too', async () => {
    const memory = new MemoryFileSystem();
    const syncs = holdingSyncsOf(memory, (path) => path.includes('/groups/t/g/'));
    const fixture = await engineFixture({ fs: syncs.fs, fsync: 'always' });
    await fixture.broker.createTopic('t');
    const seen: string[] = [];
    const sub = await fixture.broker.subscribe({ topic: 't', group: 'g', maxInFlight: 2 }, (d) => void seen.push(d.text()!));
    syncs.hold();
    await fixture.broker.produce('t', [{ value: 'never reached' }]);
    await fixture.settle(() => syncs.state.held === 1);
    let closed = false;
    const closing = sub.close().then(() => (closed = true));
    await fixture.settle();
    expect(closed).toBe(false); // its attempt is still being journaled
    memory.failNext('sync', { path: /\/groups\/t\/g\//, errno: 'EIO' });
    syncs.release();
    await fixture.settle(() => closed); // no clock advance: not after ackTimeoutMs
    await closing;
    expect(seen).toEqual([]);
    expect(fixture.broker.describeGroup('t', 'g').members).toEqual([]);
  });

  it('a journal write refused for want of space (ENOSPC) fails only its flush: the disk has room again, the next flush writes its changes too, and the journal stays healthy', async () => {
    const { fixture, held } = await compactingGroup(3);
    const told: unknown[] = [];
    fixture.broker.on('logFailed', (event) => told.push(event));
    fixture.fs.failNext('write', { path: /\/groups\/t\/g\//, errno: 'ENOSPC' });
    await expect(held[0]!.ack()).rejects.toMatchObject({ code: 'IO_ERROR', retriable: true, message: expect.stringMatching(/ENOSPC/) });
    expect(told, 'nothing failed for good: no logFailed, /healthz stays 200').toEqual([]);
    expect(fixture.broker.failedLogs()).toEqual([]);
    expect(fixture.broker.describeGroup('t', 'g').lastError, 'changes wait to be written: says why').toMatch(/IO_ERROR.*ENOSPC/);
    // The disk has room again: the next ack's flush carries the refused one's change with it.
    await held[1]!.ack();
    expect(fixture.broker.describeGroup('t', 'g').lastError).toBeUndefined();
    expect(fixture.broker.describeGroup('t', 'g').partitions[0]!.ackFloor).toBe(2n);
    const broker = await fixture.restart({ powerCut: true });
    expect(broker.describeGroup('t', 'g').partitions[0]!.ackFloor, 'both acks survive a power cut').toBe(2n);
    const after = holding();
    await broker.subscribe({ topic: 't', group: 'g', maxInFlight: 3 }, after.handler);
    await fixture.settle(() => after.held.length === 1);
    expect(after.held.map((d) => [d.offset, d.deliveryCount])).toEqual([[2n, 2]]);
  });

  it('the changes of a write refused for want of space are written ahead of those made while it was tried: a later change of the same record wins on replay', async () => {
    const fixture = await engineFixture();
    await fixture.broker.createTopic('t');
    await fixture.broker.produce('t', [{ value: 'm0' }]);
    const first = holding();
    const subscription = await fixture.broker.subscribe({ topic: 't', group: 'g', backoff: { initialMs: 0 } }, first.handler);
    await fixture.settle(() => first.held.length === 1);
    // The redelivery's journal write (attempt 2) is refused; while it is being tried, the member
    // crashes, which gives that attempt back (attempts of offset 0: 1 again) in a change of its own.
    fixture.fs.failNext('write', { path: /\/groups\/t\/g\//, errno: 'ENOSPC' });
    let tried = false;
    fixture.fs.onOperation = (op) => {
      if (op.kind !== 'write' || !op.path.includes('/groups/t/g/')) return;
      fixture.fs.onOperation = undefined;
      tried = true;
      subscription.abort();
    };
    first.held[0]!.nack({ delayMs: 0 });
    await fixture.settle();
    expect(tried, 'the redelivery was journaled').toBe(true);
    const broker = await fixture.restart({ powerCut: false });
    const after = holding();
    await broker.subscribe({ topic: 't', group: 'g' }, after.handler);
    await fixture.settle(() => after.held.length === 1);
    // Replayed the other way round, the given-back count came first and attempt 2 stood: 3 here.
    expect(after.held.map((d) => [d.offset, d.deliveryCount])).toEqual([[0n, 2]]);
  });

  it('a close while changes wait unwritten (their write refused for want of space, the close\'s too) rejects with the refusal; the next open is unclean and their records come again', async () => {
    const { fixture, held } = await compactingGroup(2);
    fixture.fs.failNext('write', { path: /\/groups\/t\/g\//, errno: 'ENOSPC', times: 2 }); // the ack's flush, then the close's
    await expect(held[0]!.ack()).rejects.toMatchObject({ code: 'IO_ERROR', details: { errno: 'ENOSPC' } });
    await expect(fixture.broker.close()).rejects.toMatchObject({ code: 'IO_ERROR', details: { errno: 'ENOSPC' } });
    const broker = await fixture.restart({ powerCut: false });
    expect(broker.openedClean).toBe(false);
    const after = holding();
    await broker.subscribe({ topic: 't', group: 'g' }, after.handler);
    await fixture.settle(() => after.held.length === 2);
    expect(after.held.map((d) => d.offset)).toEqual([0n, 1n]);
  });

  it('a journal write that fails otherwise (EIO) having written nothing fails the journal for good, as a failed fsync does: told at once, every later ack refused', async () => {
    const { fixture, held } = await compactingGroup(3);
    const told: unknown[] = [];
    fixture.broker.on('logFailed', (event) => told.push(event));
    fixture.fs.failNext('write', { path: /\/groups\/t\/g\//, errno: 'EIO' });
    await expect(held[0]!.ack()).rejects.toMatchObject({ code: 'IO_ERROR' });
    expect(told).toEqual([expect.objectContaining({ topic: 't', group: 'g', code: 'IO_ERROR' })]);
    expect(fixture.broker.failedLogs()).toEqual([{ topic: 't', group: 'g', failure: { code: 'IO_ERROR', message: expect.stringMatching(/EIO/) } }]);
    expect(fixture.broker.describeGroup('t', 'g').lastError).toMatch(/IO_ERROR.*EIO/);
    // The disk works again: the journal still refuses, until a reopen replays what it holds.
    await expect(held[1]!.ack()).rejects.toMatchObject({ code: 'IO_ERROR', message: expect.stringMatching(/EIO/) });
    const broker = await fixture.restart({ powerCut: false });
    const after = holding();
    await broker.subscribe({ topic: 't', group: 'g', maxInFlight: 3 }, after.handler);
    await fixture.settle(() => after.held.length === 3);
    expect(after.held.map((d) => [d.offset, d.deliveryCount])).toEqual([[0n, 2], [1n, 2], [2n, 2]]);
  });
});
