/**
 * Session subscriptions: DELIVER framing and ids, credit, settle (ranges, nack, extend, reject,
 * stale and unknown ids), unsubscribe, and what a dropped connection gives back.
 */
import { describe, expect, it } from 'vitest';
import { FrameKind } from '@brook/protocol';
import { Broker } from '../broker.js';
import { batchOf, sessionFixture, text, type SessionFixture } from './session-fixture.js';

async function withRecords(count: number, options: Parameters<typeof sessionFixture>[0] = {}): Promise<SessionFixture> {
  const f = await sessionFixture(options);
  await f.hello();
  await f.ok('createTopic', { name: 't' });
  if (count > 0) await f.ok('produce', { topic: 't', partition: 0 }, batchOf(Array.from({ length: count }, (_, i) => `r${i}`)));
  return f;
}

async function subscribe(f: SessionFixture, args: Record<string, unknown> = {}): Promise<number> {
  return (await f.ok('subscribe', { topic: 't', group: 'g', ...args }))['subscription'] as number;
}

/**
 * Two 'partition' members on one session; the first's lease runs out on the delivery (`first`, its
 * id) it was sent, and both partitions go to the other member, which acks the redelivery; then
 * the session forgets `first`.
 */
async function memberThatLostItsLease() {
  const f = await sessionFixture();
  await f.hello();
  await f.ok('createTopic', { name: 'lost', partitions: 2 });
  await f.ok('produce', { topic: 'lost', partition: 0 }, batchOf(['p0']));
  const options = { topic: 'lost', group: 'g-lost', ordering: 'partition', ackTimeoutMs: 1000, backoff: { initialMs: 0, maxMs: 0 } };
  const stuck = (await f.ok('subscribe', options))['subscription'] as number;
  const other = (await f.ok('subscribe', options))['subscription'] as number;
  const owners = async () => ((await f.ok('describeGroup', { topic: 'lost', group: 'g-lost' }))['partitions'] as { owner: string }[]).map((p) => p.owner);
  const [sent] = await f.deliveries(stuck);
  const [stuckId, otherId] = await owners();
  await f.clock.advanceAsync(1000); // its lease runs out: partition 0 goes to the other member
  expect(await owners()).toEqual([otherId, otherId]);
  const redelivered = await f.deliveries(other);
  expect(redelivered.map((d) => [d.offset, d.deliveryCount])).toEqual([[0n, 2]]);
  await f.ok('settle', { subscription: other, ack: [[redelivered[0]!.deliveryId, redelivered[0]!.deliveryId]] });
  await f.clock.advanceAsync(10_000); // past the session's memory of the stale id
  expect(await owners()).toEqual([otherId, otherId]);
  return { f, stuck, first: sent!.deliveryId, owners, stuckId, otherId };
}

describe('DELIVER', () => {
  it('comes after the subscribe RESPONSE, with consecutive ids across subscriptions', async () => {
    const f = await withRecords(3);
    const a = await subscribe(f, { group: 'a' });
    const b = await subscribe(f, { group: 'b' });
    expect([a, b]).toEqual([1, 2]); // numbered 1, 2, ... per connection (docs/protocol.md)
    const kinds = f.peer.frames.slice(-4).map((frame) => [frame.kind, frame.requestId]);
    expect(kinds.findIndex(([kind, id]) => kind === FrameKind.DELIVER && id === a)).toBeGreaterThan(kinds.findIndex(([kind]) => kind === FrameKind.RESPONSE));
    const ids = [...(await f.deliveries(a)), ...(await f.deliveries(b))].map((d) => d.deliveryId);
    expect(ids).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('splits into frames of deliverRecordsMax records', async () => {
    const f = await withRecords(5, { limits: { deliverRecordsMax: 2 } });
    const sub = await subscribe(f);
    const sizes = [(await f.deliveries(sub)).length, (await f.deliveries(sub)).length, (await f.deliveries(sub)).length];
    expect(sizes).toEqual([2, 2, 1]);
  });

  it('never has more than maxInFlight unsettled: settling returns credit', async () => {
    const f = await withRecords(5);
    const sub = await subscribe(f, { maxInFlight: 2 });
    const first = await f.deliveries(sub);
    expect(first.map((d) => text(d.value))).toEqual(['r0', 'r1']);
    await f.clock.advanceAsync(0);
    expect(f.peer.of(FrameKind.DELIVER)).toHaveLength(1);
    await f.ok('settle', { subscription: sub, ack: [[first[0]!.deliveryId, first[1]!.deliveryId]] });
    expect((await f.deliveries(sub)).map((d) => text(d.value))).toEqual(['r2', 'r3']);
  });

  it('a tail reader keeps no acks, but its credit returns only as its deliveries are settled (as in process)', async () => {
    const f = await withRecords(0);
    const sub = await subscribe(f, { group: undefined, maxInFlight: 1 });
    await f.ok('produce', { topic: 't', partition: 0 }, batchOf(['a', 'b']));
    const [first] = await f.deliveries(sub);
    await f.clock.advanceAsync(0);
    expect(f.peer.of(FrameKind.DELIVER)).toHaveLength(1);
    await f.ok('settle', { subscription: sub, nack: [[first!.deliveryId, null]] });
    expect((await f.deliveries(sub)).map((d) => [d.offset, d.deliveryCount])).toEqual([[1n, 1]]);
    expect(await f.ok('listGroups')).toEqual({ groups: [] });
  });

  it("a tail reader's released delivery frees its slot as a settled one does: nothing comes again, the next record comes", async () => {
    const f = await withRecords(0);
    const sub = await subscribe(f, { group: undefined, maxInFlight: 1 });
    await f.ok('produce', { topic: 't', partition: 0 }, batchOf(['a', 'b']));
    const [first] = await f.deliveries(sub);
    expect(await f.ok('settle', { subscription: sub, release: [[first!.deliveryId, first!.deliveryId]] })).toEqual({});
    expect((await f.deliveries(sub)).map((d) => [d.offset, d.deliveryCount])).toEqual([[1n, 1]]);
  });
});

describe('settle', () => {
  it('acks by inclusive ranges, in one RESPONSE once durable; a huge range costs what is outstanding', async () => {
    const f = await withRecords(4);
    const sub = await subscribe(f);
    const ids = (await f.deliveries(sub)).map((d) => d.deliveryId);
    const answer = await f.ok('settle', { subscription: sub, ack: [[ids[0]!, ids[1]!], [ids[3]!, Number.MAX_SAFE_INTEGER]] });
    // The ids of the huge range past the last delivery did nothing: one range, however many.
    expect(answer).toEqual({ stale: [[ids[3]! + 1, Number.MAX_SAFE_INTEGER]] });
    const group = await f.ok('describeGroup', { topic: 't', group: 'g' });
    expect(group['lag']).toBe('1');
    expect((group['partitions'] as { inFlight: { offset: string }[] }[])[0]!.inFlight.map((i) => i.offset)).toEqual(['2']);
  });

  it('answers the acked and rejected ids that did nothing (stale, settled, unknown) as stale ranges', async () => {
    const f = await withRecords(1);
    const sub = await subscribe(f, { ackTimeoutMs: 1000, backoff: { initialMs: 0, maxMs: 0 } });
    const [first] = await f.deliveries(sub);
    await f.clock.advanceAsync(1000); // lease expires: the record comes again under a new id
    const [again] = await f.deliveries(sub);
    expect([again!.deliveryCount, again!.deliveryId > first!.deliveryId]).toEqual([2, true]);
    const late = first!.deliveryId;
    expect(await f.ok('settle', { subscription: sub, ack: [[late, late]], nack: [[12345, null]], reject: [[12346, 'x']] })).toEqual({
      stale: [[late, late], [12346, 12346]],
    });
    // A subscription the session does not have holds nothing: its acks and rejects all did nothing.
    expect(await f.ok('settle', { subscription: 999, ack: [[0, 3]], reject: [[7, 'x']], nack: [[8, null]] })).toEqual({ stale: [[0, 3], [7, 7]] });
    expect(await f.ok('settle', { subscription: 999, nack: [[8, null]], extend: [[9, null]] })).toEqual({});
    expect((await f.ok('describeGroup', { topic: 't', group: 'g' }))['lag']).toBe('1');
    const id = again!.deliveryId;
    // One range over the stale id, the current one and ids never sent: only the current one took effect.
    expect(await f.ok('settle', { subscription: sub, ack: [[late, id + 2]] })).toEqual({ stale: [[late, id - 1], [id + 1, id + 2]] });
    expect(await f.ok('settle', { subscription: sub, ack: [[id, id]] })).toEqual({ stale: [[id, id]] }); // settled before
    expect((await f.ok('describeGroup', { topic: 't', group: 'g' }))['lag']).toBe('0');
  });

  it("'partition': a member that lost a lease gets its share back once it settles, even a stale id the session has forgotten, but not by a release", async () => {
    const { f, stuck, first, owners, stuckId, otherId } = await memberThatLostItsLease();
    // A release is the client library giving back what its consumer never saw (a queue that is
    // not read overflows): no sign that the consumer runs.
    expect(await f.ok('settle', { subscription: stuck, release: [[first, first]] })).toEqual({});
    expect(await owners()).toEqual([otherId, otherId]);
    expect(await f.ok('settle', { subscription: stuck, ack: [[first, first]] })).toEqual({ stale: [[first, first]] });
    expect((await owners()).sort()).toEqual([otherId, stuckId].sort());
  });

  it("'partition': a member that lost a lease gets its share back by a settle of `alive` alone (its consumer can take the next message); `alive` not a boolean is refused", async () => {
    const { f, stuck, owners, stuckId, otherId } = await memberThatLostItsLease();
    const refused = await f.request('settle', { subscription: stuck, alive: 'yes' });
    expect(refused.json).toMatchObject({ code: 'INVALID_REQUEST', details: { field: 'alive' } });
    expect(await f.ok('settle', { subscription: stuck, alive: false })).toEqual({});
    expect(await owners()).toEqual([otherId, otherId]);
    expect(await f.ok('settle', { subscription: stuck, alive: true })).toEqual({});
    expect((await owners()).sort()).toEqual([otherId, stuckId].sort());
  });

  it.each([
    ['an extend', (id: number) => ({ extend: [[id, null]] })],
    ['a nack', (id: number) => ({ nack: [[id, null]] })],
    ['a reject', (id: number) => ({ reject: [[id, 'bad']] })],
  ])("'partition': a member that lost a lease gets its share back by a settle of %s alone, even of an id the session does not hold", async (_kind, settlement) => {
    const { f, stuck, owners, stuckId, otherId } = await memberThatLostItsLease();
    await f.ok('settle', { subscription: stuck, ...settlement(1_000_000) });
    expect((await owners()).sort()).toEqual([otherId, stuckId].sort());
  });

  it('release gives back what the consumer never saw: no attempt (same deliveryCount, not dead-lettered at maxDeliveries 1), a redelivered event \'unsent\'; stale ids do nothing', async () => {
    const f = await withRecords(2);
    const reasons: [bigint, string, number][] = [];
    f.broker.on('redelivered', (e) => reasons.push([e.offset, e.reason, e.nextDeliveryCount]));
    const sub = await subscribe(f, { maxDeliveries: 1 });
    const [a, b] = await f.deliveries(sub);
    expect(await f.ok('settle', { subscription: sub, release: [[a!.deliveryId, b!.deliveryId]] })).toEqual({});
    expect(reasons).toEqual([[0n, 'unsent', 1], [1n, 'unsent', 1]]);
    const again = await f.deliveries(sub);
    expect(again.map((d) => [d.offset, d.deliveryCount])).toEqual([[0n, 1], [1n, 1]]);
    // Released again (stale now) and acked: the acks count, the stale release did nothing.
    expect(await f.ok('settle', { subscription: sub, release: [[a!.deliveryId, b!.deliveryId]], ack: [[again[0]!.deliveryId, again[1]!.deliveryId]] })).toEqual({});
    expect(await f.ok('describeGroup', { topic: 't', group: 'g' })).toMatchObject({ lag: '0', partitions: [{ deadLettered: 0 }] });
    const backwards = await f.request('settle', { subscription: sub, release: [[5, 1]] });
    expect(backwards.json).toMatchObject({ code: 'INVALID_REQUEST', details: { field: 'release' } });
  });

  it('nack redelivers after the delay; extend keeps the lease; reject dead-letters', async () => {
    const f = await withRecords(3);
    const sub = await subscribe(f, { ackTimeoutMs: 1000 });
    const [a, b, c] = await f.deliveries(sub);
    await f.ok('settle', { subscription: sub, nack: [[a!.deliveryId, 500]], extend: [[b!.deliveryId, 5000]], reject: [[c!.deliveryId, 'poison']] });
    await f.clock.advanceAsync(500);
    expect((await f.deliveries(sub)).map((d) => [d.offset, d.deliveryCount])).toEqual([[0n, 2]]);
    await f.clock.advanceAsync(1000);
    expect(f.peer.of(FrameKind.DELIVER)).toHaveLength(2); // b's lease was extended: not redelivered
    expect((await f.ok('fetch', { topic: 't.dlq', partition: 0, offset: '0' }))['count']).toBe(1);
  });

  it("a nack's optional third item is its reason: on the nacked event and in the dead letter's reason; a pair (an old client's) still nacks", async () => {
    const f = await withRecords(2);
    const nacked: [bigint, string | undefined][] = [];
    f.broker.on('nacked', (e) => nacked.push([e.offset, e.reason]));
    const dead: string[] = [];
    f.broker.on('deadLettered', (e) => dead.push(e.reason));
    const sub = await subscribe(f, { maxDeliveries: 1 });
    const [a, b] = await f.deliveries(sub);
    expect(await f.ok('settle', { subscription: sub, nack: [[a!.deliveryId, null, 'TypeError: x is undefined'], [b!.deliveryId, null]] })).toEqual({});
    expect(nacked).toEqual([[0n, 'TypeError: x is undefined'], [1n, undefined]]);
    await f.clock.advanceAsync(0);
    expect(dead.sort()).toEqual(['nack on attempt 1 of maxDeliveries 1', 'nack on attempt 1 of maxDeliveries 1; last failure: TypeError: x is undefined']);
  });

  it.each([
    ['ack not pairs', { ack: [1, 2] }, 'ack[0]'],
    ['ack not a list', { ack: 5 }, 'ack'],
    ['ack pair of one', { ack: [[0]] }, 'ack[0]'],
    ['ack pair a string of two', { ack: ['00'] }, 'ack[0]'],
    ['id not an integer', { ack: [[0.5, 1]] }, 'ack[0][0]'],
    ['subscription not an integer', { subscription: 0.5 }, 'subscription'],
    ['ack range backwards', { ack: [[5, 1]] }, 'ack'],
    ['negative id', { ack: [[-1, 0]] }, 'ack[0][0]'],
    ['nack delay mistyped', { nack: [[0, '5']] }, 'nack[0][1]'],
    ['nack reason not a string', { nack: [[0, null, 42]] }, 'nack[0][2]'],
    ['nack reason null', { nack: [[0, 100, null]] }, 'nack[0][2]'],
    ['nack of four items', { nack: [[0, null, 'r', 'more']] }, 'nack[0]'],
    ['extend with a third item', { extend: [[0, null, 'r']] }, 'extend[0]'],
    ['extend past ackTimeoutMs max', { extend: [[0, 1e12]] }, 'extend[0][1]'],
    ['reject reason missing', { reject: [[0, null]] }, 'reject[0][1]'],
    ['subscription missing', { subscription: undefined }, 'subscription'],
  ])('%s: INVALID_REQUEST naming the field, nothing settled', async (_name, args, field) => {
    const f = await withRecords(1);
    const sub = await subscribe(f);
    const [delivery] = await f.deliveries(sub);
    const frame = await f.request('settle', { subscription: sub, ack: [[delivery!.deliveryId, delivery!.deliveryId]], ...args });
    expect(frame.json).toMatchObject({ code: 'INVALID_REQUEST', details: { field } });
    expect((await f.ok('describeGroup', { topic: 't', group: 'g' }))['lag']).toBe('1');
  });
});

describe('subscriptionsMax', () => {
  it('allows subscriptionsMax subscriptions, refuses one more with details.limit', async () => {
    const f = await withRecords(0, { limits: { subscriptionsMax: 2 } });
    await subscribe(f, { group: 'a' });
    const second = await subscribe(f, { group: 'b' });
    expect((await f.request('subscribe', { topic: 't', group: 'c' })).json).toMatchObject({ code: 'INVALID_REQUEST', details: { limit: 'subscriptionsMax' } });
    await f.ok('unsubscribe', { subscription: second });
    await subscribe(f, { group: 'c' });
  });
});

describe('unsubscribe and disconnect', () => {
  it('graceful unsubscribe answers once what it holds is settled', async () => {
    const f = await withRecords(1);
    const sub = await subscribe(f);
    const [delivery] = await f.deliveries(sub);
    let answered = false;
    const unsubscribed = f.request('unsubscribe', { subscription: sub }).then((frame) => ((answered = true), frame));
    await f.clock.advanceAsync(0);
    expect(answered).toBe(false);
    await f.ok('settle', { subscription: sub, ack: [[delivery!.deliveryId, delivery!.deliveryId]] });
    expect((await unsubscribed).json).toEqual({});
    expect(await f.ok('unsubscribe', { subscription: sub })).toEqual({}); // again: ignored
    // An ack sent after the subscription ended did nothing, and says so.
    expect(await f.ok('settle', { subscription: sub, ack: [[delivery!.deliveryId, delivery!.deliveryId]] })).toEqual({
      stale: [[delivery!.deliveryId, delivery!.deliveryId]],
    });
  });

  it('abort, and a dropped connection, give what was held to another member with deliveryCount + 1', async () => {
    const broker = await Broker.open({ storage: 'memory' });
    const first = await sessionFixture({ broker });
    await first.hello();
    await first.ok('createTopic', { name: 't' });
    await first.ok('produce', { topic: 't', partition: 0 }, batchOf(['a', 'b']));
    const sub = await subscribe(first, { maxInFlight: 1 });
    expect((await first.deliveries(sub)).map((d) => [d.offset, d.deliveryCount])).toEqual([[0n, 1]]);
    const second = await sessionFixture({ broker });
    await second.hello();
    const other = await subscribe(second, { maxInFlight: 1 });
    expect((await second.deliveries(other)).map((d) => [d.offset, d.deliveryCount])).toEqual([[1n, 1]]);
    first.session.disconnected();
    await second.ok('settle', { subscription: other, ack: [[0, 1_000]] });
    expect((await second.deliveries(other)).map((d) => [d.offset, d.deliveryCount])).toEqual([[0n, 2]]);
    const third = await sessionFixture({ broker });
    await third.hello();
    await third.ok('unsubscribe', { subscription: other, abort: true }); // another connection's number: not its own
    await second.ok('unsubscribe', { subscription: other, abort: true });
    const last = await subscribe(third);
    expect((await third.deliveries(last)).map((d) => [d.offset, d.deliveryCount])).toEqual([[0n, 3]]);
    await broker.close();
  });
});

/** Records 'a' and 'b' held by one member on one connection; `nextMember()` joins another on a second connection and reads what it gets. */
async function twoRecordsHeld() {
  const broker = await Broker.open({ storage: 'memory' });
  const first = await sessionFixture({ broker });
  await first.hello();
  await first.ok('createTopic', { name: 't' });
  await first.ok('produce', { topic: 't', partition: 0 }, batchOf(['a', 'b']));
  const sub = await subscribe(first, { maxInFlight: 2 });
  const held = await first.deliveries(sub);
  expect(held.map((d) => [d.offset, d.deliveryCount])).toEqual([[0n, 1], [1n, 1]]);
  const nextMember = async () => {
    const second = await sessionFixture({ broker });
    await second.hello();
    const other = await subscribe(second, { maxInFlight: 2 });
    return (await second.deliveries(other)).map((d) => [d.offset, d.deliveryCount]).sort();
  };
  return { broker, first, sub, ids: held.map((d) => d.deliveryId), nextMember };
}

describe('unsubscribe: what the consumer never saw is no attempt', () => {
  it('an abort naming receivedThrough gives back what was sent after it (on its way) with no attempt; what was received counts', async () => {
    const { broker, first, sub, ids, nextMember } = await twoRecordsHeld();
    await first.ok('unsubscribe', { subscription: sub, abort: true, receivedThrough: ids[0]! });
    expect(await nextMember()).toEqual([[0n, 2], [1n, 1]]);
    await expect(first.ok('unsubscribe', { subscription: 99, abort: true, receivedThrough: -2 })).rejects.toThrow(/INVALID_REQUEST/);
    // The largest id is MAX_SAFE_INTEGER, so having received through it is one past what can be on its way.
    expect(await first.ok('unsubscribe', { subscription: 99, abort: true, receivedThrough: Number.MAX_SAFE_INTEGER - 1 })).toEqual({});
    await expect(first.ok('unsubscribe', { subscription: 99, abort: true, receivedThrough: Number.MAX_SAFE_INTEGER })).rejects.toThrow(/INVALID_REQUEST/);
    await broker.close();
  });

  it('a graceful one gives its released ids back with no attempt as the member leaves: it answers without waiting for them, another member gets them', async () => {
    const { broker, first, sub, ids, nextMember } = await twoRecordsHeld();
    expect(await first.ok('unsubscribe', { subscription: sub, release: [[ids[0]!, ids[1]!]] })).toEqual({});
    expect(await nextMember()).toEqual([[0n, 1], [1n, 1]]);
    await broker.close();
  });
});

describe('graceful unsubscribes and the request window', () => {
  it('do not count toward requestsInFlightMax: the settles they wait for are still read', async () => {
    const f = await withRecords(2, { limits: { requestsInFlightMax: 2 } });
    const subscriptions = [await subscribe(f, { group: 'a' }), await subscribe(f, { group: 'b' })];
    const held = [await f.deliveries(subscriptions[0]!), await f.deliveries(subscriptions[1]!)];
    const leaving = subscriptions.map((subscription) => f.request('unsubscribe', { subscription }));
    await f.clock.advanceAsync(0);
    expect(f.peer.paused).toBe(false);
    for (const [i, subscription] of subscriptions.entries()) {
      const ids = held[i]!.map((d) => d.deliveryId);
      await f.ok('settle', { subscription, ack: [[ids[0]!, ids.at(-1)!]] });
    }
    expect((await Promise.all(leaving)).map((frame) => frame.kind)).toEqual([FrameKind.RESPONSE, FrameKind.RESPONSE]);
  });

  it('a graceful unsubscribe repeated while the first waits is refused at once (INVALID_REQUEST), so repeats cannot pile up; the first still answers once settled', async () => {
    const f = await withRecords(1);
    const subscription = await subscribe(f);
    const [delivery] = await f.deliveries(subscription);
    let answered = false;
    const leaving = f.request('unsubscribe', { subscription }).then((frame) => ((answered = true), frame));
    const repeat = await f.request('unsubscribe', { subscription });
    expect([repeat.kind, repeat.json['code'], repeat.json['details']]).toEqual([FrameKind.ERROR, 'INVALID_REQUEST', { field: 'subscription' }]);
    expect(answered).toBe(false);
    await f.ok('settle', { subscription, ack: [[delivery!.deliveryId, delivery!.deliveryId]] });
    expect((await leaving).json).toEqual({});
  });
});
