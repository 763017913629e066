/**
 * How the delivery property test settles what its members hold (delivery-settle.ts) and what it
 * then expects: each check, fed a delivery that settles the wrong way, reports a violation, and
 * the model moves as the settlement says. Against a correct engine the property never trips
 * these checks, so without this file a check weakened by mistake would go unseen.
 */
import { describe, expect, it, vi } from 'vitest';
import { BrookError } from '@brook/protocol';
import type { Action } from './delivery-commands.js';
import type { Held, MemberModel, RecordModel } from './delivery-invariants.js';
import type { Delivery } from './delivery.js';
import { expectAckTook, settleHeld } from './delivery-settle.js';

const NOW = 5000;
const ACK_TIMEOUT_MS = 1000;

function record(): RecordModel {
  return {
    partition: 0, offset: 3n, key: 'k', value: 'v', timestamp: 0, state: 'inflight', count: 2, attemptOwed: false, member: 'm1',
    leaseDueMs: 0, notBeforeMs: 0, askedDelayMs: undefined, rejected: false, epoch: 1, orphanCopies: 0, mayBeCopying: false, deadLetterCounts: [],
  };
}

/** A delivery of 0:3#2 whose ack and reject settle as `settles` says. */
type Settles = 'resolve' | 'stale' | 'closed';

function held(settles: Settles, handler = false) {
  const outcome = () => (settles === 'resolve' ? Promise.resolve() : Promise.reject(new BrookError(settles === 'stale' ? 'DELIVERY_STALE' : 'CLOSED', 'no')));
  const delivery = {
    partition: 0, offset: 3n, deliveryCount: 2,
    ack: vi.fn(outcome), reject: vi.fn(outcome), nack: vi.fn(), extend: vi.fn(),
  };
  const resolve = vi.fn();
  const reject = vi.fn();
  const member = { label: 'm1', style: handler ? 'handler' : 'iterator' } as MemberModel;
  const h: Held = { delivery: delivery as unknown as Delivery, member, epoch: 1, ...(handler ? { resolve, reject } : {}) };
  return { h, delivery, resolve, reject };
}

async function settled(action: Action, current: boolean, settles: Settles, handler = false) {
  const rec = record();
  const violations: string[] = [];
  const { h, delivery, resolve, reject } = held(settles, handler);
  const acked = settleHeld(h, action, { rec, current, now: NOW, ackTimeoutMs: ACK_TIMEOUT_MS, violations });
  await new Promise((r) => setImmediate(r));
  return { rec, violations, acked, delivery, resolve, reject };
}

describe('settling a held delivery (delivery property test)', () => {
  it.each([
    ['ack', 'a stale delivery resolves', false, 'resolve', /settling stale 0:3#2 resolved/],
    ['ack', 'the current delivery is DELIVERY_STALE', true, 'stale', /settling current 0:3#2 failed with .*DELIVERY_STALE/],
    ['reject', 'a stale delivery resolves', false, 'resolve', /settling stale 0:3#2 resolved/],
    ['reject', 'the current delivery is DELIVERY_STALE', true, 'stale', /settling current 0:3#2 failed/],
    ['ack', 'a stale delivery fails otherwise than DELIVERY_STALE', false, 'closed', /settling stale 0:3#2 failed with .*CLOSED/],
  ] as const)('reports an %s where %s', async (type, _what, current, settles, violation) => {
    const { violations } = await settled({ type }, current, settles);
    expect(violations).toEqual([expect.stringMatching(violation)]);
  });

  it.each([
    ['ack', true, 'resolve'], ['ack', false, 'stale'], ['reject', true, 'resolve'], ['reject', false, 'stale'],
  ] as const)('reports nothing when an %s of a delivery that is current: %s settles as it should', async (type, current, settles) => {
    expect((await settled({ type }, current, settles)).violations).toEqual([]);
  });

  it("acks an iterator's delivery by ack(), a handler's by resolving its promise; only an ack of the current one is returned to check", async () => {
    const iterator = await settled({ type: 'ack' }, true, 'resolve');
    expect(iterator.delivery.ack).toHaveBeenCalledTimes(1);
    expect(iterator.acked).toEqual({ rec: iterator.rec, member: 'm1', count: 2, epoch: 1 });
    const handler = await settled({ type: 'ack' }, true, 'resolve', true);
    expect([handler.resolve.mock.calls.length, handler.delivery.ack.mock.calls.length]).toEqual([1, 0]);
    expect((await settled({ type: 'ack' }, false, 'stale')).acked).toBeUndefined();
    expect((await settled({ type: 'extend' }, true, 'resolve')).acked).toBeUndefined();
  });

  it("nacks a handler's delivery without delayMs by failing its handler; with delayMs by nack(), remembered for the current one", async () => {
    const failed = await settled({ type: 'nack' }, true, 'resolve', true);
    expect(failed.reject).toHaveBeenCalledWith(expect.any(Error));
    expect([failed.delivery.nack.mock.calls.length, failed.rec.askedDelayMs]).toEqual([0, undefined]);
    const delayed = await settled({ type: 'nack', delayMs: 700 }, true, 'resolve', true);
    expect(delayed.delivery.nack).toHaveBeenCalledWith({ delayMs: 700 });
    expect([delayed.resolve.mock.calls.length, delayed.rec.askedDelayMs]).toEqual([1, 700]);
    const iterator = await settled({ type: 'nack' }, true, 'resolve');
    expect(iterator.delivery.nack).toHaveBeenCalledWith({});
    expect((await settled({ type: 'nack', delayMs: 700 }, false, 'resolve')).rec.askedDelayMs).toBeUndefined();
  });

  it('a reject dooms the current record (not a stale one); an extend moves the current lease by ms, or ackTimeoutMs', async () => {
    const rejected = await settled({ type: 'reject' }, true, 'resolve', true);
    expect(rejected.delivery.reject).toHaveBeenCalledWith('poison');
    expect([rejected.rec.state, rejected.rec.rejected, rejected.resolve.mock.calls.length]).toEqual(['dying', true, 1]);
    const stale = await settled({ type: 'reject' }, false, 'stale');
    expect([stale.rec.state, stale.rec.rejected]).toEqual(['inflight', false]);
    const extended = await settled({ type: 'extend', ms: 300 }, true, 'resolve');
    expect(extended.delivery.extend).toHaveBeenCalledWith(300);
    expect(extended.rec.leaseDueMs).toBe(NOW + 300);
    expect((await settled({ type: 'extend' }, true, 'resolve')).rec.leaseDueMs).toBe(NOW + ACK_TIMEOUT_MS);
    expect((await settled({ type: 'extend', ms: 300 }, false, 'resolve')).rec.leaseDueMs).toBe(0);
  });
});

describe('an ack that took (delivery property test)', () => {
  it('is reported ignored when the record is still in flight to the same member, attempt and epoch', () => {
    const rec = record();
    const violations: string[] = [];
    expectAckTook({ rec, member: 'm1', count: 2, epoch: 1 }, violations);
    expect(violations).toEqual(['ack of current 0:3#2 was ignored']);
  });

  it.each([
    ['acked', { state: 'acked' as const }], ['delivered to another member', { member: 'm2' }],
    ['delivered again', { count: 3 }], ['passed over by a reset', { epoch: 2 }],
  ])('is fine once the record is %s', (_what, change) => {
    const violations: string[] = [];
    expectAckTook({ rec: { ...record(), ...change }, member: 'm1', count: 2, epoch: 1 }, violations);
    expect(violations).toEqual([]);
  });
});
