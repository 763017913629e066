/**
 * Planted bug: a non-idempotent side effect. The consumer emails a receipt for each order through
 * an email service; if it crashes after the email went out but before its ack, the order is
 * redelivered and the customer gets a second receipt. The fix passes the order id as an
 * idempotency key, which the service remembers, so a redelivery sends nothing.
 */
import type { ConsumerContext } from '../consumer.js';
import type { FaultPlan } from '../fault-plan.js';
import type { Scenario } from '../simulate.js';

/** The email provider: outside the consumer process, so what it remembers survives a consumer crash. */
export class EmailService {
  private readonly sentKeys = new Set<string>();

  send(ctx: ConsumerContext, orderId: string, idempotencyKey?: string): void {
    if (idempotencyKey !== undefined && this.sentKeys.has(idempotencyKey)) return;
    ctx.effect('receipt-email', orderId);
    if (idempotencyKey !== undefined) this.sentKeys.add(idempotencyKey);
  }
}

export const ORDERS = ['order-1', 'order-2', 'order-3', 'order-4'];

export function receiptsScenario({ fixed }: { fixed: boolean }): Scenario {
  const email = new EmailService();
  return {
    topics: { orders: { partitions: 1 } },
    produce: [{ topic: 'orders', records: ORDERS.map((id) => ({ key: id, value: id })) }],
    consumers: [{
      name: 'mailer',
      subscribe: { topic: 'orders', group: 'receipts' },
      handler: async (delivery, ctx) => {
        const orderId = delivery.text()!;
        await ctx.sleep(10); // render the receipt
        email.send(ctx, orderId, fixed ? orderId : undefined);
      },
    }],
  };
}

/** The fault that exposes it: the mailer dies right after emailing order-3. */
export const receiptsPlan: FaultPlan = [
  { kind: 'crashConsumer', trigger: { match: { value: 'order-3' } }, point: 'afterEffect', restartAfterMs: 500 },
];
