/**
 * Demo 2: acknowledgments and redelivery. (a) A mailer crashes before acking: its record comes
 * back, to the other mailer, as delivery #2; nothing is lost. (b) The ack is lost after the email
 * went out: the lease runs out, the record is redelivered, and the customer gets two emails.
 * (c) The same lost ack with an idempotency key at the email provider: still redelivered, one email.
 */
import type { ConsumerSpec, FaultPlan } from '@brook/broker/testing';
import { eventsOf, type Demo, type DemoRun } from './harness.js';

const ORDERS = ['order-1', 'order-2', 'order-3', 'order-4', 'order-5'];

/** The email provider: outside the consumer processes, so what it remembers survives their crashes. */
class EmailProvider {
  private readonly keys = new Set<string>();

  constructor(private readonly honoursIdempotencyKeys: boolean) {}

  send(ctx: { effect(kind: string, id: string): void }, orderId: string): void {
    if (this.honoursIdempotencyKeys && this.keys.has(orderId)) return;
    ctx.effect('email', orderId);
    this.keys.add(orderId);
  }
}

function mailer(name: string, email: EmailProvider): ConsumerSpec {
  return {
    name,
    subscribe: { topic: 'orders', group: 'receipts', maxInFlight: 1, ackTimeoutMs: 5_000 },
    handler: async (delivery, ctx) => {
      await ctx.sleep(20); // render the receipt
      email.send(ctx, delivery.text()!);
    },
  };
}

function receipts(demo: DemoRun, label: string, intro: string, idempotent: boolean, faults: FaultPlan) {
  const email = new EmailProvider(idempotent);
  return demo.variant(label, intro, {
    topics: { orders: { partitions: 1 } },
    produce: [{ topic: 'orders', records: ORDERS.map((value) => ({ key: value, value })) }],
    consumers: [mailer('mailer-a', email), mailer('mailer-b', email)],
    faults,
  });
}

export const acksDemo: Demo = {
  name: 'acks',
  title: 'Acknowledgments and redelivery',
  section: 'Acknowledgments and redelivery',
  async run(demo) {
    const crash = await receipts(demo, '(a) crash before the ack', [
      'Two mailers share the orders, one at a time each. The one that gets order-3 crashes before',
      'sending its email. The broker sees the connection die and hands order-3 to the other mailer.',
    ].join('\n'), false, [{ kind: 'crashConsumer', trigger: { match: { value: 'order-3' } }, point: 'beforeEffect', restartAfterMs: null }]);
    const lostAck = [{ kind: 'loseAck', trigger: { match: { value: 'order-3' } } }] as const;
    const naive = await receipts(demo, '(b) the ack is lost: a duplicate side effect', [
      'order-3 is emailed and acked, but the ack never reaches the broker. After the 5s lease the',
      'broker cannot tell "crashed" from "ack lost", so it delivers order-3 again: a second email.',
    ].join('\n'), false, lostAck);
    const idempotent = await receipts(demo, '(c) the same lost ack, idempotent handler', [
      'The email provider now takes the order id as an idempotency key and drops a repeat.',
      'order-3 is still redelivered; the customer gets one email.',
    ].join('\n'), true, lostAck);
    const second = eventsOf(crash, 'deliver').find((e) => e.value === 'order-3' && e.deliveryCount === 2);
    const facts = {
      crashRedeliveredTo: second?.consumer ?? null,
      crashLost: crash.counters.total.lost,
      naiveDuplicated: naive.counters.total.duplicated,
      idempotentDuplicated: idempotent.counters.total.duplicated,
      idempotentRedelivered: idempotent.counters.total.redelivered,
    };
    const shown = second !== undefined && facts.crashLost === 0 && facts.naiveDuplicated === 1 && facts.idempotentDuplicated === 0 && facts.idempotentRedelivered > 0;
    return {
      shown, facts,
      verdict: `(a) order-3 came back to ${facts.crashRedeliveredTo} as delivery #2, nothing lost; (b) a lost ack sent order-3's email `
        + `${facts.naiveDuplicated + 1} times; (c) with an idempotency key it was redelivered but emailed once. Delivery is at-least-once: make effects idempotent`,
    };
  },
};
