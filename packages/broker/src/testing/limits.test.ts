/**
 * The kit at the edges of its options: a plan or an option outside its documented range is an
 * INVALID_CONFIG naming it, before anything runs; never a silent no-op or an assertion crash.
 */
import { SeededRandom } from '@brook/protocol';
import { describe, expect, it } from 'vitest';
import { hotLoop } from './checkers.js';
import { checkFaultPlan, type Fault, type FaultKind } from './fault-plan.js';
import { simulate, type Scenario, type SimulationOptions } from './simulate.js';
import { Simulation } from './simulation.js';
import { openWorld } from './world.js';

const invalid = (pattern: RegExp) => expect.objectContaining({ code: 'INVALID_CONFIG', message: expect.stringMatching(pattern) });

/** c1 and c2 in one group: c1 joins first and gets delivery #1. */
function twoConsumers(): Scenario {
  return {
    topics: { 'limits-fields': { partitions: 1 } }, produce: [{ topic: 'limits-fields', records: [{ value: 'a' }] }],
    consumers: ['c1', 'c2'].map((name) => ({ name, subscribe: { topic: 'limits-fields', group: 'limits-fields-g' }, handler: () => undefined })),
  };
}

describe('fault plan limits', () => {
  it('a fault without the duration or delay its kind needs is rejected, not run as a fault that does nothing', () => {
    const consumers = ['c1'];
    expect(() => checkFaultPlan([{ kind: 'pauseConsumer', trigger: { delivery: 1 } }], consumers)).toThrow(invalid(/fault #1: pauseConsumer needs durationMs/));
    expect(() => checkFaultPlan([{ kind: 'slowConsumer', trigger: { delivery: 1 } }], consumers)).toThrow(invalid(/fault #1: slowConsumer needs delayMs/));
    expect(() => checkFaultPlan([{ kind: 'delayAck', trigger: { delivery: 1 } }], consumers)).toThrow(invalid(/fault #1: delayAck needs delayMs/));
  });

  it('a match trigger with a misspelt or mistyped field is rejected, not matched against every delivery or none', () => {
    const consumers = ['c1'];
    const withMatch = (match: unknown) => [{ kind: 'loseAck', trigger: { delivery: 1 } }, { kind: 'loseAck', trigger: { match } }];
    expect(() => checkFaultPlan(withMatch({ vlaue: 'm3' }), consumers)).toThrow(invalid(/fault #2: .*unknown match field "vlaue"/));
    expect(() => checkFaultPlan(withMatch({ key: 7 }), consumers)).toThrow(invalid(/fault #2: match.key must be a string/));
    expect(() => checkFaultPlan(withMatch({ deliveryCount: '2' }), consumers)).toThrow(invalid(/fault #2: match.deliveryCount must be an integer >= 1/));
    expect(checkFaultPlan(withMatch({ key: 'k', value: 'v', deliveryCount: 2 }), consumers)).toHaveLength(2);
  });

  it("a field the fault's kind does not have is rejected: a misspelt one silently took its default, a consumer on a record fault ran as an unplanned nack", async () => {
    const consumers = ['c1', 'c2'];
    expect(() => checkFaultPlan([{ kind: 'crashConsumer', trigger: { delivery: 1 }, restartAfterMS: null }], consumers))
      .toThrow(invalid(/fault #1: crashConsumer has no field "restartAfterMS"/));
    expect(() => checkFaultPlan([{ kind: 'loseAck', trigger: { delivery: 1 }, consumer: 'c2' }], consumers)).toThrow(invalid(/fault #1: loseAck has no field "consumer"/));
    expect(() => checkFaultPlan([{ kind: 'loseAck', trigger: { delivery: 1, consumr: 'c2' } }], consumers)).toThrow(invalid(/fault #1: trigger has no field "consumr"/));
    expect(() => checkFaultPlan([{ kind: 'loseAck', trigger: { delivery: 2, match: { value: 'v' } } }], consumers)).toThrow(invalid(/fault #1: trigger has delivery and match/));
    expect(() => checkFaultPlan([{ kind: 'pauseConsumer', trigger: { atMs: 5, consumer: 'c1' }, consumer: 'c1', durationMs: 9 }], consumers))
      .toThrow(invalid(/fault #1: a time trigger names no consumer/));
    const all = [
      { kind: 'crashConsumer', trigger: { atMs: 1 }, consumer: 'c1', point: 'afterEffect', restartAfterMs: null },
      { kind: 'delayAck', trigger: { match: { value: 'v' }, consumer: 'c1' }, delayMs: 5 },
      { kind: 'slowConsumer', trigger: { delivery: 2, consumer: 'c2' }, consumer: 'c1', delayMs: 5, durationMs: 9 },
      { kind: 'restartBroker', trigger: { delivery: 3 }, crash: 'tornWrite', tornBytes: 3 },
    ];
    expect(checkFaultPlan(all, consumers)).toBe(all);
    const strayConsumer = [{ kind: 'duplicateDelivery', trigger: { delivery: 1 }, consumer: 'c2' } as unknown as Fault];
    await expect(simulate({ ...twoConsumers(), seed: 1, faults: strayConsumer })).rejects.toThrow(invalid(/fault #1: duplicateDelivery has no field "consumer"/));
    // Unchecked, it fails the kit's assert in the broker's call of the handler: the run fails with it, not with a nack.
    const world = await openWorld();
    await world.broker.createTopic('limits-fields', { partitions: 1 });
    const { produce, consumers: specs } = twoConsumers();
    const simulation = new Simulation(world, { produce, consumers: specs, plan: strayConsumer, admin: [] }, {
      maxVirtualTimeMs: 60_000, maxTimers: 1_000, latencyMs: [0, 0], lagSampleEveryMs: undefined,
    }, () => new SeededRandom(1));
    await expect(simulation.run()).rejects.toThrow(/assertion failed: fault is aimed at a delivery/);
  });
});

describe('simulate option limits', () => {
  const scenario = (): Scenario => ({
    topics: { 'limits-t': { partitions: 1 } },
    produce: [{ topic: 'limits-t', records: [{ value: 'x' }] }],
    consumers: [{ name: 'c1', subscribe: { topic: 'limits-t', group: 'limits-g' }, handler: () => undefined }],
  });
  const cases: [string, Partial<SimulationOptions>, RegExp][] = [
    ['a fractional seed', { seed: 1.5 }, /seed must be an integer/],
    ['a NaN time limit (no limit at all)', { maxVirtualTimeMs: Number.NaN }, /maxVirtualTimeMs must be an integer >= 0/],
    ['a negative timer limit', { maxTimers: -1 }, /maxTimers must be an integer >= 0/],
    ['a zero lag sampling period', { lagSampleEveryMs: 0 }, /lagSampleEveryMs must be an integer >= 1/],
    ['a negative join time', { consumers: [{ ...scenario().consumers[0]!, joinAtMs: -1 }] }, /consumer c1: joinAtMs must be an integer >= 0/],
    ['a negative produce time', { produce: [{ topic: 'limits-t', records: [], atMs: -5 }] }, /produce step 1: atMs must be an integer >= 0/],
    ['a NaN retry delay', { produce: [{ topic: 'limits-t', records: [], retryAfterMs: Number.NaN }] }, /produce step 1: retryAfterMs must be an integer >= 0/],
    ['a NaN admin time', { admin: [{ atMs: Number.NaN, what: 'look', run: () => undefined }] }, /admin step 1: atMs must be an integer >= 0/],
    ['a negative number of random faults', { faults: { random: { maxFaults: -1 } } }, /maxFaults must be an integer >= 0/],
    ['a random plan over no deliveries', { faults: { random: { deliveries: 0 } } }, /deliveries must be an integer >= 1/],
    ['a random plan over no time', { faults: { random: { horizonMs: 0 } } }, /horizonMs must be an integer >= 1/],
    ['a random plan of no kinds', { faults: { random: { kinds: [] } } }, /kinds must be a non-empty list of fault kinds/],
    ['a random plan of an unknown kind', { faults: { random: { kinds: ['meteor' as FaultKind] } } }, /kinds must be a non-empty list of fault kinds/],
    ['a random plan aimed at no consumers', { faults: { random: { consumers: [] } } }, /consumers must name at least one consumer/],
  ];

  it.each(cases)('%s is INVALID_CONFIG, not an assertion or a silent default', async (_name, options, message) => {
    await expect(simulate({ ...scenario(), seed: 1, ...options })).rejects.toThrow(invalid(message));
  });
});

describe('handler context limits', () => {
  it('ctx.sleep(NaN or Infinity) rejects INVALID_REQUEST in the handler (a nack), instead of an assertion ending the run', async () => {
    const errors: unknown[] = [];
    const result = await simulate({
      seed: 1,
      topics: { 'limits-sleep': { partitions: 1 } },
      produce: [{ topic: 'limits-sleep', records: [{ value: 'nan' }, { value: 'inf' }, { value: 'ok' }] }],
      consumers: [{
        name: 'c1',
        subscribe: { topic: 'limits-sleep', group: 'limits-sleep-g', maxDeliveries: 1 },
        handler: async (delivery, ctx) => {
          const ms = { nan: Number.NaN, inf: Number.POSITIVE_INFINITY, ok: 5 }[delivery.text() as 'nan' | 'inf' | 'ok'];
          await ctx.sleep(ms).catch((error: unknown) => {
            errors.push(error);
            throw error;
          });
        },
      }],
    });
    expect(errors).toEqual([
      expect.objectContaining({ code: 'INVALID_REQUEST', message: expect.stringMatching(/sleep\(ms\) needs a finite number of milliseconds, got NaN/) }),
      expect.objectContaining({ code: 'INVALID_REQUEST', message: expect.stringMatching(/got Infinity/) }),
    ]);
    expect(result.counters.total).toMatchObject({ acked: 1, deadLettered: 2 });
  });

  it("a ctx.timers callback that throws is the consumer process's uncaught exception: it crashes, and the run resolves not ok with the error in its report (simulate rejected, without the report)", async () => {
    let fired = 0;
    const result = await simulate({
      seed: 1,
      topics: { 'limits-timer': { partitions: 1 } },
      produce: [{ topic: 'limits-timer', records: [{ value: 'a' }] }],
      consumers: [{
        name: 'c1',
        subscribe: { topic: 'limits-timer', group: 'limits-timer-g' },
        handler: async (_delivery, ctx) => {
          // Only the first incarnation's timer throws; the one after the restart runs clean.
          if (fired++ === 0) ctx.timers.setTimeout(() => { throw new Error('boom in a timer'); }, 5);
          await ctx.sleep(10);
        },
      }],
    });
    const events = result.history.events;
    expect(events).toContainEqual(expect.objectContaining({ type: 'uncaught', consumer: 'c1', error: 'boom in a timer' }));
    expect(events).toContainEqual(expect.objectContaining({ type: 'consumer', consumer: 'c1', what: 'crash' }));
    expect(result.ok).toBe(false);
    expect(result.violations).toEqual([expect.objectContaining({ checker: 'uncaught', message: expect.stringMatching(/c1: .*boom in a timer/) })]);
    expect(result.report()).toMatch(/✗ uncaught .*\n.*boom in a timer/);
    // The crash redelivered the record to the restarted process, which finished it.
    expect(result.counters.total).toMatchObject({ acked: 1, lost: 0 });
  });
});

describe('settlement arguments', () => {
  it("a nack or reject with an invalid argument is refused INVALID_REQUEST and settles nothing, as the broker's Delivery does: the resolve acks", async () => {
    const refused: { code: unknown; settled: boolean }[] = [];
    const result = await simulate({
      seed: 1,
      topics: { 'limits-settle': { partitions: 1 } },
      produce: [{ topic: 'limits-settle', records: [{ value: 'nack' }, { value: 'reject' }] }],
      consumers: [{
        name: 'c1',
        subscribe: { topic: 'limits-settle', group: 'limits-settle-g' },
        handler: async (delivery) => {
          const settling = delivery.text() === 'nack' ? delivery.nack({ delayMs: -1 }) : delivery.reject(42 as unknown as string);
          await settling.catch((error: { code?: unknown }) => refused.push({ code: error.code, settled: delivery.settled }));
        },
      }],
    });
    expect(refused).toEqual([{ code: 'INVALID_REQUEST', settled: false }, { code: 'INVALID_REQUEST', settled: false }]);
    expect(result.counters.total).toMatchObject({ acked: 2, redelivered: 0, deadLettered: 0 });
    expect(result.report()).toContain('✓ simulation passed');
  });
});

describe('checker options', () => {
  it('hotLoop({ deliveries }) below 1 or fractional is INVALID_CONFIG: 0 flagged every record as a hot loop', () => {
    expect(() => hotLoop({ deliveries: 0 })).toThrow(invalid(/hotLoop deliveries must be an integer >= 1, got 0/));
    expect(() => hotLoop({ deliveries: 2.5 })).toThrow(invalid(/got 2.5/));
    expect(hotLoop({ deliveries: 1 }).name).toBe('hotLoop');
  });
});
