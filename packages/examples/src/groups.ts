/**
 * Demo 1: load balancing, fan-out, and both. Two groups read one topic: `email` with three
 * members and `analytics` with one. Each group gets every record (fan-out); inside `email` each
 * record goes to one member (load balancing). Halfway, email-3 leaves and its share moves to the
 * other two.
 */
import type { ConsumerSpec } from '@brook/broker/testing';
import { deliveriesByConsumer, processedValues, type Demo } from './harness.js';

const ORDERS = Array.from({ length: 12 }, (_, i) => `order-${i + 1}`);

function member(name: string, group: string, workMs: number): ConsumerSpec {
  return {
    name,
    subscribe: { topic: 'orders', group, maxInFlight: 1 },
    handler: async (delivery, ctx) => {
      await ctx.sleep(workMs);
      ctx.effect(group, delivery.text()!);
    },
  };
}

export const groupsDemo: Demo = {
  name: 'groups',
  title: 'Load balancing vs fan-out vs both',
  section: 'Multiple consumers',
  async run(demo) {
    const result = await demo.variant('two groups: email (3 members), analytics (1)', [
      'Twelve orders arrive 10ms apart. Each group gets every order (fan-out); inside email,',
      'each order goes to exactly one member (load balancing). email-3 leaves at 60ms.',
    ].join('\n'), {
      topics: { orders: { partitions: 1 } },
      produce: ORDERS.map((value, i) => ({ topic: 'orders', records: [{ value }], atMs: i * 10 })),
      consumers: [member('email-1', 'email', 25), member('email-2', 'email', 25), member('email-3', 'email', 25), member('analytics', 'analytics', 5)],
      faults: [{ kind: 'leaveConsumer', trigger: { atMs: 60 }, consumer: 'email-3', rejoinAfterMs: null }],
    });
    const byGroup = { email: processedValues(result, 'email'), analytics: processedValues(result, 'analytics') };
    const everyOnce = (values: string[]) => values.length === ORDERS.length && new Set(values).size === ORDERS.length;
    const shares = deliveriesByConsumer(result);
    const emailShares = ['email-1', 'email-2', 'email-3'].map((name) => shares[name] ?? 0);
    const shown = everyOnce(byGroup.email) && everyOnce(byGroup.analytics) && emailShares.filter((n) => n > 0).length >= 2;
    demo.write('');
    demo.write(`deliveries per member: ${Object.entries(shares).map(([name, n]) => `${name}=${n}`).join(' ')}`);
    return {
      shown,
      facts: { emailShares, analytics: shares['analytics'] ?? 0 },
      verdict: `fan-out: both groups processed all ${ORDERS.length} orders once each; load balancing: email's members `
        + `took ${emailShares.join('/')} of them (email-3 left after ${emailShares[2]}, the others took over its share)`,
    };
  },
};
