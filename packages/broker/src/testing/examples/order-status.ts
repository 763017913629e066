/**
 * Planted bug: an order-dependent state machine under ordering 'none'. The consumer sets an
 * order's status to whatever event arrives (created → paid → shipped). When the ack of 'paid' is
 * lost, its lease runs out and 'paid' comes back after 'shipped': the order ends up 'paid' again.
 * DDIA ch. 11: load balancing plus redelivery reorders. The fix is ordering 'key': a key's next
 * record waits until the previous one is acked, so 'shipped' cannot overtake 'paid'.
 */
import type { FaultPlan } from '../fault-plan.js';
import type { Scenario } from '../simulate.js';

export const ORDER_EVENTS = ['created', 'paid', 'shipped'];

export function orderStatusScenario({ fixed }: { fixed: boolean }): Scenario & { statuses: Map<string, string> } {
  const statuses = new Map<string, string>();
  return {
    statuses,
    topics: { 'order-events': { partitions: 1 } },
    produce: [{ topic: 'order-events', records: ORDER_EVENTS.map((status) => ({ key: 'order-7', value: status })) }],
    consumers: [{
      name: 'status',
      subscribe: { topic: 'order-events', group: 'order-status', ordering: fixed ? 'key' : 'none', ackTimeoutMs: 5_000, maxInFlight: 2 },
      handler: async (delivery, ctx) => {
        const order = new TextDecoder().decode(delivery.key!);
        const status = delivery.text()!;
        await ctx.sleep(20);
        // Idempotent for a repeat of the same event, but trusts arrival order.
        if (statuses.get(order) === status) return;
        statuses.set(order, status);
        ctx.effect('status', `${order}:${status}`);
      },
    }],
  };
}

/** The fault that exposes it: the ack of 'paid' is lost. */
export const orderStatusPlan: FaultPlan = [{ kind: 'loseAck', trigger: { match: { value: 'paid' } } }];
