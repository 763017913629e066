/**
 * Group state survives crashes: no confirmed ack is lost, records in flight at the crash come
 * back with deliveryCount + 1, and the journal compacts into snapshots without losing anything.
 */
import { describe, expect, it } from 'vitest';
import { MemoryFileSystem, encodeBatch } from '@brook/protocol';
import { holdingSyncsOf, logFixture } from '../log/log-fixture.js';
import type { Delivery } from './delivery.js';
import { engineFixture } from './group-fixture.js';
import { encodeChangesList } from './journal-codec.js';
import { compactingGroup, holding } from './compacting-group.test-support.js';

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

  it('after a power cut: a record never delivered comes as a first delivery, the ones in flight with deliveryCount + 1', async () => {
    const fixture = await engineFixture({ fsync: 'always' });
    await fixture.broker.createTopic('cut-window');
    await fixture.broker.produce('cut-window', ['a', 'b', 'c', 'd'].map((value) => ({ value })));
    const before = holding();
    // Two handed out, so journaled (one range of first attempts, [0, 2)); c and d never go out.
    await fixture.broker.subscribe({ topic: 'cut-window', group: 'g', maxInFlight: 2 }, before.handler);
    await fixture.settle(() => before.held.length === 2);
    const broker = await fixture.restart();
    const after = holding();
    await broker.subscribe({ topic: 'cut-window', group: 'g', maxInFlight: 10 }, after.handler);
    await fixture.settle(() => after.held.length === 4);
    expect(after.held.map((d) => `${d.text()}#${d.deliveryCount}`)).toEqual(['a#2', 'b#2', 'c#1', 'd#1']);
    expect(after.held.map((d) => d.redelivered)).toEqual([true, true, false, false]);
  });

  it('after a power cut: an attempt given back and started again while the journal waited for an fsync comes back with deliveryCount + 1', async () => {
    const memory = new MemoryFileSystem();
    const syncs = holdingSyncsOf(memory, (path) => path.includes('/journal-'));
    const fixture = await engineFixture({ fs: syncs.fs, fsync: 'always' });
    const { broker } = fixture;
    const topic = 'given-back-again';
    const ackTimeoutMs = 1000;
    await broker.createTopic(topic);
    await broker.produce(topic, [{ value: 'x' }]);
    // A stream never read: x reaches its queue and waits there unsent.
    const unread = broker.consume({ topic, group: 'g', maxInFlight: 1, ackTimeoutMs });
    await fixture.settle(() => broker.listGroups(topic).length === 1 && broker.describeGroup(topic, 'g').partitions[0]!.inFlight.length === 1);
    const acking = holding();
    await broker.subscribe({ topic, group: 'g', maxInFlight: 10, ackTimeoutMs }, acking.handler);
    await broker.produce(topic, [{ value: 'z' }]);
    await fixture.settle(() => acking.held.length === 1);
    syncs.hold();
    const acked = acking.held[0]!.ack(); // its journal write waits for the fsync
    await fixture.settle(() => syncs.state.held === 1);
    // x's lease runs out unsent: the attempt is given back and x goes out again, both journaled
    // in the one write waiting behind z's ack.
    await fixture.advance(ackTimeoutMs);
    syncs.release();
    await acked;
    await fixture.settle(() => acking.held.length === 2);
    expect(acking.held.map((d) => `${d.text()}#${d.deliveryCount}`)).toEqual(['z#1', 'x#1']);
    unread.abort();
    memory.powerCut();
    const after = holding();
    await (await fixture.restart({ powerCut: false })).subscribe({ topic, group: 'g' }, after.handler);
    await fixture.settle(() => after.held.length === 1);
    expect(`${after.held[0]!.text()}#${after.held[0]!.deliveryCount}`).toBe('x#2');
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
    await fixture.settle(); // a compaction the last acks started ends in the background (closes and deletes the old journal)
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
    await expect(fixture.restart({ powerCut: false })).rejects.toMatchObject({
      code: 'CORRUPT_METADATA', details: { file: dir, partition: 2 }, message: expect.stringMatching(new RegExp(`^CORRUPT_METADATA: ${dir}: .*partition 2, the topic has 2`)),
    });
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
