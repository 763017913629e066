/**
 * The kit's machinery: determinism per seed, every fault kind doing what it says, the timer
 * bridge, replay from the environment, and independence from global (fake) timers.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { FAULT_KINDS, checkFaultPlan, type Fault, type FaultPlan } from './fault-plan.js';
import type { HistoryEvent } from './history.js';
import { randomPlan } from './random-plan.js';
import type { Ordering } from '../groups/subscribe-options.js';
import { PLAN_ENV, SEED_ENV, simulate, type Scenario, type SimulationOptions } from './simulate.js';
import { duplicateEffect, hotLoop, lost, stuck, unexpected } from './checkers.js';

/** Two idempotent consumers on six keyed records: correct code, so only faults show. */
function shop(ordering: Ordering = 'none', broker: SimulationOptions['broker'] = {}): Scenario {
  const done = new Set<string>();
  const consumer = (name: string) => ({
    name,
    subscribe: { topic: 't', group: 'g', ordering, maxInFlight: 2 },
    handler: async (delivery: { text(): string | null }, ctx: { sleep(ms: number): Promise<void>; effect(kind: string, id: string): void }) => {
      await ctx.sleep(10);
      const id = delivery.text()!;
      if (done.has(id)) return;
      ctx.effect('ship', id);
      done.add(id);
    },
  });
  return {
    broker,
    topics: { t: { partitions: 2 } },
    produce: [{ topic: 't', records: Array.from({ length: 6 }, (_, i) => ({ key: `k${i}`, value: `v${i}` })) }],
    consumers: [consumer('c1'), consumer('c2')],
    checkers: [],
  };
}

afterEach(() => {
  delete process.env[SEED_ENV];
  delete process.env[PLAN_ENV];
  vi.useRealTimers();
});

describe('simulate', () => {
  it('gives a byte-identical history for the same seed, and another for another seed', async () => {
    const run = async (seed: number) => (await simulate({ ...shop(), seed, faults: { random: { maxFaults: 4 } } })).history;
    const [a, b, c] = [await run(3), await run(3), await run(4)];
    expect(JSON.stringify(a.events)).toBe(JSON.stringify(b.events));
    expect(a.format()).toBe(b.format());
    expect(a.format()).not.toBe(c.format());
  });

  const cases: [string, Fault, { ordering?: Ordering }, (events: HistoryEvent[]) => void][] = [
    ['crashConsumer', { kind: 'crashConsumer', trigger: { delivery: 1 } }, {}, (events) => {
      expect(events).toContainEqual(expect.objectContaining({ type: 'consumer', what: 'crash' }));
      expect(events).toContainEqual(expect.objectContaining({ type: 'redelivered', reason: 'memberLeft' }));
    }],
    ['loseAck', { kind: 'loseAck', trigger: { delivery: 2 } }, {}, (events) => {
      expect(events).toContainEqual(expect.objectContaining({ type: 'settle', dropped: 'lostAck' }));
      expect(events).toContainEqual(expect.objectContaining({ type: 'leaseExpired' }));
    }],
    ['delayAck', { kind: 'delayAck', trigger: { delivery: 1 }, delayMs: 40_000 }, {}, (events) => {
      expect(events).toContainEqual(expect.objectContaining({ type: 'settle', delayedMs: 40_000 }));
      expect(events).toContainEqual(expect.objectContaining({ type: 'leaseExpired' }));
    }],
    ['duplicateDelivery', { kind: 'duplicateDelivery', trigger: { match: { value: 'v4' } } }, {}, (events) => {
      expect(events.filter((e) => e.type === 'deliver' && e.value === 'v4' && e.duplicate)).toHaveLength(1);
    }],
    ['slowConsumer', { kind: 'slowConsumer', trigger: { atMs: 0 }, consumer: 'c1', delayMs: 5_000 }, {}, (events) => {
      expect(events.find((e) => e.type === 'processed' && e.consumer === 'c1')!.t).toBeGreaterThanOrEqual(5_000);
    }],
    // At 5 ms c2's handlers are asleep (10 ms of work): they wake only after the pause.
    ['pauseConsumer', { kind: 'pauseConsumer', trigger: { atMs: 5 }, consumer: 'c2', durationMs: 60_000 }, {}, (events) => {
      expect(events).toContainEqual(expect.objectContaining({ type: 'leaseExpired', consumer: 'c2' }));
      expect(events.filter((e) => e.type === 'processed' && e.consumer === 'c2' && e.t > 5 && e.t < 60_005)).toEqual([]);
      expect(events.some((e) => e.type === 'processed' && e.consumer === 'c2' && e.t >= 60_005)).toBe(true);
      expect(events).toContainEqual(expect.objectContaining({ type: 'consumer', consumer: 'c2', what: 'resume' }));
    }],
    ['leaveConsumer', { kind: 'leaveConsumer', trigger: { delivery: 3 }, rejoinAfterMs: 100 }, { ordering: 'partition' }, (events) => {
      expect(events.filter((e) => e.type === 'rebalanced').length).toBeGreaterThanOrEqual(4);
      expect(events).toContainEqual(expect.objectContaining({ type: 'consumer', what: 'leave' }));
    }],
    ['restartBroker', { kind: 'restartBroker', trigger: { delivery: 3 }, crash: 'powerCut' }, {}, (events) => {
      expect(events).toContainEqual(expect.objectContaining({ type: 'brokerRestart', crash: 'powerCut' }));
      expect(events).toContainEqual(expect.objectContaining({ type: 'settle', dropped: 'brokerRestarted' }));
    }],
  ];

  it('covers every fault kind', () => {
    expect(cases.map(([kind]) => kind).sort()).toEqual([...FAULT_KINDS].sort());
  });

  it.each(cases)('%s: leaves its mark in the history, and correct consumers still pass', async (_kind, fault, options, expectations) => {
    const result = await simulate({ ...shop(options.ordering), seed: 1, faults: [fault], checkers: undefined });
    expect(result.history.events.filter((e) => e.type === 'fault')).toHaveLength(1);
    expectations(result.history.events);
    expect(result.report()).toContain('✓ simulation passed');
  });

  it('a crash that names a consumer crashes that consumer, whoever got the triggering delivery', async () => {
    const result = await simulate({
      ...shop(), seed: 1, checkers: undefined,
      faults: [{ kind: 'crashConsumer', consumer: 'c2', trigger: { delivery: 3, consumer: 'c1' }, point: 'afterEffect', restartAfterMs: null }],
    });
    const crashes = result.history.events.filter((e) => e.type === 'consumer' && e.what === 'crash');
    expect(crashes.map((e) => 'consumer' in e && e.consumer)).toEqual(['c2']);
    expect(result.report()).toContain('✓ simulation passed');
  });

  it("a fault that names another consumer is told in that consumer's lane, not as held by the triggering record's consumer", async () => {
    const result = await simulate({
      ...shop(), seed: 1,
      faults: [{ kind: 'crashConsumer', consumer: 'c2', trigger: { delivery: 3, consumer: 'c1' }, restartAfterMs: null }],
    });
    const fault = result.history.events.find((e) => e.type === 'fault');
    expect(fault).toMatchObject({ consumer: 'c2' });
    expect(fault).not.toHaveProperty('id');
    expect(result.history.format()).not.toContain('(holding');
  });

  it('a random crash at a delivery names no consumer, so it hits the consumer holding the record at its crash point', () => {
    const plan = randomPlan(7, { consumers: ['c1', 'c2'], kinds: ['crashConsumer'], maxFaults: 40, horizonMs: 1_000 });
    const byDelivery = plan.filter((fault) => 'delivery' in fault.trigger);
    expect(byDelivery.length).toBeGreaterThan(0);
    expect(byDelivery.filter((fault) => 'consumer' in fault)).toEqual([]);
    expect(plan.filter((fault) => 'atMs' in fault.trigger).every((fault) => 'consumer' in fault)).toBe(true);
  });

  it('a pause is of one process: the process that rejoins after a crash during it runs at once', async () => {
    const result = await simulate({
      ...shop(), seed: 1, checkers: undefined,
      consumers: [shop().consumers[0]!],
      faults: [
        { kind: 'pauseConsumer', consumer: 'c1', trigger: { atMs: 0 }, durationMs: 60_000 },
        { kind: 'crashConsumer', consumer: 'c1', trigger: { atMs: 10 }, restartAfterMs: 100 },
      ],
    });
    const processed = result.history.events.filter((e) => e.type === 'processed');
    expect(processed.length).toBeGreaterThan(0);
    expect(processed[0]!.t).toBeLessThan(1_000);
    expect(result.history.events.filter((e) => e.type === 'consumer').map((e) => 'what' in e && e.what)).toEqual(['pause', 'join', 'crash', 'join']);
  });

  it("a power cut under fsync 'never' loses confirmed records, and the lost checker says so", async () => {
    const result = await simulate({
      ...shop('none', { fsync: 'never' }), seed: 1, checkers: undefined,
      faults: [{ kind: 'restartBroker', trigger: { delivery: 1 }, crash: 'powerCut' }],
    });
    expect(result.violations.map((v) => v.checker)).toContain('lost');
    expect(result.violations[0]!.message).toContain('not in the log any more');
  });

  it('ends when quiescent even though fsync { intervalMs } keeps a broker timer armed', async () => {
    const result = await simulate({ ...shop('none', { fsync: { intervalMs: 1_000 } }), seed: 1, checkers: undefined });
    expect(result.endedBy).toBe('quiescent');
    expect(result.ok).toBe(true);
  });

  it('runs hours of virtual time in a few milliseconds; handler timers go through ctx.timers', async () => {
    const scenario = shop();
    const started = performance.now();
    const result = await simulate({
      ...scenario, seed: 1, checkers: undefined, maxVirtualTimeMs: 3 * 3_600_000,
      consumers: [{
        name: 'worker',
        subscribe: { topic: 't', group: 'g', ackTimeoutMs: 60_000 },
        handler: async (delivery, ctx) => {
          // A heartbeat that renews the lease while a two-hour job runs.
          const heartbeat = ctx.timers.setInterval(() => delivery.extend(), 30_000);
          await new Promise((resolve) => ctx.timers.setTimeout(resolve, 2 * 3_600_000));
          ctx.timers.clearInterval(heartbeat);
          ctx.effect('job', delivery.text()!);
        },
      }],
    });
    expect(result.report()).toContain('✓ simulation passed');
    expect(result.virtualTimeMs).toBeGreaterThanOrEqual(2 * 3_600_000);
    expect(result.history.events.some((e) => e.type === 'leaseExpired')).toBe(false);
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  it('replays from BROOK_SIM_SEED and BROOK_SIM_PLAN, which override the options', async () => {
    const plan: FaultPlan = [{ kind: 'loseAck', trigger: { delivery: 2 } }];
    const original = await simulate({ ...shop(), seed: 9, faults: plan });
    process.env[SEED_ENV] = '9';
    process.env[PLAN_ENV] = JSON.stringify(plan);
    const replayed = await simulate({ ...shop(), seed: 1, faults: [] });
    expect(replayed.seed).toBe(9);
    expect(replayed.plan).toEqual(plan);
    expect(replayed.history.format()).toBe(original.history.format());
    expect(original.replay).toBe(`${SEED_ENV}=9 ${PLAN_ENV}='${JSON.stringify(plan)}' npx vitest run`);
  });

  it('does not depend on global timers: it runs while the test fakes them', async () => {
    vi.useFakeTimers();
    const result = await simulate({ ...shop(), seed: 2, faults: [{ kind: 'loseAck', trigger: { delivery: 1 } }] });
    expect(result.endedBy).toBe('quiescent');
  });

  it('runs in plain node, outside vitest', async () => {
    const code = [
      "import { simulate } from '@brook/broker/testing';",
      "import { poisonScenario } from './src/testing/examples/poison.ts';",
      'const result = await simulate({ ...poisonScenario({ fixed: false }), seed: 3 });',
      "console.log(result.violations.map((v) => v.checker).join(','));",
    ].join('\n');
    const cwd = fileURLToPath(new URL('../..', import.meta.url));
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { cwd });
    expect(stdout.trim()).toBe('stuck,hotLoop');
  });

  it.each(['none', 'key', 'partition'] as const)("correct consumers under random faults, ordering '%s': nothing lost, stuck or done twice", async (ordering) => {
    // Pauses and lost acks legitimately reorder (a paused member finishes a stale delivery), so no order checker here.
    const checkers = [lost(), stuck(), duplicateEffect(), unexpected(), hotLoop()];
    for (let seed = 0; seed < 40; seed++) {
      const result = await simulate({ ...shop(ordering), seed, checkers, faults: { random: { maxFaults: 4, horizonMs: 3_000, deliveries: 12 } } });
      if (!result.ok) expect.fail(result.report());
      expect(result.endedBy).toBe('quiescent');
    }
  });

  it("a settlement the broker refuses is in the history: a stale ack after a 'partition' lease loss, then the share given back", async () => {
    const result = await simulate({
      seed: 1,
      topics: { jobs: { partitions: 2 } },
      produce: [{ topic: 'jobs', records: [{ value: 'slow', partition: 0 }, { value: 'quick', partition: 1 }] }],
      consumers: ['w1', 'w2'].map((name) => ({
        name,
        subscribe: { topic: 'jobs', group: 'g', ordering: 'partition' as const, ackTimeoutMs: 1_000 },
        // Outlives its lease once, without extend(): its member loses its partitions.
        handler: async (d: { text(): string | null; deliveryCount: number }, ctx: { sleep(ms: number): Promise<void> }) => ctx.sleep(d.text() === 'slow' && d.deliveryCount === 1 ? 2_500 : 10),
      })),
      checkers: [],
    });
    const events = result.history.events;
    expect(events).toContainEqual(expect.objectContaining({ type: 'settleRefused', consumer: 'w1', how: 'ack', code: 'DELIVERY_STALE', id: 'r1' }));
    expect(result.history.format()).toMatch(/w1 +ack r1 \(g p0@0\) refused: DELIVERY_STALE \(stale/);
    // The stale ack is what gives the member its share back.
    const sent = events.findIndex((e) => e.type === 'settle' && e.consumer === 'w1' && e.id === 'r1');
    expect(events.slice(sent + 1).some((e) => e.type === 'rebalanced' && Object.keys(e.assignment).length === 2)).toBe(true);
  });

  it.each([
    ['a lost ack', { kind: 'loseAck', trigger: { delivery: 1 } }],
    ['an ack bound for a broker that restarted', { kind: 'restartBroker', crash: 'kill', trigger: { delivery: 1 } }],
  ] as [string, Fault][])('%s: the ack the handler awaits rejects DISCONNECTED, never resolves as if durable', async (_case, fault) => {
    const refusals: string[] = [];
    const result = await simulate({
      seed: 1,
      topics: { 'dropped-ack': { partitions: 1 } },
      produce: [{ topic: 'dropped-ack', records: [{ value: 'a' }] }],
      consumers: [{
        name: 'c1',
        subscribe: { topic: 'dropped-ack', group: 'dropped-ack-g' },
        // Marks the record done only once its ack is durable, as a resolved ack() promises.
        handler: async (delivery, ctx) => {
          await ctx.sleep(10);
          await delivery.ack().catch((error: { code?: string }) => {
            refusals.push(`#${delivery.deliveryCount} ${error.code}`);
            throw error;
          });
          ctx.effect('marked-done', delivery.text()!);
        },
      }],
      faults: [fault],
    });
    expect(refusals).toEqual(['#1 DISCONNECTED']);
    expect(result.report()).toContain('✓ simulation passed');
  });

  it("a second settlement returns the first one's promise, as Delivery's does: a fire-and-forget stale ack is neither hidden nor unhandled", async () => {
    const codes: unknown[] = [];
    const result = await simulate({
      seed: 1,
      topics: { 'settled-twice': { partitions: 1 } },
      produce: [{ topic: 'settled-twice', records: [{ value: 'a' }] }],
      consumers: [{
        name: 'c1',
        subscribe: { topic: 'settled-twice', group: 'settled-twice-g' },
        handler: async (delivery) => {
          void delivery.ack();
          await delivery.ack().catch((error: { code?: unknown }) => codes.push(error.code));
        },
      }, {
        // Its stale ack is never awaited, and the throw makes the kit nack: no unhandled rejection.
        name: 'c2',
        subscribe: { topic: 'settled-twice', group: 'settled-twice-thrown' },
        handler: (delivery) => {
          void delivery.ack();
          throw new Error('after the ack');
        },
      }],
      // Past the 30 s lease: the first acks arrive stale.
      faults: ['c1', 'c2'].map((consumer) => ({ kind: 'delayAck', trigger: { delivery: 1, consumer }, delayMs: 40_000 })),
      checkers: [],
    });
    expect(codes).toEqual(['DELIVERY_STALE']);
    expect(result.history.events.filter((e) => e.type === 'settleRefused').map((e) => e.consumer).sort()).toEqual(['c1', 'c2']);
  });

  it('rejects malformed plans with INVALID_CONFIG, naming the fault', () => {
    const consumers = ['c1'];
    expect(() => checkFaultPlan([{ kind: 'loseAck', trigger: { atMs: 5 } }], consumers)).toThrow(/fault #1: loseAck needs a delivery or match trigger/);
    expect(() => checkFaultPlan([{ kind: 'pauseConsumer', trigger: { atMs: 5 }, durationMs: 1 }], consumers)).toThrow(/needs a consumer/);
    expect(() => checkFaultPlan([{ kind: 'crashConsumer', trigger: { delivery: 1 }, consumer: 'c9' }], consumers)).toThrow(/unknown consumer/);
    expect(() => checkFaultPlan([{ kind: 'meteor', trigger: { delivery: 1 } }], consumers)).toThrow(/unknown kind/);
    expect(() => checkFaultPlan({}, consumers)).toThrow(expect.objectContaining({ code: 'INVALID_CONFIG' }));
  });

  it('unexpected: a delivery of a record no producer sent', () => {
    const stray: HistoryEvent = { seq: 0, t: 0, type: 'deliver', consumer: 'c1', id: 'r9', group: 'g', partition: 0, offset: 0, key: null, value: null, deliveryCount: 1 };
    const result = unexpected().check({ history: [stray], groups: [{ group: 'g', topic: 't' }], inLog: new Set() });
    expect(result.violations[0]!.message).toBe('delivered r9, which was never produced');
  });
});
