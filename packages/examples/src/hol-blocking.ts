/**
 * Demo 6: head-of-line blocking. Eighteen jobs over three partitions, four workers; job-5 takes
 * 30 seconds. In ordering 'partition' each partition has one owner, so the fourth worker idles
 * and the jobs behind job-5 in its partition wait the whole 30s. In 'none' the slow job delays
 * only itself: the other workers take the rest.
 */
import type { Ordering } from '@brook/broker';
import type { ConsumerSpec, SimulationResult } from '@brook/broker/testing';
import { deliveriesByConsumer, eventsOf, lastAt, type Demo, type DemoRun } from './harness.js';

const JOBS = 18;
const PARTITIONS = 3;
const SLOW_JOB = 'job-5';
const SLOW_MS = 30_000;
const WORKERS = ['worker-1', 'worker-2', 'worker-3', 'worker-4'];

function worker(name: string, ordering: Ordering): ConsumerSpec {
  return {
    name,
    subscribe: { topic: 'jobs', group: 'workers', ordering, maxInFlight: 1, ackTimeoutMs: 60_000 },
    handler: async (delivery, ctx) => {
      await ctx.sleep(delivery.text() === SLOW_JOB ? SLOW_MS : 100);
      ctx.effect('done', delivery.text()!);
    },
  };
}

async function jobs(demo: DemoRun, ordering: Ordering, intro: string): Promise<SimulationResult> {
  return demo.variant(`ordering '${ordering}'`, intro, {
    topics: { jobs: { partitions: PARTITIONS } },
    // Round-robin over the partitions: job-5 lands in partition 1.
    produce: [{ topic: 'jobs', records: Array.from({ length: JOBS }, (_, i) => ({ value: `job-${i + 1}`, partition: i % PARTITIONS })) }],
    consumers: WORKERS.map((name) => worker(name, ordering)),
    lagSampleEveryMs: 5_000,
    lanes: { hide: new Set(['produce', 'acked', 'processed', 'settle']) },
  });
}

function measure(result: SimulationResult) {
  const shares = deliveriesByConsumer(result);
  const slowPartition = eventsOf(result, 'produced').flatMap((e) => e.records).find((r) => r.id === 'r5')!.partition;
  const others = (partition?: number) => lastAt(result, 'effect', (e) => e.effectId !== SLOW_JOB && (partition === undefined || e.partition === partition));
  return {
    idleWorkers: WORKERS.filter((name) => !shares[name]),
    othersDoneMs: others(),
    slowPartitionDoneMs: others(slowPartition),
    // Midway through job-5, not the maximum: that is the whole backlog at the start, before anyone has worked.
    stallLag: eventsOf(result, 'lag').find((e) => e.group === 'workers' && e.t === SLOW_MS / 2)?.lag ?? null,
  };
}

export const holBlockingDemo: Demo = {
  name: 'hol-blocking',
  title: 'Head-of-line blocking: one slow record stalls its partition',
  section: 'Logs compared to traditional messaging',
  async run(demo) {
    const story = `${JOBS} jobs round-robin over ${PARTITIONS} partitions, ${WORKERS.length} workers; each job takes 100ms but ${SLOW_JOB} takes ${SLOW_MS / 1000}s.`;
    const partition = measure(await jobs(demo, 'partition', `${story}\nEach partition has one owner: one worker has nothing to do, and ${SLOW_JOB}'s partition waits behind it.`));
    const none = measure(await jobs(demo, 'none', `${story}\nAny job to any free worker: the slow job holds one worker, the others take the rest.`));
    demo.write('');
    demo.write(`'partition': idle ${partition.idleWorkers.join(', ') || 'nobody'}; jobs behind ${SLOW_JOB} done at ${partition.slowPartitionDoneMs}ms; lag at ${SLOW_MS / 2000}s ${partition.stallLag}`);
    demo.write(`'none':      idle ${none.idleWorkers.join(', ') || 'nobody'}; every other job done at ${none.othersDoneMs}ms; lag at ${SLOW_MS / 2000}s ${none.stallLag}`);
    const shown = partition.idleWorkers.length === 1 && partition.slowPartitionDoneMs >= SLOW_MS && none.othersDoneMs < SLOW_MS / 10;
    return {
      shown, facts: { partition, none },
      verdict: `'partition': ${partition.idleWorkers.length} worker idle (4 workers, 3 partitions) and the jobs behind ${SLOW_JOB} finished at `
        + `${(partition.slowPartitionDoneMs / 1000).toFixed(1)}s; 'none': everything but ${SLOW_JOB} finished by ${(none.othersDoneMs / 1000).toFixed(1)}s`,
    };
  },
};
