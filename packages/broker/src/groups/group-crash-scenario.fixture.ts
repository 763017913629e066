/**
 * A scripted group scenario for crash enumeration (group-journal-crash.test.ts), and what it
 * confirmed before the power went. Test-only.
 *
 * The script, on topic `TOPIC` (2 partitions, RECORDS keyed records in two segments), group `GROUP`
 * (maxDeliveries 2) with one parking member holding everything, and an idle group `IDLE_GROUP`:
 *   era 0: settle each delivery in turn (ack, nack or reject); the nacked ones come back and are
 *          nacked again, so they are dead-lettered at maxDeliveries; the idle group is reconfigured;
 *   reset: resetGroup to 'earliest' (everything comes back, attempts forgotten);
 *   era 1: ack every delivery, out of offset order, one at a time (the journal compacts several
 *          times on the smallest groupJournalBytesMax), retention taking the first segment (the
 *          group skips past it), then three at a time, then deleteGroup of the idle group, and
 *          a clean close.
 * "Confirmed" means a step's promise resolved before the cut.
 */
import { isBrookError } from '@brook/protocol';
import type { Broker } from '../broker.js';
import type { World } from '../testing/world.js';
import type { Delivery } from './delivery.js';
import { parking } from './group-fixture.js';

export const TOPIC = 'jc';
export const GROUP = 'jc-g';
export const IDLE_GROUP = 'jc-idle';
export const RECORDS = 60;
export const MAX_DELIVERIES = 2;
/** The topic's segmentMsMax; its retention keeps records twice as long. */
const SEGMENT_MS = 500;
export const MEMBER = {
  topic: TOPIC, group: GROUP, maxInFlight: RECORDS, maxDeliveries: MAX_DELIVERIES,
  backoff: { initialMs: 10, maxMs: 10, multiplier: 1, jitter: 0 },
} as const;

/** `partition:offset`, the identity of a record of TOPIC. */
export type RecordKey = string;
export const keyOf = (d: { partition: number; offset: bigint }): RecordKey => `${d.partition}:${d.offset}`;

/** What the scenario did in one era (before the reset, after it). */
export class EraLog {
  /** ack() called: the record may be acked. */
  readonly ackCalled = new Set<RecordKey>();
  /** ack() resolved: the record is acked. */
  readonly acked = new Set<RecordKey>();
  /** reject() or nack() called: the record may be in the dead-letter topic (once at maxDeliveries). */
  readonly deadLettering = new Set<RecordKey>();
  /** The highest deliveryCount the member saw. */
  readonly seenCount = new Map<RecordKey, number>();

  saw(d: Delivery): void {
    this.seenCount.set(keyOf(d), Math.max(this.seenCount.get(keyOf(d)) ?? 0, d.deliveryCount));
  }
}

export type StepState = 'not started' | 'started' | 'resolved';

/** The scenario's trace: every confirmation it got before the cut. */
export class ScenarioTrace {
  readonly eras = [new EraLog(), new EraLog()] as const;
  /** The records of TOPIC, once their produce resolved. */
  readonly produced: RecordKey[] = [];
  /** Set once the group and its member exist (the crash checks need them to). */
  groupMade = false;
  idleGroupMade = false;
  reconfigure: StepState = 'not started';
  reset: StepState = 'not started';
  deleteIdle: StepState = 'not started';
  /**
   * The acks confirmed before virtual time moved on by SEGMENT_MS + 100 in era 1 (the reset came
   * before them): under fsync { intervalMs } below that, they are as durable as under 'always'.
   */
  ackedBeforeIntervals: ReadonlySet<RecordKey> | undefined;

  get era(): EraLog {
    return this.eras[this.reset === 'not started' ? 0 : 1];
  }
}

/**
 * Runs the script until it ends or `dead()` says the power went (a step then fails or never
 * resolves: the script stops at the first one that does not succeed, and records nothing more).
 * A step still under way when `died` settles is given up on: one that waits for virtual time (a
 * graceful close() waiting out the leases of deliveries whose acks the dead journal refused)
 * would otherwise hang the script, since nothing moves the clock while it waits.
 */
export async function runScenario(world: World, trace: ScenarioTrace, dead: () => boolean, died: Promise<void> = new Promise(() => undefined)): Promise<void> {
  const { broker } = world;
  const givenUp = died.then(() => Promise.reject(new Error('the power went')));
  givenUp.catch(() => undefined); // raced by each step; unobserved until one is under way at the cut
  const step = async <T>(promise: Promise<T>): Promise<T> => {
    promise.catch(() => undefined); // a step given up on may still fail later, in the dead broker
    const value = await Promise.race([promise, givenUp]);
    if (dead()) throw new Error('the power went');
    return value;
  };
  try {
    await step(broker.createTopic(TOPIC, { partitions: 2, segmentMsMax: SEGMENT_MS, retention: { maxAgeMs: 2 * SEGMENT_MS } }));
    // Two halves, a segment each: retention can take the first and leave the second.
    for (const half of [0, 1]) {
      const records = Array.from({ length: RECORDS / 2 }, (_, i) => ({ key: `k${i % 5}`, value: `m${half}-${i}` }));
      trace.produced.push(...(await step(broker.produce(TOPIC, records))).map(keyOf));
      if (half === 0) await world.advance(SEGMENT_MS + 100);
    }
    const idle = await step(broker.subscribe({ topic: TOPIC, group: IDLE_GROUP, ordering: 'none' }, () => undefined));
    await step(idle.close());
    trace.idleGroupMade = true;
    const member = parking();
    // Counted as the member gets it: the attempt must be durable by then.
    await step(broker.subscribe(MEMBER, (d) => (trace.era.saw(d), member.handler(d))));
    trace.groupMade = true;
    await eraZero(world, broker, member.held, trace, step);
    trace.reconfigure = 'started';
    const reconfigured = await step(broker.subscribe({ topic: TOPIC, group: IDLE_GROUP, ordering: 'key' }, () => undefined));
    await step(reconfigured.close());
    trace.reconfigure = 'resolved';
    trace.reset = 'started';
    const before = member.held.length;
    await step(broker.resetGroup(TOPIC, GROUP, 'earliest'));
    trace.reset = 'resolved';
    await eraOne(world, broker, member.held, before, trace, step);
    trace.deleteIdle = 'started';
    await step(broker.deleteGroup(TOPIC, IDLE_GROUP));
    trace.deleteIdle = 'resolved';
    // A clean close: the power may still go before its clean-shutdown marker is down, or after.
    await step(broker.close());
  } catch (error) {
    if (!dead()) throw error;
  }
}

type Step = <T>(promise: Promise<T>) => Promise<T>;

async function eraZero(world: World, broker: Broker, held: Delivery[], trace: ScenarioTrace, step: Step): Promise<void> {
  const era = trace.eras[0];
  await world.settle(() => held.length === RECORDS);
  const nacked: RecordKey[] = [];
  for (const [i, d] of held.entries()) {
    if (i % 6 === 0) {
      nacked.push(keyOf(d));
      // Its next attempt, journaled before the member sees it, may be its last.
      era.deadLettering.add(keyOf(d));
      await step(d.nack());
    } else if (i % 6 === 1) {
      era.deadLettering.add(keyOf(d));
      await step(d.reject('poison'));
    } else {
      await ack(d, era, step);
    }
  }
  // The nacked records come back (deliveryCount 2) and are nacked again: dead-lettered.
  await world.advance(10);
  await world.settle(() => held.length === RECORDS + nacked.length);
  for (const d of held.slice(RECORDS)) {
    await step(d.nack());
  }
  await world.settle(() => broker.describeGroup(TOPIC, GROUP).partitions.every((p) => p.inFlight.length === 0));
}

async function eraOne(world: World, broker: Broker, held: Delivery[], before: number, trace: ScenarioTrace, step: Step): Promise<void> {
  const era = trace.eras[1];
  await world.settle(() => held.length === before + RECORDS);
  const replayed = held.slice(before);
  // Odd positions first, one at a time (a flush each: the journal compacts), so acks land above
  // the floor before it moves; then even ones three at a time, so that a flush holds several (a
  // batch of records of both partitions, torn as one).
  const odd = replayed.filter((_, i) => i % 2 === 1);
  const even = replayed.filter((_, i) => i % 2 === 0);
  // Each ack is made as the one before it is being written: a flush each, and always one in
  // flight while a compaction takes its snapshot and switches generations.
  let previous: Promise<void> = Promise.resolve();
  for (const d of odd) {
    const current = ack(d, era, step);
    current.catch(() => undefined); // awaited next round; a failure must not go unhandled meanwhile
    await previous;
    previous = current;
  }
  await previous;
  // Retention takes the first half, older than 2 * SEGMENT_MS by now, and not the second: the
  // group skips the first half's unacked records (a journaled skip).
  // Not a step: the clock must have stopped moving before the reopen moves it again.
  await world.advance(SEGMENT_MS + 100);
  await step(Promise.resolve());
  trace.ackedBeforeIntervals = new Set(era.acked);
  await step(broker.enforceRetention());
  for (let i = 0; i < even.length; i += 3) await Promise.all(even.slice(i, i + 3).map((d) => ack(d, era, step)));
}

/** Acks `d`; one that retention took is stale (DELIVERY_STALE), and that is no ack. */
async function ack(d: Delivery, era: EraLog, step: Step): Promise<void> {
  era.ackCalled.add(keyOf(d));
  try {
    await step(d.ack());
  } catch (error) {
    if (isBrookError(error, 'DELIVERY_STALE')) return;
    throw error;
  }
  era.acked.add(keyOf(d));
}
