/**
 * A broker that runs close to its process's file-descriptor limit must still close cleanly:
 * closing a partition writes its active segment's index files (a file of its own, open
 * meanwhile), so closing every partition at once would need as many descriptors again as the
 * broker holds, and fail (EMFILE) exactly at shutdown, leaving the next open to scan every tail.
 */
import { describe, expect, it } from 'vitest';
import { MemoryFileSystem, VirtualClock } from '@brook/protocol';
import { Broker } from './broker.js';
import { trackOpenHandles } from './open-handles.test-support.js';
import { TEARDOWN_STEPS_MAX } from './steps.js';

describe('close near the file-descriptor limit', () => {
  it('closes a broker of many partitions and groups cleanly with a few descriptors to spare (TEARDOWN_STEPS_MAX at once)', async () => {
    const memory = new MemoryFileSystem();
    const clock = new VirtualClock();
    const limit: { openMax?: number } = {};
    const { fs, openCount } = trackOpenHandles(memory, limit);
    const open = () => Broker.open({ storage: 'memory', fs, clock, fsync: 'always' });
    const broker = await open();
    const partitions = TEARDOWN_STEPS_MAX * 4;
    await broker.createTopic('fd-many', { partitions });
    await broker.createTopic('fd-other', { partitions: 2 });
    await broker.produce('fd-many', Array.from({ length: partitions * 3 }, (_, i) => ({ key: `k${i}`, value: `v${i}` })));
    const groups = TEARDOWN_STEPS_MAX * 2;
    for (let g = 0; g < groups; g++) {
      const sub = await broker.subscribe({ topic: 'fd-other', group: `g${g}` }, () => undefined);
      await sub.close();
    }
    // Every file the broker keeps open is open; the limit leaves room for one file per closing step and a few more.
    limit.openMax = openCount() + TEARDOWN_STEPS_MAX + 4;
    await broker.close();
    expect(openCount()).toBe(0);

    delete limit.openMax;
    const reopened = await open();
    expect(reopened.openedClean).toBe(true);
    expect(reopened.describeTopic('fd-many').partitions.reduce((sum, p) => sum + p.endOffset, 0n)).toBe(BigInt(partitions * 3));
    expect(reopened.listGroups('fd-other')).toHaveLength(groups);
    await reopened.close();
  });
});
