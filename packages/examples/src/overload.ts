/**
 * Demo 4: producers faster than consumers. A sensor sends a reading every 20ms; the dashboard
 * takes 100ms per reading. Three answers: drop (retention deletes the oldest segments, a slow
 * group loses records and is told), buffer (no limit: nothing lost, lag and latency grow), and
 * backpressure (`discard: 'new'`: the producer is refused with TOPIC_FULL and retries, so it
 * slows down to the consumer's pace; nothing lost, nothing piles up).
 */
import type { CreateTopicOptions } from '@brook/broker';
import type { SimulationResult } from '@brook/broker/testing';
import { eventsOf, lastAt, maxLag, type Demo, type DemoRun } from './harness.js';

const READINGS = 60;
const SEND_EVERY_MS = 20;
const WORK_MS = 100;
/** Each reading carries ~200 bytes, so a 4 KiB segment holds about 14. */
const PADDING = '.'.repeat(200);
const SEGMENT_BYTES = 4096;
const LIMIT_BYTES = 8192;

function overload(demo: DemoRun, label: string, intro: string, retention: CreateTopicOptions['retention']): Promise<SimulationResult> {
  return demo.variant(label, intro, {
    broker: { retentionCheckIntervalMs: 250 },
    topics: { readings: { partitions: 1, segmentBytesMax: SEGMENT_BYTES, ...(retention ? { retention } : {}) } },
    produce: Array.from({ length: READINGS }, (_, i) => ({
      topic: 'readings', records: [{ value: `reading-${i + 1} ${PADDING}` }], atMs: i * SEND_EVERY_MS, producer: 'sensor', retryAfterMs: 100,
    })),
    consumers: [{
      name: 'dashboard',
      subscribe: { topic: 'readings', group: 'dashboard', maxInFlight: 1 },
      handler: async (delivery, ctx) => {
        await ctx.sleep(WORK_MS);
        ctx.effect('plot', delivery.text()!.split(' ')[0]!);
      },
    }],
    lagSampleEveryMs: 500,
    lanes: { hide: new Set(['produce', 'acked', 'processed', 'effect', 'settle']) },
  });
}

/** What the learner compares: loss, the backlog, how late the last reading was plotted, when the producer got done. */
function measure(result: SimulationResult) {
  const producedAt = new Map(eventsOf(result, 'produced').flatMap((e) => e.records.map((r) => [r.id, e.t] as const)));
  const latencies = eventsOf(result, 'processed').map((e) => e.t - (producedAt.get(e.id) ?? e.t));
  return {
    lost: result.counters.total.lost,
    maxLag: maxLag(result, 'dashboard'),
    maxLatencyMs: Math.max(0, ...latencies),
    refused: eventsOf(result, 'produceFailed').length,
    producerDoneMs: lastAt(result, 'produced'),
  };
}

export const overloadDemo: Demo = {
  name: 'overload',
  title: 'Producers faster than consumers: drop, buffer or backpressure',
  section: 'Messaging systems',
  async run(demo) {
    const pace = `The sensor sends ${READINGS} readings, one every ${SEND_EVERY_MS}ms; the dashboard needs ${WORK_MS}ms for each.`;
    const drop = measure(await overload(demo, "drop: retention { maxBytes: 8 KiB, discard: 'old' }", [
      pace, 'The topic keeps at most 8 KiB: retention deletes the oldest 4 KiB segment, read or not.',
    ].join('\n'), { maxBytes: LIMIT_BYTES, discard: 'old' }));
    const buffer = measure(await overload(demo, 'buffer: no retention limit', [
      pace, 'The log keeps everything: the backlog (lag) grows, and so does the time a reading waits.',
    ].join('\n'), undefined));
    const backpressure = measure(await overload(demo, "backpressure: retention { maxBytes: 8 KiB, discard: 'new' }", [
      pace, 'A full topic refuses the producer (TOPIC_FULL); the sensor retries after 100ms, so it is slowed',
      'to the dashboard\'s pace. Space frees once the group has acked a whole segment.',
    ].join('\n'), { maxBytes: LIMIT_BYTES, discard: 'new' }));
    for (const [name, m] of Object.entries({ drop, buffer, backpressure })) {
      demo.write(`${name.padEnd(13)} lost=${m.lost} maxLag=${m.maxLag} slowest reading waited ${m.maxLatencyMs}ms  producer refused ${m.refused}x, done at ${m.producerDoneMs}ms`);
    }
    const shown = drop.lost > 0 && buffer.lost === 0 && buffer.maxLag > drop.maxLag && backpressure.lost === 0 && backpressure.refused > 0
      && backpressure.producerDoneMs > buffer.producerDoneMs && backpressure.maxLatencyMs < buffer.maxLatencyMs;
    return {
      shown, facts: { drop, buffer, backpressure },
      verdict: `drop lost ${drop.lost} readings; buffer lost none but the backlog reached ${buffer.maxLag} and a reading waited up to `
        + `${buffer.maxLatencyMs}ms; backpressure lost none, refused the producer ${backpressure.refused} times and stretched its `
        + `${buffer.producerDoneMs}ms of sending to ${backpressure.producerDoneMs}ms`,
    };
  },
};
