/**
 * The reopen after a crash of group-crash-scenario.fixture.ts, and the checks of what it finds
 * against what the scenario had confirmed (group-journal-crash.test.ts says which). Test-only.
 */
import { expect } from 'vitest';
import type { KeepPolicy } from '@brook/protocol';
import type { Broker, BrokerOptions } from '../broker.js';
import type { World } from '../testing/world.js';
import type { Delivery } from './delivery.js';
import { DEAD_LETTER_HEADERS } from './dead-letter.js';
import {
  GROUP, IDLE_GROUP, keyOf, MEMBER, TOPIC, type EraLog, type RecordKey, type ScenarioTrace,
} from './group-crash-scenario.fixture.js';

type Parking = () => { held: Delivery[]; handler: (d: Delivery) => Promise<void> };

/** What the reopened broker holds. */
export interface Recovered {
  /** Each record delivered after the reopen, with its deliveryCount. */
  delivered: Map<RecordKey, number>;
  /** The records of TOPIC with a copy in the dead-letter topic. */
  deadLettered: Set<RecordKey>;
  /** Each partition's startOffset (retention took what is below) and endOffset (the policy may have lost the topic's tail). */
  startOffsets: bigint[];
  endOffsets: bigint[];
  /** IDLE_GROUP's ordering, or undefined if the group is gone. */
  idleOrdering: string | undefined;
  /** With IDLE_GROUP gone: how many records a new group of its name got from 'earliest'. */
  idleAnew: number | undefined;
  groupExists: boolean;
}

/**
 * The power fails again at the `atOp`th mutating operation of the reopen (or right after it, if
 * it makes fewer), keeping what `keep` says of its unsynced writes: recovery must leave a disk
 * that recovers as well.
 */
export interface RecoveryCut {
  atOp: number;
  keep: KeepPolicy | undefined;
}

async function reopenCutAt(world: World, { atOp, keep }: RecoveryCut): Promise<void> {
  let seen = 0;
  let dead = false;
  const cut = () => {
    dead = true;
    world.fs.powerCut(keep ? { keep } : {});
  };
  world.fs.onOperation = () => {
    if (dead) throw new Error('the process is dead');
    if (++seen === atOp) cut();
  };
  await world.restart({ powerCut: false }).catch((error: unknown) => {
    if (!dead) throw error;
  });
  if (!dead) cut();
  await world.settle();
  world.fs.onOperation = undefined;
}

/** Reopens on the crashed disk (which must work), joins the group again and lets everything due happen. */
export async function recover(world: World, where: string, recoveryCut: RecoveryCut | undefined, parking: Parking): Promise<Recovered> {
  let broker: Broker;
  try {
    if (recoveryCut) await reopenCutAt(world, recoveryCut);
    broker = await world.restart({ powerCut: false });
  } catch (error) {
    throw new Error(`${where}: the broker does not reopen: ${String(error)}`, { cause: error });
  }
  const recovered: Recovered = {
    delivered: new Map(), deadLettered: new Set(), startOffsets: [], endOffsets: [], idleOrdering: undefined, idleAnew: undefined, groupExists: false,
  };
  if (!broker.listTopics().includes(TOPIC)) return recovered;
  const groups = broker.listGroups(TOPIC).map((g) => g.group);
  recovered.groupExists = groups.includes(GROUP);
  if (groups.includes(IDLE_GROUP)) recovered.idleOrdering = broker.describeGroup(TOPIC, IDLE_GROUP).config.ordering;
  const member = parking();
  await broker.subscribe(MEMBER, member.handler);
  if (recovered.idleOrdering === undefined) {
    // Whatever a delete or a create cut short left of it, a group of the name starts afresh.
    const anew = parking();
    await broker.subscribe({ topic: TOPIC, group: IDLE_GROUP, from: 'earliest', maxInFlight: 1000 }, anew.handler);
    await world.settle();
    recovered.idleAnew = anew.held.length;
  }
  // Records at maxDeliveries are dead-lettered without a delivery; the rest come out at once.
  await world.settle();
  await world.advance(100);
  await world.settle();
  for (const d of member.held) recovered.delivered.set(keyOf(d), d.deliveryCount);
  const dlq = `${TOPIC}.dlq`;
  if (broker.listTopics().includes(dlq)) {
    for (const [partition] of broker.describeTopic(dlq).partitions.entries()) {
      for (const record of await broker.fetch({ topic: dlq, partition, offset: 0n })) {
        const header = (name: string) => new TextDecoder().decode(record.headers.find((h) => h.key === name)!.value!);
        recovered.deadLettered.add(`${header(DEAD_LETTER_HEADERS.partition)}:${header(DEAD_LETTER_HEADERS.offset)}`);
      }
    }
  }
  recovered.startOffsets = broker.describeTopic(TOPIC).partitions.map((p) => p.startOffset);
  recovered.endOffsets = broker.describeTopic(TOPIC).partitions.map((p) => p.endOffset);
  await broker.close();
  return recovered;
}

/**
 * Checks `recovered` against `trace`. Under fsync 'always' everything confirmed is durable; under
 * { intervalMs }, what was confirmed intervals before the cut; under any policy, nothing unacked
 * is skipped.
 */
export function checkRecovered(trace: ScenarioTrace, recovered: Recovered, { fsync, where }: { fsync: BrokerOptions['fsync']; where: string }): void {
  const strict = fsync === 'always';
  const [zero, one] = trace.eras;
  // The reset is certain under 'always' once resolved; before it starts, it cannot have happened.
  const eras: EraLog[] = trace.reset === 'not started' ? [zero] : strict && trace.reset === 'resolved' ? [one] : [zero, one];
  const any = (pick: (era: EraLog) => Set<RecordKey>) => (key: RecordKey) => eras.some((era) => pick(era).has(key));
  const mayBeAcked = any((era) => era.ackCalled);
  const mayBeDeadLettered = any((era) => era.deadLettering);
  for (const key of trace.produced) {
    const [partition, offset] = key.split(':');
    const held = (offsets: bigint[]) => offsets[Number(partition)] ?? 0n;
    if (BigInt(offset!) < held(recovered.startOffsets)) continue; // retention took it
    if (!strict && BigInt(offset!) >= held(recovered.endOffsets)) continue; // the topic lost it
    if (recovered.delivered.has(key) || mayBeAcked(key)) continue;
    // The dead-letter copy is fsynced before the journal's ack of it, under every policy.
    expect(mayBeDeadLettered(key) && recovered.deadLettered.has(key), `${where}: ${key} was never acked, yet neither delivered again nor dead-lettered`).toBe(true);
  }
  // Metadata (config.json, state.json, deleteGroup's commit) is durable under every policy.
  if (trace.groupMade) expect(recovered.groupExists, `${where}: the group is gone`).toBe(true);
  checkIdleGroup(trace, recovered, where);
  if (typeof fsync === 'object' && trace.ackedBeforeIntervals) {
    for (const key of recovered.delivered.keys()) {
      expect(trace.ackedBeforeIntervals.has(key), `${where}: ${key} was acked intervals before the cut, yet delivered again`).toBe(false);
    }
  }
  if (!strict) return;
  if (eras.length === 1) {
    const [era] = eras;
    for (const [key, count] of recovered.delivered) {
      expect(era!.acked.has(key), `${where}: ${key} was acked (confirmed), yet delivered again`).toBe(false);
      expect(count, `${where}: ${key} came back with deliveryCount ${count}, it had been delivered with ${era!.seenCount.get(key)}`)
        .toBeGreaterThan(era!.seenCount.get(key) ?? 0);
    }
  }
}

function checkIdleGroup(trace: ScenarioTrace, recovered: Recovered, where: string): void {
  const inTopic = recovered.endOffsets.reduce((sum, end, p) => sum + Number(end - recovered.startOffsets[p]!), 0);
  if (recovered.idleAnew !== undefined) expect(recovered.idleAnew, `${where}: a group made anew did not start afresh`).toBe(inTopic);
  if (trace.deleteIdle === 'resolved') {
    expect(recovered.idleOrdering, `${where}: a deleted group came back`).toBeUndefined();
    return;
  }
  if (!trace.idleGroupMade || trace.deleteIdle === 'started') return;
  expect(recovered.idleOrdering, `${where}: the idle group is gone`).toBeDefined();
  if (trace.reconfigure === 'resolved') expect(recovered.idleOrdering, `${where}: the reconfigure was lost`).toBe('key');
  if (trace.reconfigure === 'not started') expect(recovered.idleOrdering, `${where}: a reconfigure that never started`).toBe('none');
}
