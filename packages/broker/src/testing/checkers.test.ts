/**
 * The checkers against histories where the obvious reading is wrong: correct consumers must never
 * be flagged (a false alarm sends the user hunting a bug that is not there).
 */
import { describe, expect, it } from 'vitest';
import { figure11_2Plan, figure11_2Scenario } from './examples/figure-11-2.js';
import { duplicateEffect, hotLoop, perKeyOrder, perPartitionOrder } from './checkers.js';
import { simulate } from './simulate.js';

describe('checkers', () => {
  it('perKeyOrder: a record produced after a power cut that reuses a lost offset is later, not earlier', async () => {
    // fsync 'never': the power cut loses r1..r3 (already processed), and r4 gets offset 0 again.
    const result = await simulate({
      seed: 1,
      broker: { fsync: 'never' },
      topics: { 'reused-offsets': { partitions: 1 } },
      produce: [
        { topic: 'reused-offsets', records: ['a', 'b', 'c'].map((value) => ({ key: 'k', value })) },
        { topic: 'reused-offsets', records: [{ key: 'k', value: 'd' }], atMs: 5_000 },
      ],
      consumers: [{ name: 'c', subscribe: { topic: 'reused-offsets', group: 'reused-offsets-g', ordering: 'key' }, handler: (_delivery, ctx) => ctx.sleep(10) }],
      faults: [{ kind: 'restartBroker', crash: 'powerCut', trigger: { atMs: 1_000 } }],
    });
    const produced = result.history.events.flatMap((e) => (e.type === 'produced' ? e.records.map((r) => `${r.id}@${r.offset}`) : []));
    expect(produced).toEqual(['r1@0', 'r2@1', 'r3@2', 'r4@0']);
    expect(result.report()).toContain('✓ simulation passed');
  });

  it('perKeyOrder, perPartitionOrder: a group name used on two topics is two groups, whose offsets are not compared', async () => {
    // The consumer of topic b is slower: its r3 (b p0@0) finishes after r2 (a p0@1) of the same key.
    const consumer = (name: string, topic: string, workMs: number) => ({
      name, subscribe: { topic, group: 'two-topics-g', ordering: 'partition' as const }, handler: (_delivery: unknown, ctx: { sleep(ms: number): Promise<void> }) => ctx.sleep(workMs),
    });
    const result = await simulate({
      seed: 1,
      topics: { 'two-topics-a': { partitions: 1 }, 'two-topics-b': { partitions: 1 } },
      produce: [
        { topic: 'two-topics-a', records: [{ key: 'k', value: 'a1' }, { key: 'k', value: 'a2' }] },
        { topic: 'two-topics-b', records: [{ key: 'k', value: 'b1' }] },
      ],
      consumers: [consumer('ca', 'two-topics-a', 1), consumer('cb', 'two-topics-b', 100)],
      checkers: [perKeyOrder(), perPartitionOrder()],
    });
    expect(result.history.format()).toMatch(/handler done r2[\s\S]*handler done r3/);
    expect(result.report()).toContain('✓ simulation passed');
  });

  it("stuck: records before a group's start ('latest') are not owed to it; one it was owed and never got is", async () => {
    const result = await simulate({
      seed: 1,
      topics: { 'from-latest': { partitions: 1 } },
      produce: [{ topic: 'from-latest', records: [{ value: 'before' }] }, { topic: 'from-latest', records: [{ value: 'after' }], atMs: 2_000 }],
      consumers: [
        { name: 'late', joinAtMs: 1_000, subscribe: { topic: 'from-latest', group: 'from-latest-g', from: 'latest' }, handler: (_delivery, ctx) => ctx.sleep(10) },
        { name: 'gone', subscribe: { topic: 'from-latest', group: 'from-latest-gone' }, handler: () => new Promise(() => undefined) },
      ],
      faults: [{ kind: 'crashConsumer', consumer: 'gone', trigger: { atMs: 1 }, restartAfterMs: null }],
      maxVirtualTimeMs: 5_000,
    });
    const stuck = result.results.find((r) => r.checker === 'stuck')!;
    expect(stuck.violations.map((v) => v.message)).toEqual([
      'from-latest-gone: r1 is neither acked nor dead-lettered at the end (1 deliveries)',
      'from-latest-gone: r2 is neither acked nor dead-lettered at the end (never delivered)',
    ]);
  });

  it('hotLoop: a group reset that replays a record, however often, is no hot loop; attempts that fail in a row are', async () => {
    // A correct consumer of a group an operator resets to earliest 12 times: each replay is a
    // first attempt again (deliveryCount 1), so the record is delivered 13 times without a loop.
    const resets = Array.from({ length: 12 }, (_, i) => ({
      atMs: 1_000 * (i + 1), what: 'reset group replayed to earliest',
      run: (broker: { resetGroup(topic: string, group: string, to: 'earliest'): Promise<unknown> }) => broker.resetGroup('replayed', 'replayed-g', 'earliest'),
    }));
    const replayed = await simulate({
      seed: 1,
      topics: { replayed: { partitions: 1 } },
      produce: [{ topic: 'replayed', records: [{ value: 'once' }] }],
      consumers: [{ name: 'c', subscribe: { topic: 'replayed', group: 'replayed-g' }, handler: (_delivery, ctx) => ctx.sleep(10) }],
      admin: resets,
      checkers: [hotLoop()],
    });
    expect(replayed.history.events.filter((e) => e.type === 'deliver').length).toBe(13);
    expect(replayed.report()).toContain('✓ simulation passed');
    // A handler that fails every attempt: flagged once the record reaches deliveryCount 10.
    const failing = await simulate({
      seed: 1,
      topics: { failing: { partitions: 1 } },
      produce: [{ topic: 'failing', records: [{ value: 'poison' }] }],
      consumers: [{ name: 'c', subscribe: { topic: 'failing', group: 'failing-g', backoff: { initialMs: 10, maxMs: 10 } }, handler: () => Promise.reject(new Error('poison')) }],
      checkers: [hotLoop()],
      maxVirtualTimeMs: 2_000,
    });
    expect(failing.results.find((r) => r.checker === 'hotLoop')!.violations.map((v) => v.message)[0]).toMatch(/^failing-g: r1 reached deliveryCount \d+/);
  });

  it("perKeyOrder, perPartitionOrder: an operator's group reset starts the order again; its replay in order is no inversion", async () => {
    // 'a' takes longer than 'b': under 'none' with two in flight, 'b' finishes first on each pass.
    const replayed = (ordering: 'none' | 'key') => simulate({
      seed: 1,
      topics: { [`replay-${ordering}`]: { partitions: 1 } },
      produce: [{ topic: `replay-${ordering}`, records: ['a', 'b'].map((value) => ({ key: 'k', value })) }],
      consumers: [{
        name: 'c', subscribe: { topic: `replay-${ordering}`, group: `replay-${ordering}-g`, ordering, maxInFlight: 2 },
        handler: (delivery, ctx) => ctx.sleep(delivery.text() === 'a' ? 20 : 5),
      }],
      admin: [{ atMs: 1_000, what: 'replay', run: (broker) => broker.resetGroup(`replay-${ordering}`, `replay-${ordering}-g`, 'earliest') }],
      checkers: [perKeyOrder(), perPartitionOrder()],
    });
    const inOrder = await replayed('key');
    expect(inOrder.history.events.filter((e) => e.type === 'processed').map((e) => 'id' in e && e.id)).toEqual(['r1', 'r2', 'r1', 'r2']);
    expect(inOrder.report()).toContain('✓ simulation passed');
    // An inversion is still one, on each pass: twice per checker, none of them the replay's.
    const inverted = await replayed('none');
    expect(inverted.violations.map((v) => v.message)).toEqual(Array.from({ length: 2 }, () => expect.stringContaining('r1 (offset 0) was processed after r2 (offset 1)')).flatMap((m) => [m, m]));
  });

  it('hotLoop names the cause: leases that run out are a handler slower than its lease, not a poison record', async () => {
    const result = await simulate({
      seed: 1,
      topics: { 'slow-lease': { partitions: 1 } },
      produce: [{ topic: 'slow-lease', records: [{ value: 'fine' }] }],
      // A correct handler, but every attempt outlives the 100 ms lease.
      consumers: [{ name: 'c', subscribe: { topic: 'slow-lease', group: 'slow-lease-g', ackTimeoutMs: 100, backoff: { initialMs: 10, maxMs: 10 } }, handler: (_delivery, ctx) => ctx.sleep(500) }],
      checkers: [hotLoop()],
      maxVirtualTimeMs: 10_000,
    });
    const [message] = result.violations.map((v) => v.message);
    expect(message).toMatch(/^slow-lease-g: r1 reached deliveryCount \d+/);
    expect(message).toContain('every attempt ended by its lease running out (leaseExpired)');
    expect(message).not.toContain('poison');
  });

  it('perKeyOrder names the cause: a redelivery (fig. 11-2), or only concurrent processing', async () => {
    // Seed 1 (the demo's): m2 finishes before m1 on the other consumer, and m3 comes back after m4.
    const result = await simulate({ ...figure11_2Scenario('none'), seed: 1, faults: figure11_2Plan });
    const messages = result.results.find((r) => r.checker === 'perKeyOrder')!.violations.map((v) => v.message);
    expect(messages).toHaveLength(2);
    expect(messages[0]).toMatch(/r1 \(offset 0\) was processed after r2 \(offset 1\): processed concurrently, .*\(no redelivery\)/);
    expect(messages[1]).toMatch(/r3 \(offset 2\) was processed after r4 \(offset 3\): load balancing plus redelivery reorders \(DDIA fig. 11-2\)/);
  });

  it('duplicateEffect names the delivery that did each effect: a slow first attempt outliving its lease was reported as the redelivery\'s (#2, #2)', async () => {
    const result = await simulate({
      seed: 1,
      topics: { 'effect-counts': { partitions: 1 } },
      produce: [{ topic: 'effect-counts', records: [{ value: 'order-1' }] }],
      consumers: [{
        name: 'mailer',
        subscribe: { topic: 'effect-counts', group: 'effect-counts-g', ackTimeoutMs: 100, backoff: { initialMs: 10, jitter: 0 } },
        // The first attempt outlives its lease: the redelivery runs, and mails, before it does.
        handler: async (delivery, ctx) => {
          await ctx.sleep(delivery.deliveryCount === 1 ? 1_000 : 10);
          ctx.effect('mail', delivery.text()!);
        },
      }],
      checkers: [duplicateEffect()],
    });
    expect(result.violations.map((v) => v.message)).toEqual([expect.stringContaining('happened 2 times (mailer on r1 #2, mailer on r1 #1)')]);
  });

  it("lost: records retention deleted before a group's start are not its loss, and no restart is blamed", async () => {
    const padded = (i: number) => ({ value: `v${i} ${'.'.repeat(200)}` });
    const result = await simulate({
      seed: 1,
      broker: { retentionCheckIntervalMs: 200 },
      topics: { 'deleted-early': { partitions: 1, segmentBytesMax: 4096, retention: { maxBytes: 8192 } } },
      produce: [
        { topic: 'deleted-early', records: Array.from({ length: 60 }, (_, i) => padded(i)) },
        { topic: 'deleted-early', records: [padded(60)], atMs: 3_000 },
      ],
      consumers: [{ name: 'late', joinAtMs: 1_000, subscribe: { topic: 'deleted-early', group: 'deleted-early-g', from: 'latest' }, handler: (_delivery, ctx) => ctx.sleep(5) }],
    });
    expect(result.history.events).toContainEqual(expect.objectContaining({ type: 'retentionDropped', topic: 'deleted-early' }));
    expect(result.report()).toContain('✓ simulation passed');
  });
});
