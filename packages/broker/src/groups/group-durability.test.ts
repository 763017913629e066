/**
 * Group state survives crashes: no confirmed ack is lost, records in flight at the crash come
 * back with deliveryCount + 1, and the journal compacts into snapshots without losing anything.
 */
import { describe, expect, it } from 'vitest';
import { MemoryFileSystem, encodeBatch, type FileSystemOperation } from '@brook/protocol';
import { holdingSyncsOf, logFixture } from '../log/log-fixture.js';
import type { BrokerOptions } from '../broker.js';
import type { Delivery } from './delivery.js';
import { engineFixture } from './group-fixture.js';
import { encodeChangesList } from './journal-codec.js';

/** Bytes of the segment files of the group journal generation `generation` (e.g. 'journal-0'): its log's sizeBytes. */
async function journalBytes(fs: MemoryFileSystem, generation: string, dir = '/'): Promise<number> {
  let total = 0;
  for (const name of await fs.readdir(dir)) {
    const path = `${dir === '/' ? '' : dir}/${name}`;
    if (name.endsWith('.log') && dir.endsWith(`/${generation}`)) total += (await fs.readFile(path)).length;
    else if (!name.includes('.')) total += await journalBytes(fs, generation, path);
  }
  return total;
}

function holding() {
  const held: Delivery[] = [];
  return { held, handler: (d: Delivery) => (held.push(d), new Promise<void>(() => undefined)) };
}

/**
 * A broker with the smallest group journal (it compacts every few dozen acks) and a group whose one
 * member holds `records` records of topic 't', none settled.
 */
async function compactingGroup(records: number, options: BrokerOptions = {}) {
  const fixture = await engineFixture({ groupJournalBytesMax: 4096, ...options });
  await fixture.broker.createTopic('t');
  await fixture.broker.produce('t', Array.from({ length: records }, (_, i) => ({ value: `m${i}` })));
  const c = holding();
  await fixture.broker.subscribe({ topic: 't', group: 'g', maxInFlight: records }, c.handler);
  await fixture.settle(() => c.held.length === records);
  return { fixture, held: c.held };
}

describe('group durability', () => {
  it('after a power cut: acked records stay acked, in-flight ones come back with deliveryCount + 1', async () => {
    const fixture = await engineFixture({ fsync: 'always' });
    await fixture.broker.createTopic('t', { partitions: 2 });
    await fixture.broker.produce('t', Array.from({ length: 10 }, (_, i) => ({ key: `k${i}`, value: `m${i}` })));
    const before = holding();
    await fixture.broker.subscribe({ topic: 't', group: 'g', maxInFlight: 10 }, before.handler);
    await fixture.settle(() => before.held.length === 10);
    const acked = before.held.slice(0, 6);
    for (const d of acked) await d.ack();
    const broker = await fixture.restart();
    const after = holding();
    await broker.subscribe({ topic: 't', group: 'g', maxInFlight: 10 }, after.handler);
    await fixture.settle(() => after.held.length === 4);
    const key = (d: Delivery) => `${d.partition}:${d.offset}`;
    expect(after.held.map(key).sort()).toEqual(before.held.slice(6).map(key).sort());
    expect(after.held.every((d) => d.deliveryCount === 2 && d.redelivered)).toBe(true);
  });

  it('remembers a group that has no members across a restart, with its position and settings', async () => {
    const fixture = await engineFixture();
    await fixture.broker.createTopic('t');
    await fixture.broker.produce('t', [{ value: 'a' }, { value: 'b' }]);
    const sub = await fixture.broker.subscribe({ topic: 't', group: 'g', ordering: 'key' }, () => undefined);
    await fixture.settle(() => fixture.broker.describeGroup('t', 'g').lag === 0n);
    await sub.close();
    await fixture.broker.close();
    const broker = await fixture.restart();
    expect(broker.listGroups()).toEqual([{ topic: 't', group: 'g' }]);
    expect(broker.describeGroup('t', 'g')).toMatchObject({ lag: 0n, config: { ordering: 'key' } });
  });

  it("describeGroup's counters count since the broker opened; the position they led to stays", async () => {
    const fixture = await engineFixture();
    await fixture.broker.createTopic('counted');
    await fixture.broker.produce('counted', [{ value: 'a' }]);
    const sub = await fixture.broker.subscribe({ topic: 'counted', group: 'g-counted' }, (d) => d.reject('bad'));
    await fixture.settle(() => fixture.broker.describeGroup('counted', 'g-counted').lag === 0n);
    await sub.close();
    expect(fixture.broker.describeGroup('counted', 'g-counted').partitions[0]).toMatchObject({ ackFloor: 1n, deadLettered: 1 });
    await fixture.broker.close();
    const broker = await fixture.restart();
    expect(broker.describeGroup('counted', 'g-counted').partitions[0]).toMatchObject({ ackFloor: 1n, deadLettered: 0, redeliveries: 0 });
  });

  it('compacts the journal into a snapshot (new generation) and restores the same state from it', async () => {
    const { fixture, held } = await compactingGroup(300);
    // Ack all but every 7th, one at a time: hundreds of journal records, several compactions.
    for (const d of held) if (d.offset % 7n !== 3n) await d.ack();
    const dir = '/brook/groups/t/g';
    const state = JSON.parse(new TextDecoder().decode(await fixture.fs.readFile(`${dir}/state.json`))) as { generation: number };
    expect(state.generation).toBeGreaterThan(1);
    expect((await fixture.fs.readdir(dir)).filter((n) => n.startsWith('journal-'))).toEqual([`journal-${state.generation}`]);
    const broker = await fixture.restart();
    const after = holding();
    await broker.subscribe({ topic: 't', group: 'g', maxInFlight: 300 }, after.handler);
    await fixture.settle(() => after.held.length === 43);
    expect(after.held.map((d) => d.offset % 7n)).toEqual(Array.from({ length: 43 }, () => 3n));
    expect(broker.describeGroup('t', 'g').partitions[0]!.ackFloor).toBe(3n);
  });

  it("compacts behind the journal: acks are confirmed while the snapshot's fsync is still pending", async () => {
    const syncs = holdingSyncsOf(new MemoryFileSystem(), (path) => path.endsWith('/state.json.tmp'));
    const { fixture, held } = await compactingGroup(300, { fs: syncs.fs });
    syncs.hold();
    // Enough journal records for a compaction; it cannot finish, the acks go on regardless.
    for (const d of held) await d.ack();
    expect(syncs.state.held, 'one compaction, waiting for its snapshot').toBe(1);
    const dir = '/brook/groups/t/g';
    const generation = async () => (JSON.parse(new TextDecoder().decode(await syncs.fs.readFile(`${dir}/state.json`))) as { generation: number }).generation;
    expect(await generation()).toBe(0);
    syncs.release();
    await fixture.broker.close(); // waits for the compaction
    expect(await generation()).toBe(1);
    expect((await syncs.fs.readdir(dir)).filter((n) => n.startsWith('journal-'))).toEqual(['journal-1']);
  });


  it('a snapshot taken while an attempt is given back (no attempt left) restores: the record comes again as its first delivery', async () => {
    const fixture = await engineFixture({ groupJournalBytesMax: 4096 });
    const topic = 'given-back-snapshot';
    await fixture.broker.createTopic(topic, { partitions: 2 });
    const ackTimeoutMs = 1000;
    const options = { topic, group: 'g', ordering: 'partition' as const, ackTimeoutMs };
    const acking = holding();
    const subscription = await fixture.broker.subscribe(options, acking.handler);
    const stream = fixture.broker.consume({ ...options, maxInFlight: 1 }); // takes partition 1
    await fixture.settle();
    expect(fixture.broker.describeGroup(topic, 'g').partitions.map((p) => p.owner)).toEqual(['g-0', 'g-1']);
    const givenBack: string[] = [];
    fixture.broker.on('redelivered', (e) => givenBack.push(`${e.partition}:${e.offset} ${e.reason}`));
    await fixture.broker.produce(topic, [{ value: 'r', partition: 1 }]);
    await fixture.settle(() => fixture.broker.describeGroup(topic, 'g').partitions[1]!.inFlight.length === 1);
    // r waits unread for a whole lease: given back, no attempt left; the paused stream keeps partition 1.
    await fixture.advance(ackTimeoutMs);
    await fixture.settle(() => givenBack.length === 1);
    expect(givenBack).toEqual(['1:0 unsent']);
    // Acks on partition 0, one journal record each, compact the journal while r has no attempt.
    await fixture.broker.produce(topic, Array.from({ length: 300 }, (_, i) => ({ value: `m${i}`, partition: 0 })));
    for (let i = 0; i < 300; i++) {
      await fixture.settle(() => acking.held.length > i);
      await acking.held[i]!.ack();
    }
    const dir = `/brook/groups/${topic}/g`;
    const generation = async () => (JSON.parse(new TextDecoder().decode(await fixture.fs.readFile(`${dir}/state.json`))) as { generation: number }).generation;
    expect(await generation()).toBeGreaterThan(0);
    stream.abort();
    await subscription.close();
    const broker = await fixture.restart();
    const after = holding();
    await broker.subscribe(options, after.handler);
    await fixture.settle(() => after.held.length === 1);
    expect(`${after.held[0]!.text()}#${after.held[0]!.deliveryCount}`).toBe('r#1');
  });

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
    expect(told).toHaveLength(1);
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

  it('a power cut at any operation of a compaction keeps every confirmed ack', async () => {
    const records = 120;
    let points = 0;
    for (let atOp = 1; ; atOp++) {
      const { fixture, held } = await compactingGroup(records, { fsync: 'always' });
      // Count the operations of the first compaction (journal-1, state.json) until journal-0 goes.
      let seen = 0;
      let compacted = false;
      let cut = false;
      fixture.fs.onOperation = (op) => {
        if (cut) throw new Error('the process is dead');
        if (op.kind === 'rmdir' && op.path.endsWith('/journal-0')) compacted = true;
        if (compacted || !/journal-1|state\.json/.test(op.path) || ++seen !== atOp) return;
        cut = true;
        fixture.fs.powerCut();
      };
      const confirmed = new Set<bigint>();
      for (const d of held) {
        if (cut) break;
        await d.ack().then(() => confirmed.add(d.offset), () => undefined);
      }
      if (!cut) break; // past the compaction's last operation: every point was tried
      points += 1;
      await fixture.settle(); // the dead broker's remaining work fails
      fixture.fs.onOperation = undefined;
      const broker = await fixture.restart({ powerCut: false });
      const after = holding();
      await broker.subscribe({ topic: 't', group: 'g', maxInFlight: records }, after.handler);
      // Acks go one at a time: at most the one in flight at the cut may have counted unconfirmed.
      await fixture.settle(() => after.held.length >= records - confirmed.size - 1);
      await fixture.settle();
      const redelivered = after.held.map((d) => d.offset);
      expect(redelivered.filter((offset) => confirmed.has(offset)), `cut at operation ${atOp}`).toEqual([]);
      expect(redelivered.length, `cut at operation ${atOp}`).toBeGreaterThanOrEqual(records - confirmed.size - 1);
    }
    expect(points).toBeGreaterThan(5);
  });

  it.each([
    ['groups/t/g', 'groups/t', '/brook/groups/t'],
    // groups/t/g is made again at the next subscribe (nothing was committed in it), under a
    // groups/t whose own entry in groups/ is still not durable.
    ['groups/t', 'groups', '/brook/groups'],
  ])('a group directory left without a durable entry by a kill (after creating %s, before fsyncing %s) is made durable before the group is used', async (_made, _synced, killedAt) => {
    const fixture = await engineFixture({ fsync: 'always' });
    await fixture.broker.createTopic('t');
    await fixture.broker.produce('t', [{ value: 'a' }, { value: 'b' }]);
    fixture.fs.onOperation = (op) => {
      if (op.kind === 'syncDir' && op.path === killedAt) throw new Error('killed');
    };
    await expect(fixture.broker.subscribe({ topic: 't', group: 'g' }, () => undefined)).rejects.toThrow('killed');
    fixture.fs.onOperation = undefined;
    const broker = await fixture.restart({ powerCut: false });
    const first = holding();
    await broker.subscribe({ topic: 't', group: 'g' }, first.handler);
    await fixture.settle(() => first.held.length === 2);
    await first.held[0]!.ack();
    const after = await fixture.restart();
    const second = holding();
    await after.subscribe({ topic: 't', group: 'g' }, second.handler);
    await fixture.settle(() => second.held.length === 1);
    expect(second.held.map((d) => d.text())).toEqual(['b']);
  });
});

describe('group directories at open', () => {
  it('a group of a topic that no longer exists does not stop the broker from opening', async () => {
    const fixture = await engineFixture();
    await fixture.broker.createTopic('t');
    await fixture.broker.subscribe({ topic: 't', group: 'g' }, () => undefined);
    await fixture.broker.close();
    await fixture.fs.rmdir('/brook/topics/t');
    const broker = await fixture.restart({ powerCut: false });
    expect(broker.listTopics()).toEqual([]);
    expect(broker.listGroups()).toEqual([]);
  });

  it("removes every journal generation but state.json's (what a crash left of a compaction), and replays state.json's", async () => {
    const fixture = await engineFixture();
    await fixture.broker.createTopic('t');
    await fixture.broker.produce('t', [{ value: 'a' }, { value: 'b' }]);
    const first = holding();
    await fixture.broker.subscribe({ topic: 't', group: 'g' }, first.handler);
    await fixture.settle(() => first.held.length === 2);
    await first.held[1]!.ack();
    await fixture.broker.close();
    const dir = '/brook/groups/t/g';
    for (const stale of ['journal-1', 'journal-12']) {
      await fixture.fs.mkdir(`${dir}/${stale}`);
      await fixture.fs.writeFile(`${dir}/${stale}/00000000000000000000.log`, new Uint8Array(0));
    }
    const broker = await fixture.restart({ powerCut: false });
    expect((await fixture.fs.readdir(dir)).filter((name) => name.startsWith('journal-')).sort()).toEqual(['journal-0']);
    const after = holding();
    await broker.subscribe({ topic: 't', group: 'g' }, after.handler);
    await fixture.settle(() => after.held.length === 1);
    expect(after.held.map((d) => `${d.text()}#${d.deliveryCount}`)).toEqual(['a#2']);
  });

  it('a group whose journal has a record of a partition the topic does not have stops the open with CORRUPT_METADATA naming the journal', async () => {
    const fixture = await engineFixture();
    await fixture.broker.createTopic('t', { partitions: 2 });
    await (await fixture.broker.subscribe({ topic: 't', group: 'g' }, () => undefined)).close();
    await fixture.broker.close();
    const dir = '/brook/groups/t/g/journal-0';
    const journal = await logFixture().open({ fs: fixture.fs, clock: fixture.clock, dir });
    await journal.append(encodeBatch(encodeChangesList([{ p: 2, a: [[0n, 1n]] }]).map((value) => ({ key: null, value, timestamp: 0 }))));
    await journal.close();
    await expect(fixture.restart({ powerCut: false })).rejects.toMatchObject({ code: 'CORRUPT_METADATA', details: { file: dir, partition: 2 } });
  });

  it.each([
    ['state.json', 'not JSON', 'garbage'],
    ['state.json', 'zero-filled', '\0'.repeat(40)],
    ['state.json', 'without partitions', '{"generation":0}'],
    ['state.json', 'with another partition count than the topic', '{"generation":0,"partitions":[]}'],
    ['state.json', 'with acked ranges out of order', '{"generation":0,"partitions":[{"ackFloor":"0","acked":[["5","6"],["2","3"]],"attempts":[]}]}'],
    ['state.json', 'with an attempt count of 0', '{"generation":0,"partitions":[{"ackFloor":"0","acked":[],"attempts":[["3",0]]}]}'],
    ['config.json', 'not JSON', 'garbage'],
    ['config.json', 'with an unknown ordering', '{"ordering":"bogus","ackTimeoutMs":30000}'],
  ])('a group whose %s is %s stops the open with CORRUPT_METADATA naming the file', async (file, _what, content) => {
    const fixture = await engineFixture();
    await fixture.broker.createTopic('t');
    await fixture.broker.subscribe({ topic: 't', group: 'g' }, () => undefined);
    await fixture.broker.close();
    const path = `/brook/groups/t/g/${file}`;
    await fixture.fs.writeFile(path, new TextEncoder().encode(content));
    await expect(fixture.restart({ powerCut: false })).rejects.toMatchObject({ code: 'CORRUPT_METADATA', details: { file: path } });
  });
});

describe('group state ahead of its log', () => {
  it('after a power cut that kept the group journal but not the log tail, new records at the reused offsets are delivered, not taken as acked', async () => {
    const fixture = await engineFixture({ fsync: 'never' });
    await fixture.broker.createTopic('t');
    await fixture.broker.produce('t', [{ value: 'a' }, { value: 'b' }]);
    const first = holding();
    await fixture.broker.subscribe({ topic: 't', group: 'g', maxInFlight: 10 }, first.handler);
    await fixture.settle(() => first.held.length === 2);
    for (const d of first.held) await d.ack();
    // The journal's writes reach the disk, the topic's tail does not.
    const broker = await fixture.restart({ keep: (path, pendingOps) => ({ ops: path.includes('/groups/') ? pendingOps : 0 }) });
    expect(broker.describeTopic('t').partitions[0]!.endOffset).toBe(0n);
    await broker.produce('t', [{ value: 'c' }]);
    const after = holding();
    await broker.subscribe({ topic: 't', group: 'g', maxInFlight: 10 }, after.handler);
    await fixture.settle(() => after.held.length === 1);
    expect(after.held.map((d) => [d.offset, d.text()])).toEqual([[0n, 'c']]);
  });

  it('the same for acks above the ackFloor (out of order): the records at their offsets are delivered, not taken as acked', async () => {
    const fixture = await engineFixture({ fsync: 'never' });
    await fixture.broker.createTopic('t');
    await fixture.broker.produce('t', ['a', 'b', 'c'].map((value) => ({ value })));
    const first = holding();
    await fixture.broker.subscribe({ topic: 't', group: 'g', maxInFlight: 10 }, first.handler);
    await fixture.settle(() => first.held.length === 3);
    await first.held[1]!.ack();
    await first.held[2]!.ack();
    expect(fixture.broker.describeGroup('t', 'g').partitions[0]!.ackFloor).toBe(0n);
    const broker = await fixture.restart({ keep: (path, pendingOps) => ({ ops: path.includes('/groups/') ? pendingOps : 0 }) });
    expect(broker.describeTopic('t').partitions[0]!.endOffset).toBe(0n);
    await broker.produce('t', ['x', 'y', 'z'].map((value) => ({ value })));
    const after = holding();
    await broker.subscribe({ topic: 't', group: 'g', maxInFlight: 10 }, after.handler);
    await fixture.settle(() => after.held.length === 3);
    expect(after.held.map((d) => d.text())).toEqual(['x', 'y', 'z']);
  });
});
