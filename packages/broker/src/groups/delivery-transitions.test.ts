/**
 * The delivery property test's record model (delivery-transitions.ts) catches what it claims to:
 * each check, fed the events of an engine that breaks it, reports a violation, and the same
 * events in an allowed order report none. Without these, a check weakened by mistake would let
 * the property pass whatever the engine does (mutation testing found every check unpinned).
 */
import { describe, expect, it } from 'vitest';
import type { BrokerEvents } from '../events.js';
import { SETTINGS, TOPIC } from './delivery-commands.js';
import { at, type MemberModel, type RecordModel } from './delivery-invariants.js';
import { RecordTransitions } from './delivery-transitions.js';
import type { Ordering } from './subscribe-options.js';

type EventOf<E extends keyof BrokerEvents> = Parameters<BrokerEvents[E]>[0];

/** A model of records 0..records-1 of partition 0 (key 'k' unless given), maxDeliveries 2, at time 0. */
function world(ordering: Ordering, records = 3, keys: (string | null)[] = []) {
  const map = new Map<string, RecordModel>();
  for (let i = 0; i < records; i++) {
    map.set(at(0, BigInt(i)), {
      partition: 0, offset: BigInt(i), key: keys[i] === undefined ? 'k' : keys[i]!, value: `v${i}`, timestamp: 0, state: 'pending', count: 0,
      attemptOwed: false, member: undefined, leaseDueMs: 0, notBeforeMs: 0, askedDelayMs: undefined, rejected: false, epoch: 0,
      orphanCopies: 0, mayBeCopying: false, deadLetterCounts: [],
    });
  }
  const violations: string[] = [];
  const members = new Map<string, MemberModel>();
  const clock = { now: 0 };
  const t = new RecordTransitions(map, violations, ordering, () => clock.now, (id) => members.get(id), () => ({ ...SETTINGS, maxDeliveries: 2 }));
  const rec = (offset: number) => map.get(at(0, BigInt(offset)))!;
  const deliver = (offset: number, member = 'm1', count = rec(offset).count + 1) =>
    t.delivered(0, BigInt(offset), member, count, count > 1, rec(offset).key === null ? null : new TextEncoder().encode(rec(offset).key!));
  const ref = (offset: number, member = 'm1', deliveryCount = rec(offset).count) =>
    ({ topic: TOPIC, group: 'g', partition: 0, offset: BigInt(offset), member, deliveryCount });
  const redelivered = (offset: number, reason: EventOf<'redelivered'>['reason'], fields: Partial<EventOf<'redelivered'>> = {}) =>
    t.redelivered({ topic: TOPIC, group: 'g', partition: 0, offset: BigInt(offset), reason, nextDeliveryCount: rec(offset).count + 1, delayMs: 0, ...fields });
  const deadLettered = (offset: number, fields: Partial<EventOf<'deadLettered'>> = {}) =>
    t.deadLettered({
      topic: TOPIC, group: 'g', partition: 0, offset: BigInt(offset), deliveryCount: rec(offset).count,
      reason: `nack on attempt ${rec(offset).count} of maxDeliveries 2`, deadLetterTopic: `${TOPIC}.dlq`, deadLetterOffset: 0n, ...fields,
    });
  const member = (id: string, fields: Partial<MemberModel>) => members.set(id, { label: id, style: 'handler', maxInFlight: 1, sub: undefined, loop: undefined, id, closing: false, leaving: false, gone: false, ...fields });
  return { t, violations, clock, rec, deliver, ref, redelivered, deadLettered, member };
}

type World = ReturnType<typeof world>;

describe('the record model of the delivery property test reports', () => {
  it.each<[string, Ordering, (w: World) => void, RegExp]>([
    ["'key': a record delivered while another of its key is in flight", 'key', (w) => {
      w.deliver(0);
      w.deliver(1, 'm2');
    }, /0:0 of key k is inflight/],
    ["'key': a record delivered while another of its key is being dead-lettered", 'key', (w) => {
      w.deliver(0);
      w.deliver(0, 'm1', 2); // (a violation of its own: delivered while in flight)
      w.t.failed('nacked', 0, 0n, 'm1', 2);
      w.deliver(1);
    }, /0:0 of key k is dying/],
    ["'key': a record delivered while an earlier one of its key waits", 'key', (w) => w.deliver(1), /earlier 0:0 of key k is not acked/],
    ["'key': acks of a key going down", 'key', (w) => {
      w.rec(0).state = 'acked';
      w.deliver(1);
      w.t.acked(w.ref(1));
      w.rec(0).state = 'inflight';
      w.rec(0).member = 'm1';
      w.rec(0).count = 1;
      w.t.acked(w.ref(0));
    }, /key k: 0:0 acked after offset 1/],
    ["'partition': a record delivered while an earlier one is in flight to another member", 'partition', (w) => {
      w.deliver(0);
      w.deliver(1, 'm2');
    }, /0:0 is in flight to m1/],
    ["'partition': a record delivered while a later one is in flight", 'partition', (w) => {
      w.rec(0).count = 1;
      w.deliver(1);
      w.deliver(0);
    }, /later 0:1 is still in flight/],
    ["'partition': a record delivered while an earlier one waits", 'partition', (w) => w.deliver(1), /earlier 0:0 is pending/],
    ["'partition': a record delivered while an earlier one with no attempt left but owed one waits", 'partition', (w) => {
      Object.assign(w.rec(0), { count: 2, attemptOwed: true });
      w.deliver(1);
    }, /earlier 0:0 is pending/],
    ['a record delivered while in flight', 'none', (w) => {
      w.deliver(0);
      w.deliver(0, 'm1', 2);
    }, /0:0#2 to m1: the record is inflight/],
    ['a deliveryCount that skips one', 'none', (w) => w.deliver(0, 'm1', 2), /deliveryCount after 0 deliveries/],
    ['a delivery past maxDeliveries that is not owed', 'none', (w) => {
      w.rec(0).count = 2;
      w.deliver(0);
    }, /more than maxDeliveries 2/],
    ['a first delivery marked redelivered', 'none', (w) => w.t.delivered(0, 0n, 'm1', 1, true, new TextEncoder().encode('k')), /redelivered is true/],
    ['a delivery with another key', 'none', (w) => w.t.delivered(0, 0n, 'm1', 1, false, null), /key differs/],
    ['a redelivery before its backoff ends', 'none', (w) => {
      w.rec(0).notBeforeMs = 100;
      w.clock.now = 99;
      w.deliver(0);
    }, /before its backoff ends at 100 \(now 99\)/],
    ['a redelivery before the backoff its redelivered event announced', 'none', (w) => {
      w.deliver(0);
      w.t.failed('nacked', 0, 0n, 'm1', 1);
      w.clock.now = 10;
      w.redelivered(0, 'nack', { delayMs: 100 });
      w.clock.now = 50;
      w.deliver(0);
    }, /before its backoff ends at 110 \(now 50\)/],
    ['a delivery to a member that is gone', 'none', (w) => {
      w.member('m1', { gone: true });
      w.deliver(0);
    }, /the member is gone/],
    ['a delivery to a member that is closing', 'none', (w) => {
      w.member('m1', { closing: true });
      w.deliver(0);
    }, /the member is closing/],
    ['a delivery of a record never produced', 'none', (w) => w.t.delivered(0, 9n, 'm1', 1, false, null), /delivered unknown 0:9/],
    ['an ack by another member', 'none', (w) => {
      w.deliver(0);
      w.t.acked(w.ref(0, 'm2'));
    }, /acked 0:0@m2#1, but it is inflight@m1#1/],
    ['an ack of another delivery', 'none', (w) => {
      w.deliver(0);
      w.t.acked(w.ref(0, 'm1', 2));
    }, /acked 0:0@m1#2, but it is inflight@m1#1/],
    ['an ack of a record not in flight', 'none', (w) => w.t.acked(w.ref(0, 'm1', 0)), /acked 0:0@m1#0, but it is pending@undefined#0/],
    ['a lease that expires early', 'none', (w) => {
      w.deliver(0);
      w.clock.now = 999;
      w.t.leaseExpired(w.ref(0));
    }, /lease expired at 999, due 1000/],
    ['a nack redelivered while it is in flight', 'none', (w) => {
      w.deliver(0);
      w.redelivered(0, 'nack');
    }, /0:0 redelivered \(nack\) while inflight/],
    ['a nack({ delayMs }) with another backoff', 'none', (w) => {
      w.deliver(0);
      w.rec(0).askedDelayMs = 50;
      w.t.failed('nacked', 0, 0n, 'm1', 1);
      w.redelivered(0, 'nack', { delayMs: 60 });
    }, /nack\(\{ delayMs: 50 \}\) got a backoff of 60/],
    ['a take-back of a record not in flight', 'partition', (w) => w.redelivered(0, 'goBack'), /0:0 taken back \(goBack\) while pending/],
    ['a member leaving on its last attempt, the record redelivered', 'none', (w) => {
      w.rec(0).count = 1;
      w.deliver(0);
      w.redelivered(0, 'memberLeft');
    }, /its member left on its last attempt #2, not dead-lettered/],
    ['a nextDeliveryCount that skips one', 'none', (w) => {
      w.deliver(0);
      w.t.failed('nacked', 0, 0n, 'm1', 1);
      w.redelivered(0, 'nack', { nextDeliveryCount: 3 });
    }, /nextDeliveryCount 3 after 1 deliveries/],
    ['a delivery given back unsent that was not in flight', 'none', (w) => w.redelivered(0, 'unsent'), /given back unsent while pending/],
    ['a rebalance moving a partition from the member holding a record of it', 'partition', (w) => {
      w.deliver(0);
      w.t.rebalanced({ topic: TOPIC, group: 'g', assignment: { m2: [0] }, reason: 'memberJoined', member: 'm2' });
    }, /rebalance moved partition 0 away from m1, which still holds 0:0/],
    ['a record with attempts left dead-lettered', 'none', (w) => {
      w.deliver(0);
      w.t.failed('nacked', 0, 0n, 'm1', 1);
      w.deadLettered(0);
    }, /0:0 dead-lettered while pending/],
    ['a dead-letter copy with another deliveryCount', 'none', (w) => {
      w.rec(0).count = 1;
      w.deliver(0);
      w.t.failed('nacked', 0, 0n, 'm1', 2);
      w.deadLettered(0, { deliveryCount: 1 });
    }, /dead-lettered with deliveryCount 1 after 2 deliveries/],
    ['a dead-letter copy naming another reason', 'none', (w) => {
      w.rec(0).count = 1;
      w.deliver(0);
      w.t.failed('nacked', 0, 0n, 'm1', 2);
      w.deadLettered(0, { reason: 'rejected: bad' });
    }, /0:0: reason "rejected: bad"/],
    ['a dead-letter copy in another topic', 'none', (w) => {
      w.rec(0).count = 1;
      w.deliver(0);
      w.t.failed('nacked', 0, 0n, 'm1', 2);
      w.deadLettered(0, { deadLetterTopic: 'elsewhere' });
    }, /dead-letter topic elsewhere/],
    ['retention losing another count than the group owed', 'none', (w) => {
      w.rec(0).state = 'acked';
      w.t.retentionDropped({ topic: TOPIC, group: 'g', partition: 0, startOffset: 2n, lostRecords: 2n });
    }, /retention to 2 lost 2, the group owed 0:1/],
  ])('%s', (_name, ordering, events, violation) => {
    const w = world(ordering);
    events(w);
    expect(w.violations).toContainEqual(expect.stringMatching(violation));
  });

  it.each<[string, Ordering, (w: World) => void]>([
    ["'key': a key's records one after the other, with a null key beside", 'key', (w) => {
      w.deliver(0);
      w.deliver(2, 'm2');
      w.t.acked(w.ref(0));
      w.deliver(1, 'm2');
      w.t.acked(w.ref(1, 'm2'));
    }],
    ["'partition': in order to one member, a go-back, the taken-back record owed past maxDeliveries", 'partition', (w) => {
      w.deliver(0);
      w.deliver(1);
      w.deliver(2);
      w.t.failed('nacked', 0, 0n, 'm1', 1);
      w.redelivered(0, 'nack', { delayMs: 10 });
      w.redelivered(1, 'goBack');
      w.redelivered(2, 'goBack');
      w.clock.now = 10;
      w.deliver(0);
      w.deliver(1);
      w.redelivered(1, 'goBack');
      w.deliver(1); // #3: owed
      w.t.acked(w.ref(0));
      w.t.acked(w.ref(1));
    }],
    ['a record lost to retention, one acked before it, a nack dead-lettered on its last attempt', 'none', (w) => {
      w.deliver(0);
      w.t.acked(w.ref(0));
      w.deliver(2);
      w.t.failed('nacked', 0, 2n, 'm1', 1);
      w.redelivered(2, 'nack', { delayMs: 0 });
      w.deliver(2);
      w.t.failed('nacked', 0, 2n, 'm1', 2);
      w.deadLettered(2);
      w.t.retentionDropped({ topic: TOPIC, group: 'g', partition: 0, startOffset: 2n, lostRecords: 1n });
    }],
  ])('nothing for %s', (_name, ordering, events) => {
    const w = world(ordering, 3, ['k', 'k', null]);
    events(w);
    expect(w.violations).toEqual([]);
  });
});
