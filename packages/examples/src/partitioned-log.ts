/**
 * Demo 5: a partitioned log. Five users' clicks go to a topic of three partitions: the key picks
 * the partition, each partition numbers its records from offset 0, and a user's clicks stay in
 * order inside their partition, while partitions interleave freely. Two readers in a 'partition'
 * group each own whole partitions. It ends with `brook dump` of each partition: the segment file
 * with its batches, offsets, timestamps and CRCs, read from the broker's (in-memory) disk.
 */
import { dumpFiles, formatInspected, inspectIndex, inspectLog } from '@brook/broker';
import { defaultCheckers, perPartitionOrder, type ConsumerSpec, type SimulationResult } from '@brook/broker/testing';
import { eventsOf, type Demo, type DemoRun } from './harness.js';

const USERS = ['user1', 'user2', 'user3', 'user4', 'user5'];
const ROUNDS = 3;
const PARTITIONS = 3;

function reader(name: string): ConsumerSpec {
  return {
    name,
    subscribe: { topic: 'clicks', group: 'sessions', ordering: 'partition', maxInFlight: 5 },
    handler: async (delivery, ctx) => {
      await ctx.sleep(10);
      ctx.effect('session', delivery.text()!);
    },
  };
}

/** `brook dump` of each partition directory, from the simulated disk. */
async function dumpPartitions(demo: DemoRun, result: SimulationResult): Promise<void> {
  const { fs, broker } = result.world;
  for (let partition = 0; partition < PARTITIONS; partition++) {
    const dir = `${broker.dataDir}/topics/clicks/${partition}`;
    demo.write('');
    demo.write(`$ brook dump ${dir} --records`);
    for (const file of await dumpFiles(fs, dir)) {
      const inspected = file.endsWith('.log') ? await inspectLog(fs, file, { records: true }) : await inspectIndex(fs, file);
      for (const line of formatInspected(inspected).trimEnd().split('\n')) demo.write(line);
    }
  }
}

export const partitionedLogDemo: Demo = {
  name: 'partitioned-log',
  title: 'A partitioned log: keys, partitions, offsets, per-partition order',
  section: 'Partitioned logs',
  async run(demo) {
    const result = await demo.variant('5 users, 3 partitions, 2 readers', [
      `Each of ${USERS.length} users clicks ${ROUNDS} times. The key (the user) decides the partition; each partition`,
      "gives its records offsets 0, 1, 2, ... Ordering 'partition' gives each reader whole partitions.",
    ].join('\n'), {
      topics: { clicks: { partitions: PARTITIONS } },
      produce: Array.from({ length: ROUNDS * USERS.length }, (_, i) => {
        const user = USERS[i % USERS.length]!;
        return { topic: 'clicks', records: [{ key: user, value: `${user}-click-${Math.floor(i / USERS.length) + 1}` }], atMs: i * 10 };
      }),
      consumers: [reader('reader-1'), reader('reader-2')],
      checkers: [...defaultCheckers(), perPartitionOrder()],
    });
    const placed = eventsOf(result, 'produced').flatMap((e) => e.records);
    const partitionsOf = new Map(USERS.map((user) => [user, [...new Set(placed.filter((r) => r.key === user).map((r) => r.partition))]]));
    const offsetsOf = (p: number) => placed.filter((r) => r.partition === p).map((r) => r.offset);
    demo.write('');
    for (let p = 0; p < PARTITIONS; p++) {
      const users = USERS.filter((user) => partitionsOf.get(user)!.includes(p));
      demo.write(`partition ${p}: keys ${users.join(', ') || '(none)'}  offsets ${offsetsOf(p).join(' ')}`);
    }
    await dumpPartitions(demo, result);
    const oneEach = [...partitionsOf.values()].every((ps) => ps.length === 1);
    const contiguous = Array.from({ length: PARTITIONS }, (_, p) => offsetsOf(p)).every((offsets) => offsets.every((o, i) => o === i));
    const shown = oneEach && contiguous && result.ok;
    return {
      shown,
      facts: { partitionOfKey: Object.fromEntries([...partitionsOf].map(([user, ps]) => [user, ps[0]])), contiguous, ordered: result.ok },
      verdict: `every key stayed in one partition (${[...partitionsOf].map(([user, ps]) => `${user}→p${ps[0]}`).join(' ')}), `
        + 'offsets count 0, 1, 2, ... in each partition, and every partition was processed in offset order',
    };
  },
};
