/**
 * A sealed segment opens from the last entry of its `.timeindex`, which gives the segment's
 * largest timestamp, the one `maxAgeMs` retention compares with now. A damaged entry there must
 * not make retention delete records early (docs/storage.md, "Recovery").
 */
import { describe, expect, it } from 'vitest';
import { engineFixture } from '../groups/group-fixture.js';

const HOUR_MS = 3_600_000;

describe('a sealed segment whose time index is damaged', () => {
  it('a zeroed .timeindex is rebuilt at open: maxAgeMs retention keeps the young segment', async () => {
    const world = await engineFixture({ retentionCheckIntervalMs: 1000 });
    const topic = 'ti-zeroed';
    await world.broker.createTopic(topic, { segmentBytesMax: 4096, retention: { maxAgeMs: HOUR_MS } });
    for (let i = 0; i < 40; i++) await world.broker.produce(topic, [{ value: 'x'.repeat(200) }]);
    expect(world.broker.describeTopic(topic).partitions[0]!.segments).toBeGreaterThan(1);
    await world.broker.close();
    const timeIndex = `/brook/topics/${topic}/0/00000000000000000000.timeindex`;
    await world.fs.writeFile(timeIndex, new Uint8Array((await world.fs.readFile(timeIndex)).length));

    const broker = await world.restart({ powerCut: false });
    await world.advance(1000);

    expect(broker.describeTopic(topic).partitions[0]!.startOffset).toBe(0n);
    expect(await broker.fetch({ topic, partition: 0, offset: 0n, maxRecords: 1 })).toHaveLength(1);
    await broker.close();
  });
});
