/**
 * Dead-lettering when the copy fails or a crash cuts it short (docs/semantics.md,
 * "dead-lettered"): the copy is written before the record's ack is journaled, so a crash between
 * the two is survived at-least-once, never by losing the record; a copy that fails is tried
 * again, and describeGroup says why meanwhile. On the virtual clock.
 */
import { describe, expect, it } from 'vitest';
import type { Delivery } from './delivery.js';
import { engineFixture, parking } from './group-fixture.js';

/** Dead-letters one record of `topic` with `handler`, cutting the power once the copy is made, before the ack is journaled. */
async function crashAfterCopy(topic: string, maxDeliveries: number | undefined, handler: (d: Delivery) => Promise<void>) {
  const world = await engineFixture({ fsync: 'always' });
  await world.broker.createTopic(topic);
  await world.broker.produce(topic, [{ value: 'poison' }]);
  let copied = false;
  world.broker.on('deadLettered', () => void (copied = true));
  world.fs.onOperation = (op) => {
    if (!copied || !op.path.includes(`/groups/${topic}/`)) return;
    world.fs.onOperation = undefined;
    world.fs.powerCut();
  };
  await world.broker.subscribe({ topic, group: 'g', maxDeliveries }, handler);
  await world.settle(() => copied);
  const broker = await world.restart({ powerCut: false });
  const deliveries: number[] = [];
  await broker.subscribe({ topic, group: 'g', maxDeliveries }, (d) => void deliveries.push(d.deliveryCount));
  await world.settle(() => broker.describeGroup(topic, 'g').lag === 0n);
  const copies = await broker.fetch({ topic: `${topic}.dlq`, partition: 0, offset: 0n });
  return { copies: copies.length, deliveries };
}

/** A topic whose default dead-letter topic is full (discard 'new', no room for a copy), holding `values`. */
async function fullDeadLetterTopic(topic: string, values: string[]) {
  const world = await engineFixture();
  await world.broker.createTopic(topic);
  await world.broker.createTopic(`${topic}.dlq`, { retention: { maxBytes: 300, discard: 'new' } });
  await world.broker.produce(`${topic}.dlq`, [{ value: 'x'.repeat(200) }]);
  await world.broker.produce(topic, values.map((value) => ({ value })));
  return world;
}

describe('a crash between the dead-letter copy and the ack', () => {
  it('with its attempts spent, the record is copied again after the restart: two copies, no delivery', async () => {
    expect(await crashAfterCopy('crash-spent', 1, (d) => d.reject('bad'))).toEqual({ copies: 2, deliveries: [] });
  });

  it('after a reject() with attempts left, the record is delivered again: its copy stays', async () => {
    expect(await crashAfterCopy('crash-rejected', undefined, (d) => d.reject('bad'))).toEqual({ copies: 1, deliveries: [2] });
  });
});

describe('a dead-letter copy that fails', () => {
  it("under fsync 'never', whose fsync fails is not acked: the record stays owed, and describeGroup says why", async () => {
    const world = await engineFixture({ fsync: 'never' });
    await world.broker.createTopic('never-fail');
    await world.broker.createTopic('never-fail.dlq');
    await world.broker.produce('never-fail', [{ value: 'poison' }]);
    world.fs.failNext('sync', { path: /\/never-fail\.dlq\/.*\.log$/, errno: 'EIO' });
    await world.broker.subscribe({ topic: 'never-fail', group: 'g', maxDeliveries: 1, backoff: { maxMs: 1000 } }, (d) => d.reject('bad'));
    await world.settle();
    expect(world.broker.describeGroup('never-fail', 'g')).toMatchObject({ lag: 1n, lastError: expect.stringMatching(/^BrookError: IO_ERROR: .*never-fail\.dlq/) });
  });

  it("is tried again every backoff.maxMs, and describeGroup's lastError says why meanwhile (a full dead-letter topic); reject() has resolved", async () => {
    const { broker, settle, advance } = await fullDeadLetterTopic('full-src', ['poison']);
    const { held, handler } = parking();
    await broker.subscribe({ topic: 'full-src', group: 'g-full', backoff: { maxMs: 1000 } }, handler);
    await settle(() => held.length === 1);
    const rejecting = held[0]!.reject('bad');
    await settle();
    await advance(3000);
    expect(broker.describeGroup('full-src', 'g-full')).toMatchObject({ lag: 1n, lastError: expect.stringMatching(/^BrookError: .*full-src\.dlq/) });
    // reject() resolved with no copy made yet: the record is given up on (never delivered again),
    // and the copy is the broker's to finish, as for a record whose attempts ran out.
    await expect(rejecting).resolves.toBeUndefined();
    expect(held).toHaveLength(1);
    // Room again: the dead-letter topic goes, and the next try creates it anew.
    await broker.deleteTopic('full-src.dlq');
    await advance(1000);
    await settle(() => broker.describeGroup('full-src', 'g-full').lag === 0n);
    expect(broker.describeGroup('full-src', 'g-full').lastError).toBeUndefined();
    expect((await broker.fetch({ topic: 'full-src.dlq', partition: 0, offset: 0n })).map((r) => new TextDecoder().decode(r.value!))).toEqual(['poison']);
  });

  it("once the copy is made, its earlier failure is not shown for a record that waits out a redelivery's backoff", async () => {
    const { broker, settle, advance } = await fullDeadLetterTopic('past-problem-src', ['poison', 'retry']);
    const { held, handler } = parking();
    await broker.subscribe({ topic: 'past-problem-src', group: 'g-past', backoff: { maxMs: 1000 } }, handler);
    await settle(() => held.length === 2);
    void held[0]!.reject('bad');
    await settle(() => broker.describeGroup('past-problem-src', 'g-past').lastError !== undefined);
    await broker.deleteTopic('past-problem-src.dlq');
    await advance(1000);
    await settle(() => broker.describeGroup('past-problem-src', 'g-past').partitions[0]!.deadLettered === 1);
    await held[1]!.nack({ delayMs: 60_000 });
    await settle();
    expect(broker.describeGroup('past-problem-src', 'g-past')).toMatchObject({ lag: 1n, lastError: undefined });
  });

  it('waiting to be tried again at a reset, the copy is not made: the reset ends the wait like a backoff, and the record is replayed', async () => {
    const { broker, settle, advance } = await fullDeadLetterTopic('reset-src', ['poison']);
    const { held, handler } = parking();
    await broker.subscribe({ topic: 'reset-src', group: 'g-reset', backoff: { maxMs: 1000 } }, handler);
    await settle(() => held.length === 1);
    void held[0]!.reject('bad');
    await settle();
    expect(broker.describeGroup('reset-src', 'g-reset').lastError).toBeDefined();
    await broker.resetGroup('reset-src', 'g-reset', 'earliest');
    await settle(() => held.length === 2);
    expect(held[1]!.deliveryCount).toBe(1);
    await broker.deleteTopic('reset-src.dlq'); // room: a copy still waiting would be made now
    await advance(5000);
    expect(broker.listTopics()).not.toContain('reset-src.dlq');
    expect(broker.describeGroup('reset-src', 'g-reset')).toMatchObject({ lastError: undefined, partitions: [{ deadLettered: 0 }] });
  });

  it('waiting to be tried again at a reconfigure, over a thousand offsets above the ackFloor: the records below it are read again and delivered', async () => {
    // The window keeps the record being copied and reads the rest again from the ackFloor: seqs
    // below the kept record's, in storage chunks before its own.
    const values = Array.from({ length: 1100 }, (_, i) => `m${i}`);
    const { broker, settle } = await fullDeadLetterTopic('far-conf', values);
    const options = { topic: 'far-conf', group: 'g-far-conf', maxInFlight: 2000, backoff: { maxMs: 1000 } } as const;
    const first = parking();
    const crashing = await broker.subscribe(options, first.handler);
    await settle(() => first.held.length === values.length);
    for (const delivery of first.held.slice(1)) await (delivery.offset === 1050n ? delivery.reject('bad') : delivery.ack());
    crashing.abort(); // m0 is owed again
    const next = parking();
    await broker.subscribe({ ...options, ackTimeoutMs: 60_000 }, next.handler); // other settings: a reconfigure
    await settle();
    expect(next.held.map((d) => `${d.text()}#${d.deliveryCount}`)).toEqual(['m0#2']);
  });
});

describe("'partition' ordering: a record whose copy waits (a full dead-letter topic) is out of the way", () => {
  it('taken back on its last attempt (its member crashed), it does not hold up the partition for the next member', async () => {
    const { broker, settle } = await fullDeadLetterTopic('pwait-left', ['r0', 'r1', 'r2']);
    const options = { topic: 'pwait-left', group: 'g-pwait-left', ordering: 'partition', maxInFlight: 1, maxDeliveries: 1, backoff: { maxMs: 1000 } } as const;
    const first = parking();
    const crashing = await broker.subscribe(options, first.handler);
    await settle(() => first.held.length === 1);
    crashing.abort();
    const next = parking();
    await broker.subscribe(options, next.handler);
    await settle();
    expect(broker.describeGroup('pwait-left', 'g-pwait-left').lastError).toMatch(/TOPIC_FULL/);
    expect(next.held.map((d) => d.offset)).toEqual([1n]);
  });

  it('the group reconfigured meanwhile (read again from its ackFloor, which it is at), the records after it go out', async () => {
    const { broker, settle } = await fullDeadLetterTopic('pwait-conf', ['r0', 'r1']);
    const options = { topic: 'pwait-conf', group: 'g-pwait-conf', ordering: 'partition', maxInFlight: 1, backoff: { maxMs: 1000 } } as const;
    const first = parking();
    const rejecting = await broker.subscribe(options, first.handler);
    await settle(() => first.held.length === 1);
    await first.held[0]!.reject('bad');
    rejecting.abort();
    const next = parking();
    await broker.subscribe({ ...options, ackTimeoutMs: 60_000 }, next.handler); // other settings: a reconfigure
    await settle();
    expect(next.held.map((d) => d.offset)).toEqual([1n]);
  });

  it('a go-back from an earlier record passes it, and the records after it come again', async () => {
    const { broker, settle, advance } = await fullDeadLetterTopic('pwait-back', ['r0', 'r1', 'r2', 'r3']);
    const { held, handler } = parking();
    await broker.subscribe({ topic: 'pwait-back', group: 'g-pwait-back', ordering: 'partition', maxInFlight: 3, backoff: { initialMs: 10, maxMs: 1000 } }, handler);
    await settle(() => held.length === 3);
    void held[1]!.reject('bad');
    await settle(() => held.length === 4);
    held[0]!.nack(); // goes back to r0: r2 and r3 are taken back, r1 is given up on
    await advance(50);
    await settle();
    expect(held.map((d) => `${d.offset}#${d.deliveryCount}`)).toEqual(['0#1', '1#1', '2#1', '3#1', '0#2', '2#2', '3#2']);
  });
});

describe('a dead-letter topic made by its first copy', () => {
  it('being created by createTopic as the copy is made: the copy waits for that create and goes in, no TOPIC_EXISTS', async () => {
    const { broker, settle } = await engineFixture();
    await broker.createTopic('made-src');
    await broker.produce('made-src', [{ value: 'a' }]);
    let creating: Promise<void> | undefined;
    await broker.subscribe({ topic: 'made-src', group: 'g-made', backoff: { maxMs: 60_000 } }, (d) => {
      creating = broker.createTopic('made-src.dlq', { partitions: 2 });
      return d.reject('bad');
    });
    await settle(() => broker.describeGroup('made-src', 'g-made').lag === 0n);
    await creating;
    expect(broker.describeGroup('made-src', 'g-made')).toMatchObject({ lastError: undefined, partitions: [{ deadLettered: 1 }] });
    expect(broker.describeTopic('made-src.dlq').partitions).toHaveLength(2);
  });
});

describe('dead-letter copies made together', () => {
  it('records given up on together are copied in a few batches, each in order and at the offset its deadLettered event names', async () => {
    const { broker, settle } = await engineFixture();
    await broker.createTopic('many-src');
    const values = Array.from({ length: 40 }, (_, i) => `m${i}`);
    await broker.produce('many-src', values.map((value) => ({ value })));
    const batches: number[] = [];
    const copiedAt = new Map<bigint, bigint>();
    broker.on('produced', (e) => void (e.topic === 'many-src.dlq' && batches.push(e.records)));
    broker.on('deadLettered', (e) => void copiedAt.set(e.offset, e.deadLetterOffset));
    await broker.subscribe({ topic: 'many-src', group: 'g-many', maxInFlight: 40 }, (d) => d.reject('bad'));
    await settle(() => broker.describeGroup('many-src', 'g-many').lag === 0n);
    // One copy a batch (and a flush each) before: 40 batches.
    expect(batches.length).toBeLessThanOrEqual(3);
    expect(batches.reduce((a, b) => a + b, 0)).toBe(40);
    const copies = await broker.fetch({ topic: 'many-src.dlq', partition: 0, offset: 0n });
    expect(copies.map((r) => new TextDecoder().decode(r.value!))).toEqual(values);
    expect(values.map((_, i) => copiedAt.get(BigInt(i)))).toEqual(copies.map((r) => r.offset));
    expect(broker.describeGroup('many-src', 'g-many').partitions[0]!.deadLettered).toBe(40);
  });

  it("copies more than the broker's batchBytesMax together go in writes within it, several copies a write", async () => {
    const { broker, settle } = await engineFixture({ batchBytesMax: 8192 });
    await broker.createTopic('wide-src');
    const values = Array.from({ length: 12 }, (_, i) => `m${i}`.padEnd(1000, '.'));
    for (const value of values) await broker.produce('wide-src', [{ value }]);
    const batches: number[] = [];
    broker.on('produced', (e) => void (e.topic === 'wide-src.dlq' && batches.push(e.records)));
    await broker.subscribe({ topic: 'wide-src', group: 'g-wide', maxInFlight: 12 }, (d) => d.reject('bad'));
    await settle(() => broker.describeGroup('wide-src', 'g-wide').lag === 0n);
    expect(batches.reduce((a, b) => a + b, 0)).toBe(12);
    // Not a write refused whole (MESSAGE_TOO_LARGE) and then a copy at a time.
    expect(batches.length).toBeLessThanOrEqual(4);
    const copies = await broker.fetch({ topic: 'wide-src.dlq', partition: 0, offset: 0n });
    expect(copies.map((r) => new TextDecoder().decode(r.value!))).toEqual(values);
  });
});

describe("dead-letter copies made together, to a dead-letter topic with discard 'new'", () => {
  it('copies that each fit maxBytes are never written together past it (MESSAGE_TOO_LARGE, for ever): all are copied, once each', async () => {
    const { broker, settle, advance } = await engineFixture();
    const copiedAt = new Map<bigint, bigint>();
    broker.on('deadLettered', (e) => void copiedAt.set(e.offset, e.deadLetterOffset));
    await broker.createTopic('small-dlq-src');
    // A copy is ~450 B: one fits, ten in one batch do not.
    await broker.createTopic('small-dlq-src.dlq', { retention: { maxBytes: 2048, discard: 'new' } });
    // A reader of the dead-letter topic, so the room its copies take is freed again.
    await broker.subscribe({ topic: 'small-dlq-src.dlq', group: 'g-small-drain' }, () => undefined);
    const values = Array.from({ length: 10 }, (_, i) => `m${i}`.padEnd(300, '.'));
    await broker.produce('small-dlq-src', values.map((value) => ({ value })));
    await broker.subscribe({ topic: 'small-dlq-src', group: 'g-small', maxInFlight: 10, backoff: { maxMs: 1000 } }, (d) => d.reject('bad'));
    for (let i = 0; i < 30 && broker.describeGroup('small-dlq-src', 'g-small').lag > 0n; i++) await advance(1000);
    await settle(() => broker.describeGroup('small-dlq-src', 'g-small').lag === 0n);
    expect(broker.describeGroup('small-dlq-src', 'g-small').lastError).toBeUndefined();
    // Each copied once. (Not all in order: a copy waiting for its retry may be overtaken by later
    // ones that found room first, as semantics.md allows; the reader freed the first ones' room.)
    expect(copiedAt.size).toBe(10);
    expect([...copiedAt.values()].sort((a, b) => (a < b ? -1 : 1))).toEqual(values.map((_, i) => BigInt(i)));
    expect(broker.describeTopic('small-dlq-src.dlq').partitions[0]!.endOffset).toBe(10n);
  });

  it('copies of which only some fit the room left go in as far as there is room, a copy at a time, in order', async () => {
    const { broker, settle, advance } = await engineFixture();
    await broker.createTopic('partial-dlq-src');
    // A copy is ~450 B. The dead-letter topic has room for one more, not for three in one batch,
    // and no group reading it to free more.
    await broker.createTopic('partial-dlq-src.dlq', { retention: { maxBytes: 2048, discard: 'new' } });
    await broker.produce('partial-dlq-src.dlq', [{ value: 'x'.repeat(1400) }]);
    const values = ['a', 'b', 'c'].map((value) => value.padEnd(300, '.'));
    await broker.produce('partial-dlq-src', values.map((value) => ({ value })));
    await broker.subscribe({ topic: 'partial-dlq-src', group: 'g-partial', maxInFlight: 3, backoff: { maxMs: 1000 } }, (d) => d.reject('bad'));
    await settle();
    for (let i = 0; i < 3; i++) await advance(1000);
    const copies = await broker.fetch({ topic: 'partial-dlq-src.dlq', partition: 0, offset: 1n });
    expect(copies.map((r) => new TextDecoder().decode(r.value!))).toEqual(values.slice(0, 1));
    expect(broker.describeGroup('partial-dlq-src', 'g-partial')).toMatchObject({ lag: 2n, partitions: [{ deadLettered: 1 }], lastError: expect.stringMatching(/TOPIC_FULL|does not fit/) });
  });
  it("a copy there is no room for holds up the later copies of its origin partition only: another origin partition's that fit go in", async () => {
    const { broker, settle, advance } = await engineFixture();
    await broker.createTopic('hol-src', { partitions: 2 });
    // Room left for the small copies (~250 B each), not for the large one (~1150 B), and no group
    // reading the dead-letter topic to free more: the large copy waits until one does.
    await broker.createTopic('hol-src.dlq', { retention: { maxBytes: 2048, discard: 'new' } });
    await broker.produce('hol-src.dlq', [{ value: 'x'.repeat(1200) }]);
    await broker.produce('hol-src', [
      { value: 'L'.repeat(900), partition: 0 }, { value: 'p0-after', partition: 0 }, { value: 'p1-a', partition: 1 }, { value: 'p1-b', partition: 1 },
    ]);
    // Origin partition/offset of each copy, in dead-letter order (the reader below frees the first ones' room).
    const copied: string[] = [];
    broker.on('deadLettered', (e) => void (copied[Number(e.deadLetterOffset) - 1] = `${e.partition}/${e.offset}`));
    await broker.subscribe({ topic: 'hol-src', group: 'g-hol', maxInFlight: 10, backoff: { maxMs: 1000 } }, (d) => d.reject('bad'));
    await settle();
    for (let i = 0; i < 3; i++) await advance(1000);
    expect(copied).toEqual(['1/0', '1/1']);
    // The large copy's origin partition keeps its order: the copy after it waits with it.
    expect(broker.describeGroup('hol-src', 'g-hol')).toMatchObject({ partitions: [{ ackFloor: 0n }, { ackFloor: 2n }], lastError: expect.stringMatching(/TOPIC_FULL/) });
    // A reader frees the room: the waiting copies go in, in order.
    await broker.subscribe({ topic: 'hol-src.dlq', group: 'g-hol-drain', from: 'earliest' }, () => undefined);
    await settle();
    for (let i = 0; i < 3 && broker.describeGroup('hol-src', 'g-hol').lag > 0n; i++) await advance(1000);
    expect(copied).toEqual(['1/0', '1/1', '0/0', '0/1']);
    expect(broker.describeGroup('hol-src', 'g-hol')).toMatchObject({ lag: 0n, lastError: undefined });
  });
  it('a copy larger than maxBytes (MESSAGE_TOO_LARGE, for good) holds nothing up; its record stays owed, tried every backoff.maxMs, until the topic can take it', async () => {
    const { broker, settle, advance } = await engineFixture();
    await broker.createTopic('huge-src', { partitions: 2 });
    await broker.createTopic('huge-src.dlq', { retention: { maxBytes: 2048, discard: 'new' } });
    await broker.subscribe({ topic: 'huge-src.dlq', group: 'g-huge-drain' }, () => undefined);
    await broker.produce('huge-src', [{ value: 'H'.repeat(3000), partition: 0 }, { value: 'p0-after', partition: 0 }, { value: 'p1', partition: 1 }]);
    const copied: string[] = [];
    broker.on('deadLettered', (e) => void copied.push(`${e.partition}/${e.offset}`));
    await broker.subscribe({ topic: 'huge-src', group: 'g-huge', ordering: 'partition', maxInFlight: 10, backoff: { maxMs: 1000 } }, (d) => d.reject('bad'));
    await settle();
    for (let i = 0; i < 3; i++) await advance(1000);
    // The records after it, of its origin partition too, are copied; it is not delivered again.
    expect(copied.sort()).toEqual(['0/1', '1/0']);
    expect(broker.describeGroup('huge-src', 'g-huge')).toMatchObject({ lag: 1n, partitions: [{ ackFloor: 0n, inFlight: [] }, { ackFloor: 1n }], lastError: expect.stringMatching(/MESSAGE_TOO_LARGE/) });
    // A dead-letter topic that can take it (made anew, with default settings): its next try copies it.
    await broker.deleteTopic('huge-src.dlq');
    await advance(1000);
    await settle(() => broker.describeGroup('huge-src', 'g-huge').lag === 0n);
    expect(copied).toContain('0/0');
    expect(broker.describeGroup('huge-src', 'g-huge').lastError).toBeUndefined();
  });
});

describe('dead-letter copies made together, to several dead-letter partitions', () => {
  it('a full dead-letter partition holds up only the copies bound for it, not those of another partition written with them', async () => {
    const { broker, settle, advance } = await engineFixture();
    await broker.createTopic('split-src', { partitions: 2 });
    await broker.createTopic('split-src.dlq', { partitions: 2, retention: { maxBytes: 1024, discard: 'new' } });
    // Dead-letter partition 1 full, and no group reading it to free room: its copies wait.
    await broker.produce('split-src.dlq', [{ value: 'x'.repeat(900), partition: 1 }]);
    await broker.produce('split-src', [0, 1, 2].flatMap((i) => [{ value: `p1-${i}`, partition: 1 }, { value: `p0-${i}`, partition: 0 }]));
    await broker.subscribe({ topic: 'split-src', group: 'g-split', maxInFlight: 10, backoff: { maxMs: 1000 } }, (d) => d.reject('bad'));
    await settle();
    for (let i = 0; i < 5; i++) await advance(1000);
    const copies = await broker.fetch({ topic: 'split-src.dlq', partition: 0, offset: 0n });
    expect(copies.map((r) => new TextDecoder().decode(r.value!))).toEqual(['p0-0', 'p0-1', 'p0-2']);
    expect(broker.describeGroup('split-src', 'g-split').partitions.map((p) => p.ackFloor)).toEqual([3n, 0n]);
  });
});
