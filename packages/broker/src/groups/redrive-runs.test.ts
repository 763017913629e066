/**
 * Redrive's runs (docs/semantics.md "Redrive", "Runs"): records going back to one origin
 * partition together, and how runs meet a full origin, maxRecords and skipped records; and the
 * redrive group made by a run that retention overtook first.
 */
import { describe, expect, it } from 'vitest';
import { engineFixture, type EngineFixture } from './group-fixture.js';
import { REDRIVE_GROUP } from './redrive.js';
import { values } from './redrive.test-support.js';

/** Has group `group` reject every record of `topic` produced meanwhile, one produce a record, waiting until each is dead-lettered. */
async function deadLetterEach(world: EngineFixture, topic: string, group: string, values: string[], deadLetterTopic: string): Promise<void> {
  const { broker, settle } = world;
  const sub = await broker.subscribe({ topic, group, deadLetterTopic }, (d) => d.reject('bad'));
  for (const value of values) {
    await broker.produce(topic, [{ value }]);
    await settle(() => broker.describeGroup(topic, group).lag === 0n);
  }
  await sub.close();
}

describe('a run refused for room', () => {
  it("goes back a record at a time when the whole run is more than a discard 'new' origin can ever hold", async () => {
    const world = await engineFixture();
    const { broker } = world;
    await broker.createTopic('rr-tight', { retention: { maxBytes: 1000, discard: 'new' } });
    const sent = Array.from({ length: 8 }, (_, i) => `t${i}`.padEnd(150, '.'));
    await deadLetterEach(world, 'rr-tight', 'g-rr-tight', sent, 'rr-tight.dlq');
    // Empty again, with room for four of them a batch each (220 bytes a batch of one; a few more
    // in shared batches): eight are more than the topic can ever hold, so they go in runs within
    // maxBytes, then a record at a time, until it is full. More than four go: a run the origin
    // could never take whole (MESSAGE_TOO_LARGE) would have gone a record at a time from the first.
    await broker.deleteTopic('rr-tight');
    await broker.createTopic('rr-tight', { retention: { maxBytes: 1000, discard: 'new' } });
    const failure = await broker.redrive('rr-tight.dlq').catch((error: unknown) => error) as { details: { moved: number } };
    const { moved } = failure.details;
    expect(moved).toBeGreaterThan(4);
    expect(moved).toBeLessThan(8);
    expect(failure).toMatchObject({ code: 'TOPIC_FULL', retriable: true, details: expect.objectContaining({ skipped: 0, deadLetterOffset: BigInt(moved) }) });
    // Consumed, those make room for the rest.
    const sub = await broker.subscribe({ topic: 'rr-tight', group: 'g-rr-reader', from: 'earliest' }, () => undefined);
    await world.settle(() => broker.describeGroup('rr-tight', 'g-rr-reader').lag === 0n);
    expect(await broker.redrive('rr-tight.dlq')).toEqual({ moved: 8 - moved, skipped: 0 });
    await sub.close();
    expect(await values(broker, 'rr-tight', 0, BigInt(moved))).toEqual(sent.slice(moved));
    expect(broker.describeGroup('rr-tight.dlq', REDRIVE_GROUP).lag).toBe(0n);
  });
});

describe('skipped records and runs', () => {
  it('a run that fails counts none of the records skipped after its first: the redrive stopped before them', async () => {
    const world = await engineFixture();
    const { broker } = world;
    await broker.createTopic('rs-full', { retention: { maxBytes: 500, discard: 'new' } });
    await deadLetterEach(world, 'rs-full', 'g-rs-full', ['a'], 'rs-full.dlq');
    await broker.produce('rs-full.dlq', [{ value: 'not a dead letter' }]);
    await deadLetterEach(world, 'rs-full', 'g-rs-full', ['b'], 'rs-full.dlq');
    await broker.deleteGroup('rs-full', 'g-rs-full');
    await broker.produce('rs-full', [{ value: 'x'.repeat(250) }]);
    const failure = await broker.redrive('rs-full.dlq').catch((error: unknown) => error);
    expect(failure).toMatchObject({ code: 'TOPIC_FULL', details: expect.objectContaining({ moved: 0, skipped: 0, deadLetterPartition: 0, deadLetterOffset: 0n }) });
  });

  it('maxRecords: a redrive that moved its last record looks no further, so skips nothing after it', async () => {
    const world = await engineFixture();
    const { broker } = world;
    await broker.createTopic('rs-max');
    await deadLetterEach(world, 'rs-max', 'g-rs-max', ['a', 'b'], 'rs-max.dlq');
    await broker.produce('rs-max.dlq', [{ value: 'not a dead letter' }]);
    await deadLetterEach(world, 'rs-max', 'g-rs-max', ['c'], 'rs-max.dlq');
    // The same whether or not a record that can go back follows the skipped one.
    expect(await broker.redrive('rs-max.dlq', { maxRecords: 2 })).toEqual({ moved: 2, skipped: 0 });
    expect(await broker.redrive('rs-max.dlq', { maxRecords: 2 })).toEqual({ moved: 1, skipped: 1 });
    expect(await values(broker, 'rs-max', 0, 3n)).toEqual(['a', 'b', 'c']);
  });

  it('maxRecords counts records moved, not records tried: a run skipped whole (its origin gone) leaves the count to the records after it', async () => {
    const world = await engineFixture();
    const { broker } = world;
    await broker.createTopic('rs-gone');
    await broker.createTopic('rs-stays');
    await deadLetterEach(world, 'rs-gone', 'g-rs-gone', ['g0'], 'rs-count.dlq');
    await deadLetterEach(world, 'rs-stays', 'g-rs-stays', ['s0', 's1'], 'rs-count.dlq');
    await broker.deleteTopic('rs-gone');
    expect(await broker.redrive('rs-count.dlq', { maxRecords: 1 })).toEqual({ moved: 1, skipped: 1 });
    expect(await values(broker, 'rs-stays', 0, 2n)).toEqual(['s0']);
  });

  it('records skipped inside a run that goes back count once, and stay waiting', async () => {
    const world = await engineFixture();
    const { broker } = world;
    await broker.createTopic('rs-inside');
    await deadLetterEach(world, 'rs-inside', 'g-rs-inside', ['a'], 'rs-inside.dlq');
    await broker.produce('rs-inside.dlq', [{ value: 'not a dead letter' }]);
    await deadLetterEach(world, 'rs-inside', 'g-rs-inside', ['b'], 'rs-inside.dlq');
    expect(await broker.redrive('rs-inside.dlq', { maxRecords: 2 })).toEqual({ moved: 2, skipped: 1 });
    expect(await broker.redrive('rs-inside.dlq')).toEqual({ moved: 0, skipped: 1 });
    expect(broker.describeGroup('rs-inside.dlq', REDRIVE_GROUP).lag).toBe(1n);
  });
});

describe('a record its origin refuses for good', () => {
  it('is skipped (MESSAGE_TOO_LARGE there), not a stop for every record after it; a later redrive tries it again', async () => {
    const world = await engineFixture();
    const { broker } = world;
    await broker.createTopic('rs-large');
    await deadLetterEach(world, 'rs-large', 'g-rs-large', ['a', 'b'.repeat(2000), 'c'], 'rs-large.dlq');
    // Made again holding less than the large record: it can never go back to this topic.
    await broker.deleteTopic('rs-large');
    await broker.createTopic('rs-large', { retention: { maxBytes: 1000, discard: 'new' } });
    expect(await broker.redrive('rs-large.dlq')).toEqual({ moved: 2, skipped: 1 });
    expect(await values(broker, 'rs-large')).toEqual(['a', 'c']);
    expect(await broker.redrive('rs-large.dlq')).toEqual({ moved: 0, skipped: 1 });
    await broker.deleteTopic('rs-large');
    await broker.createTopic('rs-large');
    expect(await broker.redrive('rs-large.dlq')).toEqual({ moved: 1, skipped: 0 });
    expect(broker.describeGroup('rs-large.dlq', REDRIVE_GROUP).lag).toBe(0n);
  });
});

describe('the redrive group made after retention passed the records it acks', () => {
  it('made by the first record moved once retention took it (acked below the floor): moves the rest, no lag, nothing again after a restart', async () => {
    // Runs of one record (batchRecordsMax 1): the first goes back, and retention strikes, before the group is made.
    const world = await engineFixture({ fetchBytesMax: 8192, batchRecordsMax: 1 });
    const { broker } = world;
    await broker.createTopic('rl-late');
    await broker.createTopic('rl-late.dlq', { segmentBytesMax: 4096, retention: { maxBytes: 8192 } });
    await deadLetterEach(world, 'rl-late', 'g-rl-late', Array.from({ length: 100 }, (_, i) => `m${i}`.padEnd(200, '.')), 'rl-late.dlq');
    let retaining: Promise<unknown> | undefined;
    broker.on('produced', (e) => void (e.topic === 'rl-late' && (retaining ??= broker.enforceRetention())));
    const { moved } = await broker.redrive('rl-late.dlq');
    await retaining;
    const { startOffset } = broker.describeTopic('rl-late.dlq').partitions[0]!;
    // What was read before retention struck goes back too (docs/semantics.md), then all it kept.
    const back = (await values(broker, 'rl-late', 0, 100n)).map((value) => value.trimEnd().replace(/\.+$/, ''));
    expect([back.length, back[0]]).toEqual([moved, 'm0']);
    expect(back.slice(Number(startOffset) - 100)).toEqual(Array.from({ length: 100 - Number(startOffset) }, (_, i) => `m${Number(startOffset) + i}`));
    // Records deleted before the group existed are counted by no one (docs/semantics.md "Retention of the dead-letter topic").
    expect(broker.describeGroup('rl-late.dlq', REDRIVE_GROUP).partitions[0]).toMatchObject({ ackFloor: 100n, lag: 0n, lostToRetention: 0n });
    const reopened = await world.restart();
    expect(reopened.describeGroup('rl-late.dlq', REDRIVE_GROUP).partitions[0]).toMatchObject({ ackFloor: 100n, lag: 0n });
    expect(await reopened.redrive('rl-late.dlq')).toEqual({ moved: 0, skipped: 0 });
  });
});

describe('a run read in several fetches', () => {
  it('takes each record once, in order, whatever the reads of the dead-letter topic it spans', async () => {
    const world = await engineFixture({ fetchBytesMax: 1024 });
    const { broker } = world;
    await broker.createTopic('rf-reads');
    const sent = Array.from({ length: 20 }, (_, i) => `r${i}`.padEnd(200, '.'));
    await deadLetterEach(world, 'rf-reads', 'g-rf-reads', sent, 'rf-reads.dlq');
    const batches: number[] = [];
    broker.on('produced', (e) => void (e.topic === 'rf-reads' && batches.push(e.records)));
    expect(await broker.redrive('rf-reads.dlq')).toEqual({ moved: 20, skipped: 0 });
    expect(batches).toEqual([20]);
    expect(await values(broker, 'rf-reads', 0, 20n)).toEqual(sent);
  });
});

describe('a run refused for room now', () => {
  it('goes back a record at a time as far as there is room, as the records alone would', async () => {
    const world = await engineFixture();
    const { broker } = world;
    await broker.createTopic('rr-some-room', { retention: { maxBytes: 1000, discard: 'new' } });
    const sent = Array.from({ length: 3 }, (_, i) => `s${i}`.padEnd(150, '.'));
    await deadLetterEach(world, 'rr-some-room', 'g-rr-some-room', sent, 'rr-some-room.dlq');
    await broker.deleteGroup('rr-some-room', 'g-rr-some-room');
    // Made again and part filled: room for one of them alone, not for the three in one batch.
    await broker.deleteTopic('rr-some-room');
    await broker.createTopic('rr-some-room', { retention: { maxBytes: 1000, discard: 'new' } });
    await broker.produce('rr-some-room', [{ value: 'f'.repeat(500) }]);
    const failure = await broker.redrive('rr-some-room.dlq').catch((error: unknown) => error);
    expect(failure).toMatchObject({ code: 'TOPIC_FULL', details: expect.objectContaining({ moved: 1, skipped: 0, deadLetterOffset: 1n }) });
    expect(await values(broker, 'rr-some-room', 0, 1n)).toEqual(sent.slice(0, 1));
    // As the records alone would: the next one does not fit either.
    await expect(broker.produce('rr-some-room', [{ value: sent[1]! }])).rejects.toMatchObject({ code: 'TOPIC_FULL' });
    expect(broker.describeGroup('rr-some-room.dlq', REDRIVE_GROUP).partitions[0]!.ackFloor).toBe(1n);
  });
});
