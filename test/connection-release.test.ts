/**
 * A broker that serves many short connections must not keep what each one was: a closed
 * connection's server session, its socket, its group members and their deliveries. A group
 * outlives its members, so anything of the group that points at a member (a lease of a settled
 * delivery, whose turn it was) keeps a closed connection's whole session reachable.
 *
 * Counted in a heap snapshot of this process after a full collection, by constructor name.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString, writeHeapSnapshot } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { Broker } from '@brook/broker';
import { connect } from '@brook/client';
import { closeAfterEach } from './fixtures/close-after-each.js';

setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;
const opened = closeAfterEach();

interface HeapSnapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
  nodes: number[];
  strings: string[];
}

/** How many objects of each of `names` this process holds after a full collection. */
async function liveObjects(names: readonly string[]): Promise<Record<string, number>> {
  await new Promise((resolve) => setImmediate(resolve));
  collectGarbage();
  const dir = await mkdtemp(join(tmpdir(), 'brook-heap-'));
  try {
    const file = writeHeapSnapshot(join(dir, 'heap.heapsnapshot'));
    const heap = JSON.parse(await readFile(file, 'utf8')) as HeapSnapshot;
    const fields = heap.snapshot.meta.node_fields;
    const [typeAt, nameAt, objectType] = [fields.indexOf('type'), fields.indexOf('name'), heap.snapshot.meta.node_types[0].indexOf('object')];
    const counts = Object.fromEntries(names.map((name) => [name, 0]));
    for (let node = 0; node < heap.nodes.length; node += fields.length) {
      if (heap.nodes[node + typeAt] !== objectType) continue;
      const name = heap.strings[heap.nodes[node + nameAt]!]!;
      if (name in counts) counts[name]! += 1;
    }
    return counts;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const COUNTED = ['Session', 'WebSocket', 'Member', 'Flight'] as const;

describe('closed connections', () => {
  it('leave nothing of theirs reachable: no session, socket, member or delivery, in any ordering', async () => {
    // Counted against the process before the first connection: Node 22 and later have a
    // WebSocket of their own (undici's), one object named so once anything reads the global.
    const before = await liveObjects(COUNTED);
    const broker = opened(await Broker.open({ storage: 'memory' }));
    const { url } = await broker.listen({ port: 0, host: '127.0.0.1' });
    await broker.createTopic('release', { partitions: 2 });
    const orderings = ['none', 'key', 'partition'] as const;
    for (let i = 0; i < 6; i++) {
      const client = await connect(url);
      await client.producer().send('release', Array.from({ length: 30 }, (_, k) => ({ key: `k${k % 4}`, value: `v${k}` })));
      let handled = 0;
      let allHandled!: () => void;
      const done = new Promise<void>((resolve) => (allHandled = resolve));
      // Groups outlive the connections; long leases, so that no expiry lets go of anything.
      const subscription = await client.subscribe(
        { topic: 'release', group: `release-${orderings[i % 3]}`, ordering: orderings[i % 3], from: 'earliest', ackTimeoutMs: 3_600_000 },
        () => void (++handled === 30 && allHandled()),
      );
      await done;
      if (i === 0) {
        // The count sees them while they live (a renamed class would make the last check vacuous).
        const open = await liveObjects(COUNTED);
        for (const name of ['Session', 'WebSocket', 'Member'] as const) expect(open[name], name).toBeGreaterThan(before[name]!);
      }
      await subscription.close();
      await client.close();
    }
    expect(await liveObjects(COUNTED)).toEqual(before);
  });
});
