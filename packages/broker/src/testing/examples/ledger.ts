/**
 * Planted bug: ack before processing. The consumer acks each payment as soon as it arrives, then
 * writes it to the ledger; a crash in between loses the payment: the group has acked it, so it
 * never comes back. The fix acks after the write (the handler's default: resolve = ack).
 */
import type { FaultPlan } from '../fault-plan.js';
import type { Scenario } from '../simulate.js';

export function ledgerScenario({ fixed }: { fixed: boolean }): Scenario {
  return {
    topics: { payments: { partitions: 2 } },
    produce: [{ topic: 'payments', records: ['p-1', 'p-2', 'p-3', 'p-4', 'p-5'].map((id) => ({ key: id, value: id })) }],
    consumers: [{
      name: 'ledger',
      subscribe: { topic: 'payments', group: 'ledger' },
      handler: async (delivery, ctx) => {
        if (!fixed) await delivery.ack();
        await ctx.sleep(15); // validate the payment
        ctx.effect('ledger-row', delivery.text()!);
      },
    }],
  };
}

/** The fault that exposes it: the consumer dies just before writing the second payment it gets. */
export const ledgerPlan: FaultPlan = [{ kind: 'crashConsumer', trigger: { delivery: 2 }, point: 'beforeEffect', restartAfterMs: 1_000 }];
