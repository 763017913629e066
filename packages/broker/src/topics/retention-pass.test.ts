/**
 * A retention pass over every topic (the periodic one, enforceRetention()): a partition that
 * cannot be retained now (its log failed, a file that cannot be deleted) does not keep the pass
 * from the other topics.
 */
import { describe, expect, it } from 'vitest';
import { engineFixture } from '../groups/group-fixture.js';

const RECORD_BYTES = 200;

/** A topic that retention trims to two 4 KiB segments, holding well more than that. */
async function overfullTopic(broker: Awaited<ReturnType<typeof engineFixture>>['broker'], topic: string) {
  await broker.createTopic(topic, { segmentBytesMax: 4096, retention: { maxBytes: 8192 } });
  for (let i = 0; i < 100; i++) await broker.produce(topic, [{ value: `m${i}`.padEnd(RECORD_BYTES, '.') }]);
  return () => broker.describeTopic(topic).partitions[0]!;
}

describe('a retention pass', () => {
  it('goes on past a topic whose log failed: the other topics are retained, at every periodic pass', async () => {
    const { broker, fs, advance } = await engineFixture({ fsync: 'always', retentionCheckIntervalMs: 1000 });
    // Created first, so the pass meets it first; every record of it is past maxAgeMs.
    await broker.createTopic('pass-failed', { retention: { maxAgeMs: 60_000 } });
    await broker.produce('pass-failed', [{ value: 'a', timestamp: 0 }]);
    fs.failNext('sync', { errno: 'EIO', path: /\/topics\/pass-failed\// });
    await expect(broker.produce('pass-failed', [{ value: 'b', timestamp: 0 }])).rejects.toMatchObject({ code: 'IO_ERROR' });
    const healthy = await overfullTopic(broker, 'pass-healthy');
    await advance(120_000);
    expect(healthy().sizeBytes).toBeLessThanOrEqual(8192);
    // Nothing to report of the failed log (describeTopic's failure says it), so no rejection either.
    await expect(broker.enforceRetention()).resolves.toEqual([]);
    expect(broker.describeTopic('pass-failed').partitions[0]).toMatchObject({ startOffset: 0n, failure: { code: 'IO_ERROR' } });
  });

  it('a segment file it cannot delete: the other topics are retained all the same, then enforceRetention() rejects with the error', async () => {
    const { broker, fs } = await engineFixture();
    const first = await overfullTopic(broker, 'pass-unlink');
    const second = await overfullTopic(broker, 'pass-after');
    fs.failNext('unlink', { errno: 'EIO', path: /\/topics\/pass-unlink\// });
    await expect(broker.enforceRetention()).rejects.toMatchObject({ code: 'IO_ERROR' });
    expect(second().sizeBytes).toBeLessThanOrEqual(8192);
    expect(first().startOffset).toBeGreaterThan(0n);
  });
});

describe('a segment file retention fails to delete', () => {
  it('its records count as dropped all the same (event, startOffset), and the next pass deletes the file: a restart does not bring them back', async () => {
    const world = await engineFixture();
    const partition = await overfullTopic(world.broker, 'unlink-again');
    const dropped: bigint[] = [];
    world.broker.on('retentionDropped', (e) => void (e.group === undefined && e.reader === undefined && dropped.push(e.lostRecords)));
    world.fs.failNext('unlink', { errno: 'EIO', path: /\/topics\/unlink-again\/0\/0+\.log$/ });
    await expect(world.broker.enforceRetention()).rejects.toMatchObject({ code: 'IO_ERROR' });
    const { startOffset } = partition();
    expect(startOffset).toBeGreaterThan(0n);
    expect(dropped.reduce((a, b) => a + b, 0n)).toBe(startOffset);
    await world.broker.enforceRetention();
    expect(await world.fs.readdir('/brook/topics/unlink-again/0')).not.toContain('00000000000000000000.log');
    const reopened = await world.restart({ powerCut: false });
    expect(reopened.describeTopic('unlink-again').partitions[0]!.startOffset).toBe(startOffset);
  });
});
