/**
 * Crash consistency of group state: a power cut at every mutating file system operation of a
 * scripted group scenario (group-crash-scenario.fixture.ts: acks, nacks, redeliveries, dead
 * letters, a reset, compactions on the smallest groupJournalBytesMax, retention overtaking the
 * group, a group reconfigured and one deleted, a clean close), unsynced bytes dropped, kept or
 * torn, sometimes a second cut during the reopen, then a reopen that must succeed and keep
 * what the fsync policy promises (semantics.md "Durability of group state"):
 *
 * - any policy: the broker reopens (a torn journal tail is recovered, never CORRUPT_*); a record
 *   never acked that retention did not take is delivered again or, if it was being dead-lettered,
 *   is in the dead-letter topic (under 'always'; see group-crash-checks.fixture.ts): no ackFloor
 *   moves past an unacked record; the group and its settings, written atomically, are there, and
 *   a deleted group stays deleted (a group of its name starts afresh);
 * - fsync 'always': every ack, reset, reconfigure and deleteGroup that resolved survives; a
 *   record comes back with a deliveryCount above every one it was delivered with;
 * - fsync { intervalMs }: the acks confirmed before virtual time moved on by more than intervalMs
 *   survive.
 *
 * And a write to group state refused for want of space (ENOSPC) at any point of the same scenario,
 * then a graceful close and a reopen: the refused flush's changes are written by a later one.
 *
 * The default run tries, with one kind of keep each, every other operation on group state under
 * 'always' and every few others; BROOK_PROPERTY_RUNS (any value) tries every point with every
 * kind of keep, and every refusal point (the default run every third).
 */
import { describe, expect, it } from 'vitest';
import { keepAllPending, keepRandomPending, SeededRandom, tearLastWrite, type KeepPolicy } from '@brook/protocol';
import type { BrokerOptions } from '../broker.js';
import { cutPowerAtOperation, engineFixture, parking } from './group-fixture.js';
import { checkRecovered, recover } from './group-crash-checks.fixture.js';
import { runScenario, ScenarioTrace } from './group-crash-scenario.fixture.js';

const SOAK = process.env['BROOK_PROPERTY_RUNS'] !== undefined;

const brokerOptions = (fsync: BrokerOptions['fsync']): BrokerOptions => ({ fsync, groupJournalBytesMax: 4096 });

const KEEPS = ['nothing', 'all but a torn last write', 'a random prefix', 'everything'] as const;

/** What survives of unsynced writes: `kind` indexes KEEPS, `seed` varies the torn bytes and prefixes. */
function keepPolicy(kind: number, seed: number): KeepPolicy | undefined {
  switch (kind % KEEPS.length) {
    case 0: return undefined;
    case 1: return tearLastWrite(1 + (seed * 7919) % 200);
    case 2: return keepRandomPending(new SeededRandom(seed), 300);
    default: return keepAllPending;
  }
}

/** The paths of the scenario's mutating operations when nothing cuts it. */
async function operationsOf(options: BrokerOptions): Promise<string[]> {
  const world = await engineFixture(options);
  const paths: string[] = [];
  world.fs.onOperation = (op) => void paths.push(op.path);
  const trace = new ScenarioTrace();
  await runScenario(world, trace, () => false);
  world.fs.onOperation = undefined;
  expect(trace.deleteIdle, 'the uncut scenario runs to its end').toBe('resolved');
  return paths;
}

/**
 * The default run's cut points (1-based): every `stride`th operation, and every `groupStride`th
 * of those on group state or the dead-letter topic (a flush's window is its write and its fsync).
 */
function cutPoints(paths: readonly string[], groupStride: number | undefined, stride: number): number[] {
  let groupOps = 0;
  return paths.flatMap((path, i) => {
    const onGroupState = groupStride !== undefined && /\/groups\/|\.dlq\//.test(path) && groupOps++ % groupStride === 0;
    return SOAK || onGroupState || i % stride === 0 ? [i + 1] : [];
  });
}

/** A cut at the `atOp`th operation keeping `keep`; every third point also cuts the reopen once. */
async function cutAt(options: BrokerOptions, atOp: number, keep: number): Promise<void> {
  const world = await engineFixture(options);
  let cut = () => undefined as void;
  const died = new Promise<void>((resolve) => (cut = resolve));
  const dead = cutPowerAtOperation(world, atOp, keepPolicy(keep, atOp), () => cut());
  const trace = new ScenarioTrace();
  await runScenario(world, trace, dead, died);
  await world.settle(); // the dead broker's remaining work fails
  world.fs.onOperation = undefined;
  const recoveryCut = atOp % 3 === 0 ? { atOp: 1 + (atOp % 31), keep: keepPolicy(keep + 1, atOp) } : undefined;
  const where = `cut at operation ${atOp} keeping ${KEEPS[keep % KEEPS.length]}${recoveryCut ? `, and at operation ${recoveryCut.atOp} of the reopen` : ''}`;
  checkRecovered(trace, await recover(world, where, recoveryCut, parking), { fsync: options.fsync, where });
}

describe.each([
  ['always', 2, 9],
  [{ intervalMs: 50 }, undefined, 7],
  ['never', undefined, 17],
] as const)('group state after a power cut at any operation (fsync %j)', (fsync, groupStride, stride) => {
  it('reopens, keeps what was confirmed and skips nothing unacked', async () => {
    const options = brokerOptions(fsync);
    for (const atOp of cutPoints(await operationsOf(options), groupStride, stride)) {
      // The soak tries every kind of keep at every point; the default run one, varied with the point.
      for (const keep of SOAK ? KEEPS.keys() : [atOp]) await cutAt(options, atOp, keep);
    }
  }, SOAK ? 900_000 : 60_000);
});

/**
 * A write to group state refused for want of space (ENOSPC) at the `atWrite`th such write, the
 * disk having room again for every later one. The script stops at its first step that fails (the
 * refused flush's), the broker closes gracefully and opens again. The journal keeps a refused
 * flush's changes for the next one (group-journal.ts), so after that close even an ack whose own
 * flush was refused is on disk: none of the era's acked-or-acking records comes back.
 */
async function refuseAt(atWrite: number): Promise<boolean> {
  const world = await engineFixture(brokerOptions('always'));
  let writes = 0;
  let refused = false;
  world.fs.onOperation = (op) => {
    if ((op.kind === 'write' || op.kind === 'writeFile') && /\/groups\//.test(op.path) && ++writes === atWrite) {
      refused = true;
      world.fs.failNext(op.kind, { path: op.path, errno: 'ENOSPC' });
    }
  };
  const trace = new ScenarioTrace();
  await runScenario(world, trace, () => refused);
  world.fs.onOperation = undefined;
  if (!refused) return false;
  const where = `a write refused (ENOSPC) at write ${atWrite} to group state`;
  await world.settle();
  await world.broker.close().catch((error: unknown) => {
    throw new Error(`${where}: the close after it fails: ${String(error)}`, { cause: error });
  });
  const recovered = await recover(world, where, undefined, parking);
  checkRecovered(trace, recovered, { fsync: 'always', where });
  if (trace.reset === 'started') return true; // either era's acks may be the ones kept
  for (const key of recovered.delivered.keys()) {
    expect(trace.era.ackCalled.has(key), `${where}: ${key} was acked (its flush refused, the close after it written), yet delivered again`).toBe(false);
  }
  return true;
}

describe('group state after a write refused for want of space (fsync always)', () => {
  it('is written by a later flush: the close after it keeps every ack made, and the reopen skips nothing unacked', async () => {
    let points = 0;
    for (let atWrite = 1; await refuseAt(atWrite); atWrite += SOAK ? 1 : 3) points += 1;
    expect(points, 'the scenario writes group state').toBeGreaterThan(10);
  }, SOAK ? 900_000 : 60_000);
});
