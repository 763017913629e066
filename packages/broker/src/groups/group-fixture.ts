/**
 * Set-up for the delivery engine's tests: the testing kit's broker world (a memory broker on a
 * VirtualClock, `settle`, `advance`, `restart` with a power cut), under the name these tests use.
 * Test-only.
 */
import type { KeepPolicy } from '@brook/protocol';
import type { Delivery } from './delivery.js';
import type { World } from '../testing/world.js';

export { openWorld as engineFixture, type World as EngineFixture } from '../testing/world.js';

/** A handler that keeps every delivery unsettled until the test settles it (it never resolves). */
export function parking() {
  const held: Delivery[] = [];
  return {
    held,
    handler: (delivery: Delivery) => {
      held.push(delivery);
      return new Promise<void>(() => undefined);
    },
  };
}

/** A topic of `values` that group `group` has consumed and left: a group without members. */
export async function consumedAndLeft(world: World, topic: string, group: string, values: string[], options: { partitions?: number } = {}) {
  const { broker } = world;
  await broker.createTopic(topic, options);
  await broker.produce(topic, values.map((value) => ({ value })));
  const subscription = await broker.subscribe({ topic, group, from: 'earliest' }, () => undefined);
  await world.settle(() => broker.describeGroup(topic, group).lag === 0n);
  await subscription.close();
}

/**
 * Cuts the power at the world's `atOp`-th file operation from now, keeping what `keep` says of
 * the writes not yet fsynced (none: all lost); every later operation throws, as in a dead process.
 * Returns whether the cut has come; `onCut` is told when it does.
 */
export function cutPowerAtOperation(world: World, atOp: number, keep: KeepPolicy | undefined, onCut?: () => void): () => boolean {
  let seen = 0;
  let dead = false;
  world.fs.onOperation = () => {
    if (dead) throw new Error('the process is dead');
    if (++seen !== atOp) return;
    dead = true;
    world.fs.powerCut(keep ? { keep } : {});
    onCut?.();
  };
  return () => dead;
}

/**
 * Calls `act` once, in the middle of the world's next retention. At 'checkpoint', as its
 * log-start.json is renamed into place: the old startOffset is still in force, and moves once the
 * checkpoint is durable, a few turns later, while what `act` started runs on. At 'unlink', as the
 * first segment file goes: the segments are out of the log (startOffset moved), their files not
 * yet deleted, and no retentionDropped told yet.
 */
export function duringRetention(world: World, at: 'checkpoint' | 'unlink', act: () => void): void {
  world.fs.onOperation = (op) => {
    const reached = at === 'checkpoint'
      ? op.kind === 'rename' && op.path.endsWith('/log-start.json.tmp')
      : op.kind === 'unlink' && /\/\d{20}\.log$/.test(op.path);
    if (!reached) return;
    world.fs.onOperation = undefined;
    act();
  };
}
