/**
 * Redrive across a power cut (docs/semantics.md "Redrive", at-least-once and runs): a cut at
 * every mutating file system operation of a redrive of three runs, unsynced bytes dropped or
 * kept, then a reopen and a redrive again. A record the redrive group counts as moved is in its
 * origin partition; each run is in it whole or not at all; and in the end every record went back,
 * in order per origin partition.
 */
import { describe, expect, it } from 'vitest';
import { keepAllPending, type KeepPolicy } from '@brook/protocol';
import type { BrokerOptions } from '../broker.js';
import { cutPowerAtOperation, engineFixture, type EngineFixture } from './group-fixture.js';
import { REDRIVE_GROUP } from './redrive.js';

const TOPIC = 'rc-origin';
const DLQ = 'rc-origin.dlq';
// Three runs: four records back to partition 0, four to 1, four to 0 again.
const SENT = Array.from({ length: 12 }, (_, i) => ({ value: `v${i}`, partition: i >= 4 && i < 8 ? 1 : 0 }));

async function setUp(options: BrokerOptions): Promise<EngineFixture> {
  const world = await engineFixture(options);
  const { broker, settle } = world;
  await broker.createTopic(TOPIC, { partitions: 2 });
  const sub = await broker.subscribe({ topic: TOPIC, group: 'g-rc', deadLetterTopic: DLQ, maxInFlight: 1 }, (d) => d.reject('bad'));
  for (const record of SENT) {
    await broker.produce(TOPIC, [record]);
    await settle(() => broker.describeGroup(TOPIC, 'g-rc').lag === 0n);
  }
  await sub.close();
  // A clean close makes all of it durable whatever the policy: the cuts below are the redrive's.
  await broker.close();
  await world.restart({ powerCut: false });
  return world;
}

/** The redriven values in each origin partition (after the originals). */
async function redriven(world: EngineFixture): Promise<string[][]> {
  return Promise.all([0, 1].map(async (partition) => {
    const originals = BigInt(SENT.filter((r) => r.partition === partition).length);
    const fetched = await world.broker.fetch({ topic: TOPIC, partition, offset: originals, maxRecords: 1000 });
    return fetched.map((r) => new TextDecoder().decode(r.value!));
  }));
}

const expected = [0, 1].map((p) => SENT.filter((r) => r.partition === p).map((r) => r.value));

async function cutAt(options: BrokerOptions, atOp: number, keep: KeepPolicy | undefined): Promise<void> {
  const world = await setUp(options);
  cutPowerAtOperation(world, atOp, keep);
  await world.broker.redrive(DLQ).catch(() => undefined);
  await world.settle();
  world.fs.onOperation = undefined;
  const broker = await world.restart({ powerCut: false });
  const where = `cut at operation ${atOp}${keep ? ' keeping everything' : ''}`;
  const after = await redriven(world);
  const acked = broker.listGroups(DLQ).length > 0 ? broker.describeGroup(DLQ, REDRIVE_GROUP).partitions[0]!.ackFloor : 0n;
  // Acked in order, run by run: the first `acked` records are in their origin partitions.
  const ackedValues = SENT.slice(0, Number(acked));
  for (const [p, values] of after.entries()) {
    expect(values.slice(0, ackedValues.filter((r) => r.partition === p).length), where).toEqual(ackedValues.filter((r) => r.partition === p).map((r) => r.value));
    // Whole runs only: a prefix of the partition's records made of runs of four.
    expect(values.length % 4, where).toBe(0);
  }
  expect((await broker.redrive(DLQ)).skipped, where).toBe(0);
  const final = await redriven(world);
  for (const [p, values] of final.entries()) {
    // Moved again only from where the acks stopped: the partition's records once, after what the cut left.
    const kept = after[p]!.length;
    expect(values.slice(kept), where).toEqual(expected[p]!.slice(ackedValues.filter((r) => r.partition === p).length));
    expect(values.slice(0, kept), where).toEqual(expected[p]!.slice(0, kept));
  }
}

describe.each([['always'], ['never']] as const)('redrive after a power cut at any operation (fsync %j)', (fsync) => {
  it('keeps every acked record moved, each run whole or not at all, and moves the rest once after the reopen', async () => {
    const probe = await setUp({ fsync });
    let operations = 0;
    probe.fs.onOperation = () => void (operations += 1);
    await probe.broker.redrive(DLQ);
    probe.fs.onOperation = undefined;
    for (let atOp = 1; atOp <= operations; atOp++) {
      for (const keep of [undefined, keepAllPending]) await cutAt({ fsync }, atOp, keep);
    }
  });
});
