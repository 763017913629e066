/**
 * Planted bug: a poison record without maxDeliveries. One record can never be parsed; the handler
 * throws, the record is nacked, and with the default maxDeliveries (effectively never) it comes
 * back forever: a hot loop that never dead-letters. The fix sets maxDeliveries, so after a few
 * attempts the record goes to the dead-letter topic and the group moves on.
 */
import type { Scenario } from '../simulate.js';

export function poisonScenario({ fixed }: { fixed: boolean }): Scenario {
  return {
    topics: { invoices: { partitions: 1 } },
    produce: [{ topic: 'invoices', records: ['{"total":12}', '{"total":', '{"total":30}'].map((value) => ({ value })) }],
    consumers: [{
      name: 'billing',
      subscribe: { topic: 'invoices', group: 'billing', ...(fixed ? { maxDeliveries: 5 } : {}) },
      handler: (delivery, ctx) => {
        const invoice = delivery.json<{ total: number }>();
        ctx.effect('invoice', `${delivery.offset}:${invoice.total}`);
      },
    }],
  };
}
