/**
 * Property test of admin calls racing the data path, in process on the virtual clock: fast-check
 * draws a batch of calls on a few topic and group names (create and delete topics, produce,
 * idempotent batches, subscribe with handlers that ack, nack or hold, close or abort them,
 * consume() loops, resetGroup, deleteGroup, redrive, retention, describes, clock advances), each
 * started a random number of turns after the one before, none awaited. Then:
 * - every call settles within a bounded number of turns and of virtual time: nothing hangs;
 * - every failure is a BrookError with a code that call may fail with; nothing rejects unhandled;
 * - the broker is consistent after: every listed topic and group describes, a fresh topic takes
 *   and gives back a record, every group left consumes what its topic gets, close() leaves no file
 *   open, and a reopen is clean and lists the same topics and groups.
 * BROOK_PROPERTY_RUNS raises the number of runs; FC_SEED and FC_PATH (from a failure) replay one.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Broker } from './broker.js';
import { encodeBatch, isBrookError, MemoryFileSystem, type FsyncPolicy } from '@brook/protocol';
import { checkGroupDescription, checkTopicDescription, durableState, eventually, jitteredFs } from './admin-races.test-support.js';
import type { ProducerIdentity } from './producers/producer-registry.js';
import type { Delivery } from './groups/delivery.js';
import type { Subscription } from './groups/subscription.js';
import { engineFixture, type EngineFixture } from './groups/group-fixture.js';
import { REDRIVE_GROUP } from './groups/redrive.js';
import { trackOpenHandles } from './open-handles.test-support.js';
import { collectUnhandledRejections } from './unhandled-rejections.test-support.js';

const NUM_RUNS = Number(process.env['BROOK_PROPERTY_RUNS'] ?? 600);
/**
 * Real time a run may take before fast-check calls it hung and shrinks it: every step of a run is
 * bounded in turns and virtual time, so only a promise nobody settles gets near it.
 */
const RUN_HANG_MS = 5_000;
const TOPICS = ['ar-a', 'ar-b', 'ar-a.dlq'] as const;
const GROUPS = ['g1', 'g2'] as const;
/** Fixed per group name: a subscribe with other settings would be a different question. */
const GROUP_SETTINGS = {
  g1: { ackTimeoutMs: 500, maxDeliveries: 2, backoff: { initialMs: 50, maxMs: 100 }, deadLetterTopic: 'ar-a.dlq' },
  g2: { ackTimeoutMs: 300, maxDeliveries: 3, ordering: 'partition' as const, backoff: { initialMs: 20, maxMs: 40 } },
};

/** Retention that deletes something: 4 KiB segments (two records each), kept 4 KiB or 200 ms. */
const SMALL_TOPIC = { retention: { maxBytes: 4_096, maxAgeMs: 200 }, segmentBytesMax: 4_096 };
const RECORD_BYTES = 1_800;
/** Retention also runs on its own, racing whatever is under way. */
const RETENTION_CHECK_INTERVAL_MS = 250;

/** A group's settings, or others (a join of the group without members changes them: INVALID_CONFIG if it has some). */
function settingsOf(group: keyof typeof GROUP_SETTINGS, retuned: boolean) {
  return retuned ? { ...GROUP_SETTINGS[group], ackTimeoutMs: 400, maxInFlight: 1 } : GROUP_SETTINGS[group];
}

type Handling = 'ack' | 'nack' | 'hold' | 'throw';
type Op =
  | { kind: 'createTopic'; topic: number; partitions: number; retention: 'none' | 'old' | 'new' }
  | { kind: 'deleteTopic'; topic: number }
  | { kind: 'produce'; topic: number; partition: number; count: number }
  | { kind: 'produceBatch'; topic: number; partition: number }
  | { kind: 'subscribe'; topic: number; group: number; handling: Handling; retuned: boolean }
  | { kind: 'consume'; topic: number; group: number; take: number; retuned: boolean }
  | { kind: 'endSubscription'; which: number; abort: boolean }
  | { kind: 'resetGroup'; topic: number; group: number; to: 'earliest' | 'latest' | 'time' }
  | { kind: 'deleteGroup'; topic: number; group: number }
  | { kind: 'redrive'; topic: number }
  | { kind: 'enforceRetention' }
  | { kind: 'describe'; topic: number; group: number }
  | { kind: 'advance'; ms: number }
  | { kind: 'close' }
  | { kind: 'settleHeld'; which: number; how: 'ack' | 'nack' | 'reject' | 'extend' }
  | { kind: 'read'; topic: number; partition: number; byTime: boolean };

const topic = fc.nat({ max: TOPICS.length - 1 });
const group = fc.nat({ max: GROUPS.length - 1 });
const callArbitrary: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('createTopic' as const), topic, partitions: fc.integer({ min: 1, max: 2 }), retention: fc.constantFrom('none' as const, 'old' as const, 'new' as const) }),
  fc.record({ kind: fc.constant('deleteTopic' as const), topic }),
  fc.record({ kind: fc.constant('produce' as const), topic, partition: fc.nat({ max: 1 }), count: fc.integer({ min: 1, max: 4 }) }),
  fc.record({ kind: fc.constant('produceBatch' as const), topic, partition: fc.nat({ max: 1 }) }),
  fc.record({ kind: fc.constant('subscribe' as const), topic, group: fc.nat({ max: GROUPS.length }), handling: fc.constantFrom<Handling>('ack', 'nack', 'hold', 'throw'), retuned: fc.boolean() }),
  fc.record({ kind: fc.constant('consume' as const), topic, group, take: fc.integer({ min: 1, max: 3 }), retuned: fc.boolean() }),
  fc.record({ kind: fc.constant('endSubscription' as const), which: fc.nat({ max: 5 }), abort: fc.boolean() }),
  fc.record({ kind: fc.constant('resetGroup' as const), topic, group: fc.nat({ max: GROUPS.length }), to: fc.constantFrom('earliest' as const, 'latest' as const, 'time' as const) }),
  fc.record({ kind: fc.constant('deleteGroup' as const), topic, group }),
  fc.record({ kind: fc.constant('redrive' as const), topic }),
  fc.record({ kind: fc.constant('enforceRetention' as const) }),
  fc.record({ kind: fc.constant('describe' as const), topic, group: fc.nat({ max: GROUPS.length }) }),
  fc.record({ kind: fc.constant('advance' as const), ms: fc.constantFrom(1, 50, 300, 1_000) }),
  fc.record({ kind: fc.constant('settleHeld' as const), which: fc.nat({ max: 5 }), how: fc.constantFrom('ack' as const, 'nack' as const, 'reject' as const, 'extend' as const) }),
  fc.record({ kind: fc.constant('read' as const), topic, partition: fc.nat({ max: 1 }), byTime: fc.boolean() }),
);
/** Now and then the broker closes in the middle of it all. */
const opArbitrary: fc.Arbitrary<Op> = fc.oneof({ arbitrary: callArbitrary, weight: 40 }, { arbitrary: fc.constant({ kind: 'close' as const }), weight: 1 });
/** Each call and how many turns pass before it starts: microtasks (a number), or turns of the event loop. */
type Gap = number | { settleTurns: number };
const gapArbitrary = fc.oneof(fc.nat({ max: 3 }), fc.nat({ max: 40 }), fc.record({ settleTurns: fc.integer({ min: 1, max: 4 }) }));
const batchArbitrary = fc.array(fc.tuple(opArbitrary, gapArbitrary), { minLength: 10, maxLength: 60 });

/** Without the tail cache every read goes to the segment files, which retention and deletes remove. */
const brokerOptionsArbitrary = fc.record({
  fsync: fc.constantFrom<FsyncPolicy>('always', 'never', { intervalMs: 50 }),
  tailCache: fc.boolean(),
}).map(({ fsync, tailCache }) => ({ fsync, ...(tailCache ? {} : { logTailCacheBytes: 0 }) }));

/** The codes each kind of call may fail with in these races (anything else is a defect). */
const ALLOWED: Record<string, readonly string[]> = {
  createTopic: ['TOPIC_EXISTS'],
  deleteTopic: ['UNKNOWN_TOPIC'],
  // MESSAGE_TOO_LARGE: more records than a discard 'new' topic holds.
  produce: ['UNKNOWN_TOPIC', 'UNKNOWN_PARTITION', 'TOPIC_FULL', 'MESSAGE_TOO_LARGE'],
  produceBatch: ['UNKNOWN_TOPIC', 'UNKNOWN_PARTITION', 'TOPIC_FULL', 'OUT_OF_ORDER_SEQUENCE', 'UNKNOWN_PRODUCER_ID'],
  // INVALID_CONFIG: g1 on its own dead-letter topic, or other settings than the members'.
  subscribe: ['UNKNOWN_TOPIC', 'INVALID_CONFIG'],
  ended: ['UNKNOWN_TOPIC'],
  consume: ['UNKNOWN_TOPIC', 'INVALID_CONFIG'],
  // UNKNOWN_TOPIC: taken back by a delete of its topic (docs/semantics.md "Deleting a topic");
  // UNKNOWN_GROUP: its group deleted since (once its member left), so the record never comes again.
  ack: ['DELIVERY_STALE', 'UNKNOWN_TOPIC', 'UNKNOWN_GROUP'],
  endSubscription: [],
  resetGroup: ['UNKNOWN_TOPIC', 'UNKNOWN_GROUP', 'GROUP_NOT_EMPTY'],
  deleteGroup: ['UNKNOWN_TOPIC', 'UNKNOWN_GROUP', 'GROUP_NOT_EMPTY'],
  redrive: ['UNKNOWN_TOPIC'],
  enforceRetention: [],
  close: [],
  settleHeld: ['DELIVERY_STALE', 'UNKNOWN_TOPIC', 'UNKNOWN_GROUP'],
  read: ['UNKNOWN_TOPIC', 'UNKNOWN_PARTITION', 'OFFSET_OUT_OF_RANGE'],
  describe: ['UNKNOWN_TOPIC', 'UNKNOWN_GROUP'],
};

interface Call { label: string; kind: string; settled: boolean; failure?: unknown }

/** The topics the batch starts on, with records, and groups left without members that a reset or a delete may act on. */
async function prepare(world: EngineFixture) {
  const { broker } = world;
  await broker.createTopic('ar-a', { partitions: 2 });
  await broker.createTopic('ar-b', SMALL_TOPIC);
  for (const name of ['ar-a', 'ar-b']) await broker.produce(name, [0, 1, 2].map((i) => ({ value: `old${i}`.padEnd(RECORD_BYTES, '.') })));
  for (const [name, groupName] of [['ar-a', 'g1'], ['ar-b', 'g2']] as const) {
    const left = await broker.subscribe({ topic: name, group: groupName, ...GROUP_SETTINGS[groupName] }, () => undefined);
    await world.settle(() => broker.describeGroup(name, groupName).lag === 0n);
    await left.close();
  }
}

/** What the calls of a batch share: every call started, the subscriptions made, the deliveries held. */
interface BatchState {
  readonly calls: Call[];
  readonly subscriptions: Subscription[];
  /** Each subscription's `ended`, as a call. */
  readonly ends: Map<Subscription, Call>;
  readonly held: Delivery[];
  /** The next sequence number of the idempotent producer, per topic/partition. */
  readonly sequences: Map<string, number>;
}

function track(state: BatchState, kind: string, label: string, promise: Promise<unknown>): Call {
  const call: Call = { kind, label, settled: false };
  state.calls.push(call);
  promise.then(() => (call.settled = true), (error: unknown) => Object.assign(call, { settled: true, failure: error }));
  return call;
}

function handlerFor(state: BatchState, handling: Handling) {
  return (delivery: Delivery) => {
    if (handling === 'ack') return void track(state, 'ack', 'ack', delivery.ack());
    if (handling === 'nack') return void track(state, 'ack', 'nack', delivery.nack());
    if (handling === 'throw') throw new Error('handler failed (test)');
    state.held.push(delivery);
    return new Promise<void>(() => undefined);
  };
}

/** Runs one batch against `world`, returning every call started (settled or not by now). */
async function runBatch(world: EngineFixture, batch: readonly (readonly [Op, Gap])[]) {
  await prepare(world);
  const producer = await world.broker.initProducer();
  const state: BatchState = { calls: [], subscriptions: [], ends: new Map(), held: [], sequences: new Map() };
  const start = starters(world.broker, producer, state);
  for (const [op, gap] of batch) {
    if (typeof gap === 'number') for (let turn = 0; turn < gap; turn++) await Promise.resolve();
    else await world.settle(undefined, gap.settleTurns);
    // Time moves between the calls' turns, the calls under way running on (one driver of the clock).
    if (op.kind === 'advance') {
      await world.clock.advanceAsync(op.ms);
      continue;
    }
    let promise: Promise<unknown>;
    try {
      promise = Promise.resolve((start[op.kind] as (o: Op) => Promise<unknown> | void)(op));
    } catch (error) {
      promise = Promise.reject(error);
    }
    track(state, op.kind, JSON.stringify(op), promise);
  }
  return state;
}

/** How each kind of call starts (the clock's advance aside, which the batch's driver does). */
function starters(broker: Broker, producer: ProducerIdentity, state: BatchState) {
  const { subscriptions, held, sequences } = state;
  const start: { [K in Exclude<Op['kind'], 'advance'>]: (op: Extract<Op, { kind: K }>) => Promise<unknown> | void } = {
    createTopic: (op) => broker.createTopic(TOPICS[op.topic]!, { partitions: op.partitions, ...(op.retention === 'none' ? {} : { ...SMALL_TOPIC, retention: { ...SMALL_TOPIC.retention, discard: op.retention } }) }),
    deleteTopic: (op) => broker.deleteTopic(TOPICS[op.topic]!),
    produce: (op) => broker.produce(TOPICS[op.topic]!, Array.from({ length: op.count }, (_, i) => ({ value: `v${i}`.padEnd(RECORD_BYTES, '.'), partition: op.partition }))),
    produceBatch: (op) => {
      const stream = `${op.topic}/${op.partition}`;
      const baseSequence = sequences.get(stream) ?? 0;
      sequences.set(stream, baseSequence + 1);
      const batch = encodeBatch([{ key: null, value: new TextEncoder().encode('idem'), timestamp: 0 }], { ...producer, baseSequence });
      return broker.produceBatch({ topic: TOPICS[op.topic]!, partition: op.partition, batch });
    },
    subscribe: (op) => {
      // Past the group names: a tail reader, without a group.
      const name = GROUPS[op.group];
      const options = name === undefined ? {} : { group: name, ...settingsOf(name, op.retuned) };
      return broker.subscribe({ topic: TOPICS[op.topic]!, ...options }, handlerFor(state, op.handling)).then((subscription) => {
        subscriptions.push(subscription);
        state.ends.set(subscription, track(state, 'ended', 'ended', subscription.ended));
      });
    },
    consume: (op) => {
      const name = GROUPS[op.group]!;
      const stream = broker.consume({ topic: TOPICS[op.topic]!, group: name, ...settingsOf(name, op.retuned) });
      subscriptions.push(stream);
      // A stream's `ended` rejects with its join's refusal too.
      state.ends.set(stream, track(state, 'consume', 'ended of consume()', stream.ended));
      return (async () => {
        let taken = 0;
        for await (const delivery of stream) {
          track(state, 'ack', 'ack', delivery.ack());
          if (++taken === op.take) break;
        }
      })();
    },
    endSubscription: (op) => {
      const subscription = subscriptions[op.which];
      if (subscription === undefined) return;
      if (!op.abort) return subscription.close();
      subscription.abort();
    },
    // Past the group names: the dead-letter topic's redrive group, which a reset makes if need be.
    resetGroup: (op) => broker.resetGroup(TOPICS[op.topic]!, GROUPS[op.group] ?? REDRIVE_GROUP, op.to === 'time' ? { timestamp: 0 } : op.to),
    deleteGroup: (op) => broker.deleteGroup(TOPICS[op.topic]!, GROUPS[op.group]!),
    redrive: (op) => broker.redrive(TOPICS[op.topic]!),
    enforceRetention: () => broker.enforceRetention(),
    close: () => broker.close(),
    settleHeld: (op) => {
      const delivery = held[op.which];
      if (delivery === undefined) return;
      if (op.how === 'extend') return delivery.extend();
      return op.how === 'reject' ? delivery.reject('test') : delivery[op.how]();
    },
    read: (op) => {
      const name = TOPICS[op.topic]!;
      return op.byTime ? broker.offsetForTimestamp(name, op.partition, 0) : broker.fetch({ topic: name, partition: op.partition, offset: 0n });
    },
    describe: (op) => {
      broker.listGroups();
      broker.listTopics();
      if (op.group === 0) checkTopicDescription(broker.describeTopic(TOPICS[op.topic]!));
      else checkGroupDescription(broker.describeGroup(TOPICS[op.topic]!, GROUPS[op.group - 1]!));
    },
  };
  return start;
}

/** Lets the calls run on, time moving a lease or backoff at a time, until all settled (bounded). */
async function settleAll(world: EngineFixture, calls: readonly Call[]) {
  for (let round = 0; round < 40 && calls.some((c) => !c.settled); round++) {
    await world.settle(undefined, 50);
    await world.advance(100);
  }
  await world.settle(undefined, 50);
}

/**
 * The members of subscriptions still running (their `ended` not settled) that describeGroup does
 * not show, and readers of topics not listed: a member of a group the broker dropped (its topic or itself deleted) gets nothing
 * again, and its subscription would never learn it.
 */
function unseenMembers(broker: Broker, state: BatchState): string[] {
  return state.subscriptions.flatMap((subscription) => {
    const { topic: name, group: groupName, memberId } = subscription;
    if (state.ends.get(subscription)!.settled || memberId === undefined) return [];
    // A tail reader: its topic is there (a delete ends it).
    if (groupName === undefined) return broker.listTopics().includes(name) ? [] : [`${name} reader ${memberId}: running, but its topic is not listed`];
    const listed = broker.listGroups().some((g) => g.topic === name && g.group === groupName);
    if (listed && broker.describeGroup(name, groupName).members.some((m) => m.id === memberId)) return [];
    return [`${name}/${groupName} member ${memberId}: running, but ${listed ? 'not a member' : 'its group is not listed'}`];
  });
}

/** The calls that did not settle, or failed with a code their kind may not fail with (any kind: CLOSED once the broker was closed). */
function unexpected(calls: readonly Call[], closed: boolean): string[] {
  return calls.flatMap((call) => {
    if (!call.settled) return [`${call.label}: never settled`];
    if (call.failure === undefined) return [];
    const allowed = [...ALLOWED[call.kind]!, ...(closed ? ['CLOSED'] : [])];
    if (isBrookError(call.failure) && allowed.includes(call.failure.code)) return [];
    const error = call.failure as Error;
    return [`${call.label}: ${isBrookError(error) ? error.code : error.name} ${error.message}\n${error.stack ?? ''}`];
  });
}

/** The broker works after the races: describes, a fresh topic, every group consumes, close, reopen. */
async function checkConsistent(world: EngineFixture, fs: MemoryFileSystem, openCount: () => number) {
  const { broker } = world;
  const topics = broker.listTopics().sort();
  const groups = broker.listGroups().map((g) => `${g.topic}/${g.group}`).sort();
  for (const name of topics) checkTopicDescription(broker.describeTopic(name));
  for (const g of broker.listGroups()) {
    // Every subscription was closed: no group of a topic gone, no member left behind, nothing in flight.
    expect(topics).toContain(g.topic);
    const description = broker.describeGroup(g.topic, g.group);
    checkGroupDescription(description);
    expect([g, description.members, description.partitions.flatMap((p) => p.inFlight)]).toEqual([g, [], []]);
  }
  await broker.createTopic('ar-fresh');
  await broker.produce('ar-fresh', [{ value: 'fresh' }]);
  expect((await broker.fetch({ topic: 'ar-fresh', partition: 0, offset: 0n })).length).toBe(1);
  for (const { topic: name, group: groupName } of broker.listGroups()) {
    // The redrive's progress group is the broker's own: nobody subscribes to it.
    if (name === 'ar-fresh' || groupName === REDRIVE_GROUP) continue;
    await consumesItsTopic(world, name, groupName);
  }
  expect(broker.failedLogs()).toEqual([]);
  const before = durableState(broker);
  await broker.close();
  expect(openCount()).toBe(0);
  const reopened = await reopen(world, fs);
  expect(reopened.listTopics().filter((t) => t !== 'ar-fresh').sort()).toEqual(topics);
  expect(reopened.listGroups().filter((g) => g.topic !== 'ar-fresh').map((g) => `${g.topic}/${g.group}`).sort()).toEqual(groups);
  expect(durableState(reopened)).toEqual(before);
  await reopened.close();
}

/**
 * The group, reset to the earliest record, gets every record its topic holds and one produced
 * now, and is left with no lag: no state of the races (a backoff, a lease, a member) holds it back.
 */
async function consumesItsTopic(world: EngineFixture, name: string, groupName: string) {
  const { broker } = world;
  await broker.resetGroup(name, groupName, 'earliest');
  const seen = new Set<string>();
  const subscription = await broker.subscribe({ topic: name, group: groupName, ...GROUP_SETTINGS[groupName as 'g1'] }, (d) => void seen.add(`${d.partition}/${d.offset}`));
  await eventually(world, () => broker.describeGroup(name, groupName).lag === 0n);
  // Once the group has caught up: a discard 'new' topic may have been full of what it had not acked.
  const markerOffset = (await broker.produce(name, [{ value: 'marker', partition: 0 }]))[0]!.offset;
  await eventually(world, () => seen.has(`0/${markerOffset}`) && broker.describeGroup(name, groupName).lag === 0n);
  await subscription.close();
  // Retention may have moved a partition's start meanwhile: what it still holds was delivered.
  const missing = broker.describeTopic(name).partitions.flatMap(({ partition, startOffset, endOffset }) => {
    const offsets = Array.from({ length: Number(endOffset - startOffset) }, (_, i) => `${partition}/${startOffset + BigInt(i)}`);
    return offsets.filter((key) => !seen.has(key));
  });
  expect(missing).toEqual([]);
}

/** A broker on the world's file system and clock after a clean close: it must open clean. */
async function reopen(world: EngineFixture, fs: MemoryFileSystem): Promise<Broker> {
  const reopened = await Broker.open({ storage: 'memory', fs, clock: world.clock, retentionCheckIntervalMs: RETENTION_CHECK_INTERVAL_MS, fsync: world.broker.fsync });
  expect(reopened.openedClean).toBe(true);
  return reopened;
}


const unhandled = collectUnhandledRejections();

describe('admin calls racing the data path (property)', () => {
  it('every call settles with success or a fitting BrookError, and the broker stays consistent and reopens clean', async () => {
    await fc.assert(
      fc.asyncProperty(batchArbitrary, fc.nat(), fc.constantFrom(0, 3, 12, 40), brokerOptionsArbitrary, async (batch, fsSeed, fsTurnsMax, options) => {
        unhandled.length = 0;
        const { fs, openCount } = trackOpenHandles(jitteredFs(new MemoryFileSystem(), fsSeed, fsTurnsMax));
        const world = await engineFixture({ fs, retentionCheckIntervalMs: RETENTION_CHECK_INTERVAL_MS, ...options });
        const closed = batch.some(([op]) => op.kind === 'close');
        const state = await runBatch(world, batch);
        const { calls } = state;
        await settleAll(world, calls);
        if (!closed) expect(unseenMembers(world.broker, state)).toEqual([]);
        // Every subscription ends (a graceful close waits out the leases of what it holds).
        for (const subscription of state.subscriptions) track(state, 'endSubscription', 'close() after the batch', subscription.close());
        await settleAll(world, calls);
        expect(unexpected(calls, closed)).toEqual([]);
        if (closed) {
          expect(openCount()).toBe(0);
          world.broker = await reopen(world, fs);
        }
        await checkConsistent(world, fs, openCount);
        await new Promise((resolve) => setImmediate(resolve));
        expect(unhandled).toEqual([]);
      }),
      { numRuns: NUM_RUNS, timeout: RUN_HANG_MS, ...(process.env['FC_SEED'] ? { seed: Number(process.env['FC_SEED']), path: process.env['FC_PATH'] } : {}) },
    );
  }, 30_000 + NUM_RUNS * 30);
});
