/**
 * What a group keeps of a member that has left. A lease holds its delivery, and the delivery its
 * member: over the network, the member is the connection's session and its socket. Once the
 * member's deliveries are all settled, nothing of the group may keep it reachable.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { engineFixture } from './group-fixture.js';

setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

/** Whether the object `ref` points at survived a full collection (after this turn's own hold on it ends). */
async function survivesCollection(ref: WeakRef<object>): Promise<boolean> {
  await new Promise((resolve) => setImmediate(resolve));
  collectGarbage();
  return ref.deref() !== undefined;
}

describe('a member that left', () => {
  it.each(['none', 'key', 'partition'] as const)('ordering %s: is not kept reachable once its deliveries are settled, long before their leases would have expired', async (ordering) => {
    const { broker, settle } = await engineFixture();
    await broker.createTopic('released', { partitions: 2 });
    await broker.produce('released', Array.from({ length: 20 }, (_, i) => ({ key: `k${i % 3}`, value: `m${i}` })));
    let acked = 0;
    const refs = await (async () => {
      const handler = (): void => void (acked += 1);
      const subscription = await broker.subscribe({ topic: 'released', group: 'g', ordering, ackTimeoutMs: 3_600_000 }, handler);
      await settle(() => acked === 20 && broker.describeGroup('released', 'g').lag === 0n);
      await subscription.close();
      return { handler: new WeakRef(handler), subscription: new WeakRef(subscription) };
    })();
    expect(await survivesCollection(refs.handler)).toBe(false);
    expect(await survivesCollection(refs.subscription)).toBe(false);
  });
});
