/**
 * The kit's tools for writing scenarios (the DDIA demos are built on them): admin steps, named
 * producers that retry, handlers that produce, process memory, retention and lag in the history,
 * counters and the swimlane trace.
 */
import { describe, expect, it } from 'vitest';
import { formatCounters } from './counters.js';
import type { ConsumerSpec } from './consumer.js';
import { formatLanes } from './lanes.js';
import { historySlice } from './checkers.js';
import { simulate } from './simulate.js';

const padded = (i: number) => ({ value: `v${i} ${'.'.repeat(200)}` });

function sink(name: string, topic: string, workMs = 10, group = name): ConsumerSpec {
  return {
    name,
    subscribe: { topic, group, maxInFlight: 1 },
    handler: async (delivery, ctx) => {
      await ctx.sleep(workMs);
      ctx.effect(group, delivery.text()!.split(' ')[0]!);
    },
  };
}

describe('scenario tools', () => {
  it('runs admin steps at their time and keeps what they return as notes', async () => {
    const result = await simulate({
      seed: 1,
      topics: { t: { partitions: 1 } },
      produce: [{ topic: 't', records: [{ value: 'a' }, { value: 'b' }] }],
      consumers: [sink('c', 't')],
      admin: [{ atMs: 1_000, what: 'replay', run: async (broker) => `at ${(await broker.resetGroup('t', 'c', 'earliest')).join()}` }],
    });
    expect(result.history.events).toContainEqual(expect.objectContaining({ type: 'admin', what: 'replay', notes: ['at 0'], t: 1_000 }));
    expect(result.counters.total).toMatchObject({ produced: 2, delivered: 4, acked: 4, lag: 0 });
  });

  it('an admin step that deletes a topic ends its group: the run goes on through restarts and rejoins, and ends quiescent', async () => {
    const result = await simulate({
      seed: 1,
      topics: { 'deleted-kept': { partitions: 1 }, 'deleted-gone': { partitions: 1 } },
      produce: [{ topic: 'deleted-kept', records: [{ value: 'k1' }] }, { topic: 'deleted-gone', records: [{ value: 'g1' }] }],
      consumers: [sink('ck', 'deleted-kept'), sink('cg', 'deleted-gone')],
      admin: [{ atMs: 1_000, what: 'delete topic deleted-gone', run: (broker) => broker.deleteTopic('deleted-gone') }],
      faults: [
        { kind: 'restartBroker', crash: 'kill', trigger: { atMs: 2_000 } },
        { kind: 'crashConsumer', consumer: 'cg', trigger: { atMs: 3_000 }, restartAfterMs: 100 },
      ],
    });
    expect(result.endedBy).toBe('quiescent');
    expect(result.history.format()).toContain('⚙ delete topic deleted-gone');
    expect(result.report()).toContain('✓ simulation passed');
  });

  it('lost names an admin step that deleted the topic as the cause, not a restart', async () => {
    const result = await simulate({
      seed: 1,
      topics: { 'deleted-unread': { partitions: 1 } },
      produce: [{ topic: 'deleted-unread', records: [{ value: 'u1' }] }],
      consumers: [{ name: 'cu', subscribe: { topic: 'deleted-unread', group: 'deleted-unread-g' }, handler: () => new Promise<void>(() => undefined) }],
      admin: [{ atMs: 1_000, what: 'delete topic deleted-unread', run: (broker) => broker.deleteTopic('deleted-unread') }],
      maxVirtualTimeMs: 5_000,
    });
    const lost = result.results.find((r) => r.checker === 'lost')!.violations.map((v) => v.message);
    expect(lost).toEqual(['deleted-unread-g: r1 was deleted with its topic before the group processed it (an admin step deleted the topic)']);
  });

  it("a group's reset and delete are in the history, its trace and lanes, and the slices of reports about its records", async () => {
    const result = await simulate({
      seed: 1,
      topics: { 'kit-admin': { partitions: 1 } },
      produce: [{ topic: 'kit-admin', records: [{ value: 'a' }, { value: 'b' }] }],
      consumers: [sink('kit-c', 'kit-admin')],
      faults: [{ kind: 'leaveConsumer', consumer: 'kit-c', trigger: { atMs: 2_000 }, rejoinAfterMs: null }],
      admin: [
        { atMs: 1_000, what: 'replay', run: (broker) => broker.resetGroup('kit-admin', 'kit-c', 'earliest') },
        { atMs: 3_000, what: 'forget', run: (broker) => broker.deleteGroup('kit-admin', 'kit-c') },
      ],
    });
    const events = result.history.events;
    expect(events).toContainEqual(expect.objectContaining({ type: 'groupReset', topic: 'kit-admin', group: 'kit-c', offsets: [0], t: 1_000 }));
    expect(events).toContainEqual(expect.objectContaining({ type: 'groupDeleted', topic: 'kit-admin', group: 'kit-c', t: 3_000 }));
    const trace = result.history.format();
    expect(trace).toContain('group kit-c reset: p0@0');
    expect(trace).toContain('group kit-c deleted');
    const lanes = formatLanes(events);
    expect(lanes).toContain('⟲ kit-c reset: p0@0');
    expect(lanes).toContain('✕ kit-c deleted');
    // r1 is delivered before and after the replay: a report about it shows why it came again.
    expect(historySlice(events, ['r1']).map((e) => e.type)).toContain('groupReset');
  });

  it("a named producer's steps run in order, and TOPIC_FULL is retried until there is room: backpressure, nothing lost", async () => {
    const result = await simulate({
      seed: 1,
      topics: { t: { partitions: 1, segmentBytesMax: 4096, retention: { maxBytes: 8192, discard: 'new' } } },
      produce: Array.from({ length: 40 }, (_, i) => ({ topic: 't', records: [padded(i)], atMs: i * 5, producer: 'p', retryAfterMs: 50 })),
      consumers: [sink('c', 't', 50)],
    });
    const failed = result.history.events.filter((e) => e.type === 'produceFailed');
    expect(failed.length).toBeGreaterThan(0);
    expect(failed[0]).toMatchObject({ code: 'TOPIC_FULL', retryAfterMs: 50, indeterminate: false, producer: 'p' });
    const offsets = result.history.events.flatMap((e) => (e.type === 'produced' ? e.records.map((r) => r.offset) : []));
    expect(offsets).toEqual(Array.from({ length: 40 }, (_, i) => i));
    expect(result.ok).toBe(true);
  });

  it('retention that overtakes a group is in the history, and lost says so; lag is sampled', async () => {
    const result = await simulate({
      seed: 1,
      broker: { retentionCheckIntervalMs: 200 },
      topics: { t: { partitions: 1, segmentBytesMax: 4096, retention: { maxBytes: 8192 } } },
      produce: Array.from({ length: 50 }, (_, i) => ({ topic: 't', records: [padded(i)], atMs: i * 20 })),
      consumers: [sink('slow', 't', 200), sink('fast', 't', 1)],
      lagSampleEveryMs: 500,
    });
    expect(result.history.events).toContainEqual(expect.objectContaining({ type: 'retentionDropped', group: 'slow' }));
    expect(result.history.events).toContainEqual(expect.objectContaining({ type: 'lag', group: 'slow' }));
    expect(result.violations.every((v) => v.checker === 'lost' && v.message.includes('deleted by retention'))).toBe(true);
    expect(result.counters.groups['slow']!.lost).toBe(result.violations.length);
    expect(result.counters.groups['fast']!.lost).toBe(0);
  });

  it('samples lag on its period through a stretch with no timer due (a 3s handler), not only when something next happens', async () => {
    const result = await simulate({
      seed: 1,
      topics: { t: { partitions: 1 } },
      produce: [{ topic: 't', records: [{ value: 'a' }, { value: 'b' }] }],
      consumers: [sink('stalled', 't', 3_000)],
      lagSampleEveryMs: 500,
    });
    const samples = result.history.events.filter((e) => e.type === 'lag').map((e) => [e.t, e.lag]);
    // Before the fix: [0, 2] then [3000+, ...]: the 3s stall showed no lag at all.
    expect(samples.slice(0, 6)).toEqual([[0, 2], [500, 2], [1000, 2], [1500, 2], [2000, 2], [2500, 2]]);
    expect(result.ok).toBe(true);
  });

  it('a handler produces to another topic (ids follow the steps\' records); its process memory dies with it', async () => {
    const memories: number[] = [];
    const result = await simulate({
      seed: 1,
      topics: { in: { partitions: 1 }, out: { partitions: 1 } },
      produce: [{ topic: 'in', records: [{ value: 'a' }, { value: 'b' }, { value: 'c' }] }],
      consumers: [{
        name: 'copier',
        subscribe: { topic: 'in', group: 'copier', maxInFlight: 1 },
        handler: async (delivery, ctx) => {
          const seen = ((ctx.memory.get('seen') as number | undefined) ?? 0) + 1;
          ctx.memory.set('seen', seen);
          memories.push(seen);
          await ctx.produce('out', [{ value: delivery.text() }]);
        },
      }, sink('reader', 'out')],
      faults: [{ kind: 'crashConsumer', trigger: { match: { value: 'b' } }, point: 'onDelivery', restartAfterMs: 100 }],
    });
    expect(memories).toEqual([1, 1, 2]);
    expect(result.history.events).toContainEqual(expect.objectContaining({ type: 'produced', topic: 'out', producer: 'copier', records: [expect.objectContaining({ id: 'r4' })] }));
    expect(result.counters.groups['reader']).toMatchObject({ produced: 3, acked: 3 });
  });

  it('draws one lane per process and a counters table', async () => {
    const result = await simulate({
      seed: 1,
      topics: { t: { partitions: 1 } },
      produce: [{ topic: 't', records: [{ value: 'a' }] }],
      consumers: [sink('c1', 't', 10, 'g'), sink('c2', 't', 10, 'g')],
      faults: [{ kind: 'loseAck', trigger: { delivery: 1 } }],
    });
    const lines = formatLanes(result.history.events, { lanes: ['producer', 'c1', 'c2', 'broker'] }).split('\n');
    expect(lines[0]).toMatch(/^time +producer +c1 +c2 +broker$/);
    const column = (text: string) => lines.find((line) => line.includes(text))!.indexOf(text);
    expect(column('◀ r1 a #1')).toBeLessThan(column('↻ r1 as #2'));
    expect(lines.some((line) => line.includes('✓ ack r1 (lost)'))).toBe(true);
    expect(formatCounters(result.counters).split('\n')[1]).toMatch(/^g +1 +2 +1 +1 +0 +1 +0 +0$/);
  });

  it('counts a group name used on two topics once in the total, with the records of both topics', async () => {
    const result = await simulate({
      seed: 1,
      topics: { 'same-name-a': { partitions: 1 }, 'same-name-b': { partitions: 1 } },
      produce: [{ topic: 'same-name-a', records: [{ value: 'a1' }, { value: 'a2' }] }, { topic: 'same-name-b', records: [{ value: 'b1' }] }],
      consumers: [sink('ca', 'same-name-a', 10, 'same-name-g'), sink('cb', 'same-name-b', 10, 'same-name-g')],
    });
    expect(result.counters.groups['same-name-g']).toMatchObject({ produced: 3, delivered: 3, acked: 3 });
    expect(result.counters.total).toMatchObject({ produced: 3, delivered: 3, acked: 3 });
  });
});
