/**
 * @brook/examples: DDIA chapter 11 as runnable scenarios of the testing kit. `brook demo` lists
 * them (`listDemos`) and runs one (`runDemo`): a swimlane trace per run, counters, checkers and a
 * verdict line, all on a virtual clock, so the same seed prints the same story.
 */
import { BrookError } from '@brook/protocol';
import { acksDemo } from './acks.js';
import { cdcDemo } from './cdc.js';
import { dualWriteDemo } from './dual-write.js';
import { figure11_2Demo } from './figure-11-2.js';
import { groupsDemo } from './groups.js';
import { DemoRun, mark, type Demo, type DemoInfo, type DemoResult } from './harness.js';
import { holBlockingDemo } from './hol-blocking.js';
import { offsetsDemo } from './offsets.js';
import { overloadDemo } from './overload.js';
import { partitionedLogDemo } from './partitioned-log.js';
import { poisonDemo } from './poison.js';
import { producerWalDemo } from './producer-wal.js';
import { replayDemo } from './replay.js';
import { retentionDemo } from './retention.js';
import { snapshotOffsetDemo } from './snapshot-offset.js';

export type { DemoInfo, DemoResult, Verdict, VariantResult } from './harness.js';
/** Simulated producer processes (crash = process death) over an in-memory broker: the WAL producer's tests use it too. */
export { PRODUCER_WAL_DIR, WalProducerHost, mortalFileSystem, numbered, type ProducerProcess } from './wal-producer-host.js';

/** In the order of the chapter. */
const DEMOS: readonly Demo[] = [
  groupsDemo, acksDemo, figure11_2Demo, overloadDemo, partitionedLogDemo, holBlockingDemo, offsetsDemo, retentionDemo, replayDemo, poisonDemo, producerWalDemo, dualWriteDemo, cdcDemo,
  snapshotOffsetDemo,
];

export const DEFAULT_DEMO_SEED = 1;

export function listDemos(): DemoInfo[] {
  return DEMOS.map(({ name, title, section }) => ({ name, title, section }));
}

/** Runs a demo, writing its output line by line. Without a seed, the demo's default (DEFAULT_DEMO_SEED unless it names one). */
export async function runDemo(name: string, options: { seed?: number; write: (line: string) => void }): Promise<DemoResult> {
  const demo = DEMOS.find((d) => d.name === name);
  if (!demo) {
    throw new BrookError('INVALID_CONFIG', `no demo named ${JSON.stringify(name)}; demos: ${DEMOS.map((d) => d.name).join(', ')}`, { option: 'demo', name });
  }
  const { write } = options;
  const seed = options.seed ?? demo.defaultSeed ?? DEFAULT_DEMO_SEED;
  const run = new DemoRun(demo, seed, write);
  write(`${demo.title}  (DDIA ch. 11, "${demo.section}")  seed=${seed}`);
  const verdict = await demo.run(run);
  write('');
  write(`verdict: ${mark(verdict.shown)} ${verdict.verdict}`);
  return { name, seed, ...verdict, variants: run.variants };
}
