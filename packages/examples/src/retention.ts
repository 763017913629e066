/**
 * Demo 8: the log as a bounded buffer on disk. Readings arrive every 50ms into 4 KiB segments;
 * retention keeps 8 KiB, so every few hundred ms the oldest segment is deleted and the
 * partition's startOffset moves forward. The `live` group keeps up and loses nothing. The
 * `archive` group is slow: retention overtakes it, and the broker tells it how many records it
 * lost (the retentionDropped event, lostToRetention in describeGroup) before it continues at the
 * new startOffset.
 */
import type { ConsumerSpec } from '@brook/broker/testing';
import { eventsOf, type Demo } from './harness.js';

const READINGS = 60;
const PADDING = '.'.repeat(200);

function reader(name: string, workMs: number): ConsumerSpec {
  return {
    name,
    subscribe: { topic: 'readings', group: name, maxInFlight: 1 },
    handler: async (delivery, ctx) => {
      await ctx.sleep(workMs);
      ctx.effect(name, delivery.text()!.split(' ')[0]!);
    },
  };
}

export const retentionDemo: Demo = {
  name: 'retention',
  title: 'Retention: the log as a bounded buffer; a slow group loses records and is told',
  section: 'Disk space usage',
  async run(demo) {
    const result = await demo.variant("retention { maxBytes: 8 KiB }, segments of 4 KiB", [
      `${READINGS} readings of ~250 bytes, one every 50ms. Group live needs 10ms per reading, group archive 200ms.`,
      'Retention runs every 500ms and deletes whole old segments, read or not.',
    ].join('\n'), {
      broker: { retentionCheckIntervalMs: 500 },
      topics: { readings: { partitions: 1, segmentBytesMax: 4096, retention: { maxBytes: 8192 } } },
      produce: Array.from({ length: READINGS }, (_, i) => ({ topic: 'readings', records: [{ value: `reading-${i + 1} ${PADDING}` }], atMs: i * 50 })),
      consumers: [reader('live', 10), reader('archive', 200)],
      lagSampleEveryMs: 1000,
      lanes: { hide: new Set(['produce', 'acked', 'processed', 'effect', 'settle']) },
    });
    const drops = eventsOf(result, 'retentionDropped');
    const told = drops.filter((e) => e.group === 'archive').reduce((sum, e) => sum + e.lostRecords, 0);
    const { broker } = result.world;
    const partition = broker.describeTopic('readings').partitions[0]!;
    const archivePartition = broker.describeGroup('readings', 'archive').partitions[0]!;
    demo.write('');
    demo.write(`readings p0: startOffset ${partition.startOffset}, endOffset ${partition.endOffset}, ${partition.segments} segments, ${partition.sizeBytes} bytes`);
    demo.write(`describeGroup archive p0: ackFloor ${archivePartition.ackFloor}, lostToRetention ${archivePartition.lostToRetention}`);
    const { live, archive } = result.counters.groups as Record<'live' | 'archive', typeof result.counters.total>;
    const segmentDeletions = drops.filter((e) => e.group === undefined).length;
    const shown = segmentDeletions > 0 && Number(partition.startOffset) > 0 && live.lost === 0 && archive.lost > 0 && told > 0;
    return {
      shown,
      facts: { segmentDeletions, startOffset: Number(partition.startOffset), liveLost: live.lost, archiveLost: archive.lost, archiveTold: told },
      verdict: `retention deleted old segments ${segmentDeletions} times (startOffset moved to ${partition.startOffset}); live lost nothing; `
        + `archive was overtaken, lost ${archive.lost} readings it never processed and was told it lost ${told} `
        + '(the told count includes the reading in flight at each deletion, which its handler still finished)',
    };
  },
};
