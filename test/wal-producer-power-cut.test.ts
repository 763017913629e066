/**
 * A power cut at every crash point of a WAL producer's life: every mutating file-system
 * operation of the WAL and of the state file (writes, fsyncs, the state file's tmp write, fsync,
 * rename and directory fsync, segment creation and deletion). A clean run counts them; then for
 * every n the producer process dies with the machine just before operation n, under three fates
 * of the unsynced data, its connection dropping with it; a new process reopens the directory,
 * delivers what the WAL still holds and a few more records. The broker (which does not crash
 * here) must then hold, per partition, strictly increasing numbers (no duplicate, no reordering)
 * including every number whose send() resolved.
 */
import { describe, expect, it } from 'vitest';
import { keepAllPending, tearLastWrite, type KeepPolicy } from '@brook/protocol';
import type { WalProducer } from '@brook/client';
import { WalProducerHost, numbered } from '@brook/examples';

const FATES: Record<string, KeepPolicy | undefined> = { 'nothing kept': undefined, 'everything kept': keepAllPending, 'last write torn': tearLastWrite(5) };
const key = (n: number): string => `k${n % 4}`;

type Step = (producer: WalProducer, acked: Set<number>) => Promise<void>;
const send = (from: number, count: number): Step => async (producer, acked) => {
  await producer.send('orders', numbered(from, count, key));
  for (let n = from; n < from + count; n++) acked.add(n);
};
const flush: Step = (producer) => producer.flush();
const SCENARIO: Step[] = [send(1, 4), flush, send(5, 3), send(8, 5), flush, send(13, 2), flush, send(15, 2)];
const LAST = 16;

/** Runs the scenario, power cut before operation `at`; returns how many operations the run made. */
async function runWithCut(at: number, keep: KeepPolicy | undefined): Promise<{ ops: number; acked: Set<number>; contents: number[][]; duplicates: number }> {
  const host = await WalProducerHost.create({ orders: 2 });
  const acked = new Set<number>();
  const first = await host.start({ maxRecords: 3 });
  let ops = 0;
  let cut!: () => void;
  const crashed = new Promise<void>((resolve) => (cut = resolve));
  host.fs.onOperation = () => {
    if (ops++ !== at) return;
    host.fs.onOperation = undefined;
    first.crash({ keep });
    cut();
  };
  const run = async (): Promise<void> => {
    for (const step of SCENARIO) await step(first.producer, acked);
    await first.producer.close();
  };
  // After the cut the dead process's promises may reject or never settle; only a clean run must finish.
  await Promise.race([run().catch((error: unknown) => (ops > at ? undefined : Promise.reject(error))), crashed]);
  host.fs.onOperation = undefined;
  const second = await host.start({ maxRecords: 3 });
  await send(LAST + 1, 2)(second.producer, acked);
  await second.producer.flush();
  await second.producer.close();
  return { ops, acked, contents: await host.contents('orders'), duplicates: second.producer.stats.duplicateParts };
}

/**
 * The process is killed before operation `at` (the operation fails: it died there), a second one
 * reopens the directory and puts two more records, then the power goes, taking what was not
 * synced; a third delivers everything. What the dead one left half done (a state file renamed
 * whose directory fsync never came, above all) must not make the second's acknowledged records
 * vanish at the broker: resent under sequences the broker already had, they would be dropped.
 */
async function runWithKillThenPowerCut(at: number): Promise<{ ops: number; acked: Set<number>; contents: number[][] }> {
  const host = await WalProducerHost.create({ orders: 2 });
  const acked = new Set<number>();
  const first = await host.start({ maxRecords: 3 });
  let ops = 0;
  let killed = false;
  host.fs.onOperation = () => {
    if (ops++ !== at) return;
    host.fs.onOperation = undefined;
    killed = true;
    first.crash();
    throw new Error('killed');
  };
  try {
    for (const step of SCENARIO) await step(first.producer, acked);
    await first.producer.close();
  } catch (error) {
    if (!killed) throw error;
  }
  host.fs.onOperation = undefined;
  const second = await host.start({ maxRecords: 3 });
  await send(LAST + 1, 2)(second.producer, acked);
  second.crash({});
  const third = await host.start({ maxRecords: 3 });
  await third.producer.flush();
  await third.producer.close();
  return { ops, acked, contents: await host.contents('orders') };
}

describe('WAL producer killed at every crash point, then a power cut', () => {
  it('never loses a record any process acknowledged, never duplicates or reorders one', async () => {
    const clean = await runWithKillThenPowerCut(Number.POSITIVE_INFINITY);
    for (let at = 0; at < clean.ops; at++) {
      const { acked, contents } = await runWithKillThenPowerCut(at);
      const where = `killed before op ${at}`;
      for (const numbers of contents) {
        numbers.forEach((n, i) => i > 0 && expect(n, `${where}: ${n} after ${numbers[i - 1]}`).toBeGreaterThan(numbers[i - 1]!));
      }
      const present = new Set(contents.flat());
      expect([...acked].filter((n) => !present.has(n)), `${where}: acknowledged records lost`).toEqual([]);
    }
  }, 60_000);
});

describe('WAL producer power cut at every crash point', () => {
  it('never loses an acknowledged record, never duplicates or reorders one at the broker', async () => {
    const clean = await runWithCut(Number.POSITIVE_INFINITY, undefined);
    expect(clean.contents.flat().sort((a, b) => a - b)).toEqual(Array.from({ length: LAST + 2 }, (_, i) => i + 1));
    expect(clean.ops).toBeGreaterThan(50);
    let dedupedRuns = 0;
    for (let at = 0; at < clean.ops; at++) {
      for (const [fate, keep] of Object.entries(FATES)) {
        const { acked, contents, duplicates } = await runWithCut(at, keep);
        const where = `cut before op ${at}, ${fate}`;
        for (const numbers of contents) {
          numbers.forEach((n, i) => i > 0 && expect(n, `${where}: ${n} after ${numbers[i - 1]}`).toBeGreaterThan(numbers[i - 1]!));
        }
        const present = new Set(contents.flat());
        expect([...acked].filter((n) => !present.has(n)), `${where}: acknowledged records lost`).toEqual([]);
        if (duplicates > 0) dedupedRuns += 1;
      }
    }
    // Cuts between the broker's ack and the state write: the reopened producer resent, the broker deduped.
    expect(dedupedRuns).toBeGreaterThan(0);
  }, 60_000);
});
