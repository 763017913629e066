/**
 * Redrive (docs/semantics.md "Redrive"): dead-lettered records go back to their origin topic,
 * each once, through concurrent calls, deleted origin topics and look-alike headers. All through
 * the broker's API on the virtual clock.
 */
import { describe, expect, it } from 'vitest';
import { engineFixture, parking } from './group-fixture.js';
import { REDRIVE_GROUP } from './redrive.js';
import { deadLetter, values } from './redrive.test-support.js';
import { heldReads } from '../held-reads.test-support.js';

describe('redrive', () => {
  it("in 'key' ordering a redriven record is the newest of its key: it waits behind the key's record in flight and those after it", async () => {
    const { broker, settle } = await engineFixture();
    await broker.createTopic('keyed');
    await broker.produce('keyed', ['k0', 'k1', 'k2'].map((value) => ({ key: 'K', value })));
    const { held, handler } = parking();
    await broker.subscribe({ topic: 'keyed', group: 'g-keyed', ordering: 'key', deadLetterTopic: 'keyed.dlq' }, handler);
    await settle();
    await held[0]!.reject('bad');
    await settle();
    expect(await broker.redrive('keyed.dlq')).toEqual({ moved: 1, skipped: 0 });
    await settle();
    expect(held.map((d) => `${d.text()}@${d.offset}`)).toEqual(['k0@0', 'k1@1']);
    await held[1]!.ack();
    await settle();
    await held[2]!.ack();
    await settle();
    expect(held.map((d) => `${d.text()}@${d.offset}`)).toEqual(['k0@0', 'k1@1', 'k2@2', 'k0@3']);
  });

  it('moves dead-lettered records back to their topic, once, in the order they were given up on', async () => {
    const fixture = await engineFixture();
    const { broker, settle } = fixture;
    await broker.createTopic('once');
    await broker.produce('once', ['m0', 'm1', 'm2'].map((value) => ({ value })));
    await broker.subscribe({ topic: 'once', group: 'g-once' }, (d) => (d.offset === 1n || d.offset === 2n ? d.reject('later') : undefined));
    await settle(() => broker.describeGroup('once', 'g-once').lag === 0n && broker.describeGroup('once', 'g-once').partitions[0]!.deadLettered === 2);
    const deadOrder = await values(broker, 'once.dlq');
    expect([...deadOrder].sort()).toEqual(['m1', 'm2']);
    expect(await broker.redrive('once.dlq')).toEqual({ moved: 2, skipped: 0 });
    expect(await broker.redrive('once.dlq')).toEqual({ moved: 0, skipped: 0 });
    expect(await values(broker, 'once', 0, 3n)).toEqual(deadOrder);
    await settle(() => broker.describeGroup('once', 'g-once').lag === 0n);
  });

  it('a dead-letter topic of several partitions: the records of one origin partition go back in order (a copy goes to the partition of its origin\'s number)', async () => {
    const fixture = await engineFixture();
    const { broker } = fixture;
    await broker.createTopic('spread', { partitions: 2 });
    await broker.createTopic('spread.dlq', { partitions: 3 });
    const produced = [0, 1, 2, 3, 4, 5].map((i) => ({ value: `m${i}`, partition: i % 2 }));
    await deadLetter(fixture, 'spread', 'g-spread', produced);
    expect(await broker.redrive('spread.dlq')).toEqual({ moved: 6, skipped: 0 });
    expect([await values(broker, 'spread', 0, 3n), await values(broker, 'spread', 1, 3n)]).toEqual([['m0', 'm2', 'm4'], ['m1', 'm3', 'm5']]);
    expect((await values(broker, 'spread.dlq', 2)).length).toBe(0);
  });

  it('two redrives called together move each record once: the second waits and moves what is left', async () => {
    const fixture = await engineFixture();
    const { broker } = fixture;
    await broker.createTopic('twice');
    await deadLetter(fixture, 'twice', 'g-twice', [{ value: 'a' }, { value: 'b' }, { value: 'c' }]);
    const results = await Promise.all([broker.redrive('twice.dlq', { maxRecords: 1 }), broker.redrive('twice.dlq'), broker.redrive('twice.dlq')]);
    expect(results).toEqual([{ moved: 1, skipped: 0 }, { moved: 2, skipped: 0 }, { moved: 0, skipped: 0 }]);
    expect((await values(broker, 'twice', 0, 3n)).sort()).toEqual(['a', 'b', 'c']);
  });

  it('a redrive moves only what the dead-letter topic held when it was called', async () => {
    const fixture = await engineFixture();
    const { broker } = fixture;
    await broker.createTopic('snapshot');
    await deadLetter(fixture, 'snapshot', 'g-snapshot', [{ value: 'first' }]);
    const running = broker.redrive('snapshot.dlq');
    const later = broker.redrive('snapshot.dlq');
    // Written after both calls were made, while the first may still be running: neither moves it.
    await broker.produce('snapshot.dlq', [{ value: 'late' }]);
    expect(await running).toEqual({ moved: 1, skipped: 0 });
    expect(await later).toEqual({ moved: 0, skipped: 0 });
  });

  it('skips records whose origin topic was deleted, leaving them waiting, and moves the rest', async () => {
    const fixture = await engineFixture();
    const { broker } = fixture;
    await broker.createTopic('gone-a');
    await broker.createTopic('gone-b');
    await deadLetter(fixture, 'gone-a', 'g-gone-a', [{ value: 'from a' }], 'gone.dlq');
    await deadLetter(fixture, 'gone-b', 'g-gone-b', [{ value: 'from b' }], 'gone.dlq');
    await broker.deleteTopic('gone-a');
    expect(await broker.redrive('gone.dlq')).toEqual({ moved: 1, skipped: 1 });
    expect(await values(broker, 'gone-b', 0, 1n)).toEqual(['from b']);
    expect(await broker.redrive('gone.dlq')).toEqual({ moved: 0, skipped: 1 });
    expect(broker.describeGroup('gone.dlq', REDRIVE_GROUP).lag).toBe(1n);
    // A topic created again under the origin's name takes the record back.
    await broker.createTopic('gone-a');
    expect(await broker.redrive('gone.dlq')).toEqual({ moved: 1, skipped: 0 });
    expect(await values(broker, 'gone-a')).toEqual(['from a']);
    expect(broker.describeGroup('gone.dlq', REDRIVE_GROUP).lag).toBe(0n);
  });

  it('an origin topic that is full ends the redrive with TOPIC_FULL: what it moved stays moved, the rest waits', async () => {
    const fixture = await engineFixture();
    const { broker } = fixture;
    await broker.createTopic('roomy');
    await broker.createTopic('cramped', { retention: { maxBytes: 400, discard: 'new' } });
    await deadLetter(fixture, 'roomy', 'g-roomy', [{ value: 'fits' }], 'mixed.dlq');
    await deadLetter(fixture, 'cramped', 'g-cramped', [{ value: 'no room' }], 'mixed.dlq');
    await broker.produce('cramped', [{ value: 'x'.repeat(250) }]);
    await expect(broker.redrive('mixed.dlq')).rejects.toMatchObject({ code: 'TOPIC_FULL' });
    expect(await values(broker, 'roomy', 0, 1n)).toEqual(['fits']);
    expect(broker.describeGroup('mixed.dlq', REDRIVE_GROUP).lag).toBe(1n);
  });

  it('a redrive that stops part-way says in its error how many it moved and skipped, and the dead-letter record it stopped at', async () => {
    const fixture = await engineFixture();
    const { broker } = fixture;
    await broker.createTopic('part-roomy');
    await broker.createTopic('part-cramped', { retention: { maxBytes: 400, discard: 'new' } });
    await deadLetter(fixture, 'part-roomy', 'g-part-roomy', [{ value: 'a' }, { value: 'b' }], 'part.dlq');
    await deadLetter(fixture, 'part-cramped', 'g-part-cramped', [{ value: 'no room' }], 'part.dlq');
    await deadLetter(fixture, 'part-roomy', 'g-part-roomy', [{ value: 'after' }], 'part.dlq');
    await broker.produce('part-cramped', [{ value: 'x'.repeat(250) }]);
    const failure = await broker.redrive('part.dlq').catch((error: unknown) => error);
    expect(failure).toMatchObject({
      code: 'TOPIC_FULL', retriable: true,
      details: expect.objectContaining({ topic: 'part-cramped', deadLetterTopic: 'part.dlq', moved: 2, skipped: 0, deadLetterPartition: 0, deadLetterOffset: 2n }),
    });
    expect((failure as Error).message).toMatch(/^TOPIC_FULL: redrive of part\.dlq stopped at part\.dlq\/0@2 \(moved 2, skipped 0 before it\): /);
    expect((failure as Error).cause).toMatchObject({ code: 'TOPIC_FULL', details: { topic: 'part-cramped' } });
    expect(broker.describeGroup('part.dlq', REDRIVE_GROUP).partitions[0]!.ackFloor).toBe(2n);
  });

  it('skips records whose origin partition no longer exists, and records that are not dead letters', async () => {
    const fixture = await engineFixture();
    const { broker } = fixture;
    await broker.createTopic('shrunk', { partitions: 2 });
    await deadLetter(fixture, 'shrunk', 'g-shrunk', [{ value: 'p1', partition: 1 }, { value: 'p0', partition: 0 }]);
    await broker.deleteTopic('shrunk');
    await broker.createTopic('shrunk', { partitions: 1 });
    await broker.produce('shrunk.dlq', [{ value: 'hand-written', headers: { 'brook.origin.topic': 'shrunk' } }]);
    expect(await broker.redrive('shrunk.dlq')).toEqual({ moved: 1, skipped: 2 });
    expect(await values(broker, 'shrunk')).toEqual(['p0']);
  });

  it('survives a restart: what was moved is not moved again, what was skipped still waits', async () => {
    const fixture = await engineFixture();
    await fixture.broker.createTopic('kept-a');
    await fixture.broker.createTopic('kept-b');
    await deadLetter(fixture, 'kept-a', 'g-kept-a', [{ value: 'a' }], 'kept.dlq');
    await deadLetter(fixture, 'kept-b', 'g-kept-b', [{ value: 'b' }], 'kept.dlq');
    await fixture.broker.deleteTopic('kept-a');
    expect(await fixture.broker.redrive('kept.dlq')).toEqual({ moved: 1, skipped: 1 });
    const broker = await fixture.restart();
    expect(await broker.redrive('kept.dlq')).toEqual({ moved: 0, skipped: 1 });
    expect(await values(broker, 'kept-b', 0, 1n)).toEqual(['b']);
  });

  it("a redrive racing the dead-letter topic's retention moves what retention left, and the redrive group counts the rest as lost", async () => {
    // Reads of 8 KiB, and runs of one record (batchRecordsMax 1): the redrive goes back to the
    // log for more while retention deletes under it (with longer runs it reads the whole topic
    // before its first produce back, so retention would strike after every record was read).
    const fixture = await engineFixture({ fetchBytesMax: 8192, batchRecordsMax: 1 });
    const { broker } = fixture;
    await broker.createTopic('raced');
    await broker.createTopic('raced.dlq', { segmentBytesMax: 4096, retention: { maxBytes: 8192 } });
    await deadLetter(fixture, 'raced', 'g-raced', Array.from({ length: 100 }, (_, i) => ({ value: `m${i}`.padEnd(200, '.') })));
    // The redrive group, made by the first record moved, is there before retention strikes.
    expect(await broker.redrive('raced.dlq', { maxRecords: 1 })).toEqual({ moved: 1, skipped: 0 });
    let retaining: Promise<unknown> | undefined;
    broker.on('produced', (e) => {
      if (e.topic === 'raced') retaining ??= broker.enforceRetention();
    });
    const { moved, skipped } = await broker.redrive('raced.dlq');
    await retaining;
    const startOffset = broker.describeTopic('raced.dlq').partitions[0]!.startOffset;
    expect(startOffset).toBeGreaterThan(moved);
    const progress = broker.describeGroup('raced.dlq', REDRIVE_GROUP).partitions[0]!;
    // The record being moved when retention struck went back and counts as lost too: unacked then.
    expect([skipped, progress.ackFloor, progress.lostToRetention > 0n]).toEqual([0, 100n, true]);
    const back = await values(broker, 'raced', 0, 101n);
    expect(back).toHaveLength(moved);
    expect(back.slice(-10)).toEqual(Array.from({ length: 10 }, (_, i) => `m${90 + i}`.padEnd(200, '.')));
    expect(startOffset).toBe(90n);
  });

  it('restores the record\'s own headers, even ones named like the broker\'s, and reads the origin from the broker\'s', async () => {
    const fixture = await engineFixture();
    const { broker } = fixture;
    await broker.createTopic('look-alike');
    const headers = [
      { key: 'brook.reason', value: new TextEncoder().encode('mine') },
      { key: 'brook.origin.topic', value: new TextEncoder().encode('elsewhere') },
      { key: 'trace', value: null },
    ];
    await deadLetter(fixture, 'look-alike', 'g-look-alike', [{ value: 'v', headers, timestamp: 1234 }]);
    expect(await broker.redrive('look-alike.dlq')).toEqual({ moved: 1, skipped: 0 });
    const [back] = await broker.fetch({ topic: 'look-alike', partition: 0, offset: 1n });
    expect(back!.headers).toEqual(headers);
    expect(back!.timestamp).toBe(1234);
  });

  it('restores a timestamp of 16 digits (a produce takes any up to 2^53-1 if timestampAheadMsMax lets it, e.g. microseconds by mistake): it is no look-alike to skip', async () => {
    const fixture = await engineFixture({ timestampAheadMsMax: Number.MAX_SAFE_INTEGER });
    const { broker } = fixture;
    await broker.createTopic('late-ts');
    const timestamps = [1_732_412_345_678_901, Number.MAX_SAFE_INTEGER];
    await deadLetter(fixture, 'late-ts', 'g-late-ts', timestamps.map((timestamp) => ({ value: String(timestamp), timestamp })));
    expect(await broker.redrive('late-ts.dlq')).toEqual({ moved: 2, skipped: 0 });
    const back = await broker.fetch({ topic: 'late-ts', partition: 0, offset: 2n });
    expect(back.map((r) => r.timestamp)).toEqual(timestamps);
  });

  it('is a produce: every group of the origin topic gets the record again, at a new offset, as a first delivery', async () => {
    const { broker, settle } = await engineFixture();
    await broker.createTopic('fan', { partitions: 2 });
    await broker.produce('fan', [{ value: 'a', partition: 1 }]);
    const seen: string[] = [];
    await broker.subscribe({ topic: 'fan', group: 'g-rejects' }, (d) => (d.deliveryCount === 1 && d.offset === 0n ? d.reject('bad') : void seen.push(`rejects ${d.partition}:${d.offset} #${d.deliveryCount}`)));
    await broker.subscribe({ topic: 'fan', group: 'g-acks' }, (d) => void seen.push(`acks ${d.partition}:${d.offset} #${d.deliveryCount}`));
    await settle(() => broker.describeGroup('fan', 'g-rejects').lag === 0n && broker.describeGroup('fan', 'g-acks').lag === 0n);
    expect(await broker.redrive('fan.dlq')).toEqual({ moved: 1, skipped: 0 });
    await settle(() => seen.length === 3);
    expect(seen.sort()).toEqual(['acks 1:0 #1', 'acks 1:1 #1', 'rejects 1:1 #1']);
  });
});

describe('redrive racing a delete of its dead-letter topic', () => {
  it('a redrive reading the dead-letter topic when it is deleted fails with UNKNOWN_TOPIC, not the log\'s CLOSED (which means the broker is closing)', async () => {
    const { world, holdNextRead } = await heldReads();
    const { broker } = world;
    await broker.createTopic('deleted-under');
    await deadLetter(world, 'deleted-under', 'g-deleted-under', [{ value: 'x' }]);
    const held = holdNextRead(/\/topics\/deleted-under\.dlq\//);
    const redriving = broker.redrive('deleted-under.dlq').then(() => 'redriven', (e: { code: string }) => e.code);
    await held.reached;
    await broker.deleteTopic('deleted-under.dlq');
    held.release();
    expect(await redriving).toBe('UNKNOWN_TOPIC');
    expect(await values(broker, 'deleted-under')).toEqual(['x']);
  });

  it('a redrive waiting behind another when its dead-letter topic is made again fails with UNKNOWN_TOPIC: it moves nothing dead-lettered after the call', async () => {
    const { world, holdNextRead } = await heldReads();
    const { broker } = world;
    await broker.createTopic('remade-under');
    await deadLetter(world, 'remade-under', 'g-remade-under', [{ value: 'old' }]);
    const held = holdNextRead(/\/topics\/remade-under\.dlq\//);
    const first = broker.redrive('remade-under.dlq').then(() => 'redriven', (e: { code: string }) => e.code);
    await held.reached;
    const waiting = broker.redrive('remade-under.dlq').then((r) => r, (e: { code: string }) => e.code);
    // One with nothing to read (its endOffsets at 0) fails the same: its topic is gone.
    const readingNothing = broker.redrive('remade-under.dlq', { endOffsets: [0n] }).then((r) => r, (e: { code: string }) => e.code);
    await broker.deleteTopic('remade-under.dlq');
    await broker.createTopic('remade-under.dlq');
    await deadLetter(world, 'remade-under', 'g-remade-under', [{ value: 'new' }]);
    held.release();
    expect(await first).toBe('UNKNOWN_TOPIC');
    expect(await waiting).toBe('UNKNOWN_TOPIC');
    expect(await readingNothing).toBe('UNKNOWN_TOPIC');
    expect(await values(broker, 'remade-under')).toEqual(['old', 'new']);
  });

  it('deleted as its first records go back, before the redrive group is made of them: UNKNOWN_TOPIC with no progress to retry from', async () => {
    const fixture = await engineFixture();
    const { broker } = fixture;
    await broker.createTopic('gone-at-ack');
    await deadLetter(fixture, 'gone-at-ack', 'g-gone-at-ack', [{ value: 'a' }, { value: 'b' }]);
    let deleting: Promise<void> | undefined;
    broker.on('produced', (e) => void (e.topic === 'gone-at-ack' && (deleting ??= broker.deleteTopic('gone-at-ack.dlq'))));
    const failure = await broker.redrive('gone-at-ack.dlq').catch((e: unknown) => e);
    await deleting;
    // Not "2 went back but their acks failed, and will go back again": their dead-letter topic is gone.
    expect(failure).toMatchObject({ code: 'UNKNOWN_TOPIC', details: { topic: 'gone-at-ack.dlq' } });
    expect((failure as { details: object }).details).not.toHaveProperty('appendedNotAcked');
    expect(await values(broker, 'gone-at-ack', 0, 2n)).toEqual(['a', 'b']);
  });
});

describe('records going back together', () => {
  it('consecutive records of one origin partition go back in one batch each run, in order; maxRecords still counts exactly', async () => {
    const fixture = await engineFixture();
    const { broker } = fixture;
    await broker.createTopic('runs', { partitions: 2 });
    const sent = Array.from({ length: 30 }, (_, i) => ({ value: `r${i}`, partition: i < 20 ? 0 : 1 }));
    await deadLetter(fixture, 'runs', 'g-runs', sent);
    const batches: string[] = [];
    broker.on('produced', (e) => void (e.topic === 'runs' && batches.push(`${e.partition}:${e.records}`)));
    expect(await broker.redrive('runs.dlq', { maxRecords: 7 })).toEqual({ moved: 7, skipped: 0 });
    expect(await broker.redrive('runs.dlq')).toEqual({ moved: 23, skipped: 0 });
    // One produce and one fsync a record before: 30 batches.
    expect(batches).toEqual(['0:7', '0:13', '1:10']);
    expect(await values(broker, 'runs', 0, 20n)).toEqual(sent.slice(0, 20).map((r) => r.value));
    expect(await values(broker, 'runs', 1, 10n)).toEqual(sent.slice(20).map((r) => r.value));
  });

  it("a run back to a topic with discard 'new' keeps to its maxBytes: records that each fit are never refused together for good", async () => {
    const fixture = await engineFixture();
    const { broker, settle } = fixture;
    await broker.createTopic('run-small');
    const sent = Array.from({ length: 10 }, (_, i) => ({ value: `m${i}`.padEnd(300, '.') }));
    await deadLetter(fixture, 'run-small', 'g-run-small', sent);
    // The origin made again with room for a few records at a time, and a group that frees it.
    await broker.deleteTopic('run-small');
    await broker.createTopic('run-small', { retention: { maxBytes: 2048, discard: 'new' } });
    await broker.subscribe({ topic: 'run-small', group: 'g-run-small-drain' }, () => undefined);
    let moved = 0;
    for (let i = 0; i < 20 && moved < 10; i++) {
      // TOPIC_FULL (retriable) until the group frees room; MESSAGE_TOO_LARGE would be for good.
      moved += await broker.redrive('run-small.dlq').then((r) => r.moved, (error: { code: string; details: { moved: number } }) => {
        expect(error.code).toBe('TOPIC_FULL');
        return error.details.moved;
      });
      await settle();
    }
    expect(moved).toBe(10);
    expect(broker.describeTopic('run-small').partitions[0]!.endOffset).toBe(10n);
  });

  it('a run whose origin topic is gone is skipped whole, and the records after it still go back', async () => {
    const fixture = await engineFixture();
    const { broker } = fixture;
    await broker.createTopic('run-gone');
    await broker.createTopic('run-stays');
    await deadLetter(fixture, 'run-gone', 'g-run-gone', [{ value: 'g0' }, { value: 'g1' }], 'runs-shared.dlq');
    await deadLetter(fixture, 'run-stays', 'g-run-stays', [{ value: 's0' }, { value: 's1' }], 'runs-shared.dlq');
    await broker.deleteTopic('run-gone');
    expect(await broker.redrive('runs-shared.dlq')).toEqual({ moved: 2, skipped: 2 });
    expect(await values(broker, 'run-stays', 0, 2n)).toEqual(['s0', 's1']);
  });
});

describe('a redrive whose acks fail', () => {
  it('says which records went back unacked (they will go back again), not that nothing of the run moved', async () => {
    const fixture = await engineFixture();
    const { broker, fs } = fixture;
    await broker.createTopic('unacked');
    await deadLetter(fixture, 'unacked', 'g-unacked', [{ value: 'a' }, { value: 'b' }]);
    fs.failNext('write', { errno: 'EIO', path: /\/groups\/unacked\.dlq\/brook\.redrive\/journal-/ });
    const failure = await broker.redrive('unacked.dlq').catch((error: unknown) => error);
    expect(failure).toMatchObject({ code: 'IO_ERROR', details: { moved: 0, appendedNotAcked: 2, deadLetterOffset: 0n } });
    expect((failure as Error).message).toMatch(/2 from there went back but their acks failed/);
    expect(await values(broker, 'unacked', 0, 2n)).toEqual(['a', 'b']);
  });
});

describe('the redrive group', () => {
  it('is listed and described like any group: its lag is what waits to be redriven', async () => {
    const fixture = await engineFixture();
    const { broker } = fixture;
    await broker.createTopic('listed');
    await deadLetter(fixture, 'listed', 'g-listed', [{ value: 'x' }, { value: 'y' }]);
    expect(await broker.redrive('listed.dlq', { maxRecords: 1 })).toEqual({ moved: 1, skipped: 0 });
    expect(broker.listGroups('listed.dlq')).toEqual([{ topic: 'listed.dlq', group: REDRIVE_GROUP }]);
    expect(broker.describeGroup('listed.dlq', REDRIVE_GROUP).lag).toBe(1n);
  });

  it("is not made by a redrive that moves nothing (a topic with no dead letters, a typo): it would hold a discard 'new' topic's room for good", async () => {
    const { broker, settle } = await engineFixture();
    await broker.createTopic('not-a-dlq', { retention: { maxBytes: 1000, discard: 'new' } });
    await broker.subscribe({ topic: 'not-a-dlq', group: 'g-not-a-dlq' }, () => undefined);
    await broker.produce('not-a-dlq', [{ value: 'plain' }]);
    expect(await broker.redrive('not-a-dlq')).toEqual({ moved: 0, skipped: 1 });
    expect(broker.listGroups('not-a-dlq')).toEqual([{ topic: 'not-a-dlq', group: 'g-not-a-dlq' }]);
    // Its consumer keeps up, so the topic always has room for more than it holds at once.
    for (let i = 0; i < 12; i++) {
      await broker.produce('not-a-dlq', [{ value: `m${i}`.padEnd(150, '.') }]);
      await settle(() => broker.describeGroup('not-a-dlq', 'g-not-a-dlq').lag === 0n);
    }
  });

  it('is made by a reset when no redrive has moved a record yet: an operator can give up on records every redrive skipped', async () => {
    const fixture = await engineFixture();
    const { broker } = fixture;
    await broker.createTopic('skipped-only');
    await deadLetter(fixture, 'skipped-only', 'g-skipped-only', [{ value: 'orphan' }], 'skipped-only.dlq');
    await broker.deleteTopic('skipped-only');
    expect(await broker.redrive('skipped-only.dlq')).toEqual({ moved: 0, skipped: 1 });
    await expect(broker.resetGroup('skipped-only.dlq', REDRIVE_GROUP, 'latest')).resolves.toEqual([1n]);
    await broker.createTopic('skipped-only');
    expect(await broker.redrive('skipped-only.dlq')).toEqual({ moved: 0, skipped: 0 });
    expect(broker.describeGroup('skipped-only.dlq', REDRIVE_GROUP).lag).toBe(0n);
    // Any other group still has to exist to be reset.
    await expect(broker.resetGroup('skipped-only.dlq', 'g-none', 'latest')).rejects.toMatchObject({ code: 'UNKNOWN_GROUP' });
  });

  it('cannot be joined: its progress is acked by redrive alone', async () => {
    const { broker } = await engineFixture();
    await broker.createTopic('reserved.dlq');
    await expect(broker.subscribe({ topic: 'reserved.dlq', group: REDRIVE_GROUP }, () => undefined)).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
  });
});
