/**
 * DDIA figure 11-2: two consumers share m1..m5 (one key, one partition), one record each at a
 * time. The consumer holding m3 crashes before processing it; meanwhile the other one has taken
 * m4, so m3 is processed after m4. With ordering 'key', m4 waits until m3 is acked.
 */
import type { FaultPlan } from '../fault-plan.js';
import type { Ordering } from '../../groups/subscribe-options.js';
import type { Scenario } from '../simulate.js';

export function figure11_2Scenario(ordering: Ordering): Scenario & { processed: string[] } {
  const processed: string[] = [];
  const consumer = (name: string) => ({
    name,
    subscribe: { topic: 'messages', group: 'g', ordering, maxInFlight: 1 },
    handler: async (delivery: { text(): string | null }, ctx: { sleep(ms: number): Promise<void>; effect(kind: string, id: string): void }) => {
      await ctx.sleep(100);
      ctx.effect('processed', delivery.text()!);
      processed.push(delivery.text()!);
    },
  });
  return {
    processed,
    topics: { messages: { partitions: 1 } },
    produce: [{ topic: 'messages', records: ['m1', 'm2', 'm3', 'm4', 'm5'].map((value) => ({ key: 'k', value })) }],
    consumers: [consumer('consumer-1'), consumer('consumer-2')],
  };
}

/** The consumer that gets m3 crashes before it has processed it, and stays down. */
export const figure11_2Plan: FaultPlan = [
  { kind: 'crashConsumer', trigger: { match: { value: 'm3' } }, point: 'beforeEffect', restartAfterMs: null },
];
